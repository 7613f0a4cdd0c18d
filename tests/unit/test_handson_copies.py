"""The participants' training scripts. Each lab's ``handson/<lab>/`` is its own docker build context, so
the scripts are copies on purpose; the copies must not drift apart."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HANDSON = Path(__file__).resolve().parents[2] / "handson"

IDENTICAL = {
    "train.py": (
        "01-run-job",
        "03-exception",
        "04-hyperparams",
        "05-many-jobs",
        "05-autoscale-grid",
        "05-monitoring",
        "06-gpu",
        "more-1-deadline-retries",
        "more-2-requests-limits",
        "more-5-parallel-grid",
    ),
    "train_oom.py": ("03-exception", "05-many-jobs"),
    "say.py": ("07-hello-workflow", "08-dag"),
}
"""Byte for byte the same in every lab that has it."""

SAVING = ("02-save-model", "more-3-host-dir")
"""These train.py also save what they trained (joblib; the weights with np.savez) and take an option
for where: their ``parse_args`` and ``main`` differ on purpose, the training itself must not."""
REPORTING = ("TERMINATION_LOG", "REPORT_MAX_BYTES", "OUTPUT", "SAVED", "Kept", "keep_output", "report", "run")
"""How a run leaves its output and saved files in the termination message, where the grader reads
them: the same in every script that the lab image runs."""
SHARED = ("ACTIVATIONS", "stop_on_sigterm", "positive_int", "non_negative_float", "train", *REPORTING)

UNIQUE = (
    "04-hyperparams/train_hp.py",
    "05-monitoring/train_hold.py",
    "06-gpu/train_gpu.py",
    "09-ml-pipeline/train.py",
    "more-4-s3/train.py",
    "11-pytorchjob/train_ddp.py",
    "12-katib/train_trial.py",
)
"""Read their arguments from a mounted file (04), or report the GPUs the container was given (06),
then train with train.py's ``train``; or keep training for a while, holding a training set of a
chosen size (05-monitoring); or train on the data a pipeline fetched and name the model in output
parameters (09); or upload the weights to the object store and report the upload (more-4); or train
with PyTorch, one rank of a process group per pod (11); or cross-validate one Katib trial's values (12)."""
LIKE_TRAINING = {
    "11-pytorchjob/train_ddp.py": ("stop_on_sigterm", "positive_int", *REPORTING),
    "12-katib/train_trial.py": ("stop_on_sigterm", "positive_int", *REPORTING),
    "more-4-s3/train.py": (*SHARED[: -len(REPORTING)], "Kept", "keep_output", "run"),
    "09-ml-pipeline/train.py": (
        "ACTIVATIONS",
        "stop_on_sigterm",
        "positive_int",
        "non_negative_float",
        *REPORTING,
    ),
}
"""Of those, what must still be train.py's own (their training, or their reporting)."""


@pytest.mark.parametrize("name", sorted(IDENTICAL))
def test_copies_are_identical(name: str) -> None:
    first, *others = IDENTICAL[name]
    reference = (HANDSON / first / name).read_text()
    drifted = [lab for lab in others if (HANDSON / lab / name).read_text() != reference]
    assert not drifted, f"handson/*/{name} differs from handson/{first}/{name} in {drifted}"


@pytest.mark.parametrize("lab", SAVING)
def test_saving_variants_train_the_same_way(lab: str) -> None:
    reference = _definitions(HANDSON / IDENTICAL["train.py"][0] / "train.py")
    variant = _definitions(HANDSON / lab / "train.py")
    assert {name: variant.get(name) for name in SHARED} == {name: reference[name] for name in SHARED}


@pytest.mark.parametrize("script", sorted(LIKE_TRAINING))
def test_unique_scripts_share_what_they_should(script: str) -> None:
    reference = _definitions(HANDSON / IDENTICAL["train.py"][0] / "train.py")
    variant = _definitions(HANDSON / script)
    names = LIKE_TRAINING[script]
    assert {n: variant.get(n) for n in names} == {n: reference[n] for n in names}


def test_ds_job_reports_like_the_training_scripts() -> None:
    reference = _definitions(HANDSON / IDENTICAL["train.py"][0] / "train.py")
    ds_job = _definitions(HANDSON / "ds-job" / "main.py")
    assert {name: ds_job.get(name) for name in REPORTING} == {name: reference[name] for name in REPORTING}


def test_every_training_script_is_accounted_for() -> None:
    found = {p.relative_to(HANDSON).as_posix() for p in HANDSON.glob("*/train*.py")}
    known = {f"{lab}/{name}" for name, labs in IDENTICAL.items() if name.startswith("train") for lab in labs}
    assert found == known | {f"{lab}/train.py" for lab in SAVING} | set(UNIQUE)


def _definitions(path: Path) -> dict[str, str]:
    """Top-level functions and assignments by name, as normalised source (comments and layout aside)."""
    found: dict[str, str] = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            found[node.name] = ast.unparse(node)
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = ast.unparse(node)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            found[node.target.id] = ast.unparse(node)
    return found
