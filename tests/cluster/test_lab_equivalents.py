"""Every correct answer gets full marks, on the real cluster: for each Job lab, variants of the reference
solution that run the same thing (the container named ``ml`` with a helper container listed first,
``python -u`` with the command split between command and args, a ``subPath`` mount, the script's own
``--model-dir``, a projected ConfigMap, other quantities within "at least / at most", other names and
order, ``restartPolicy: OnFailure`` where the lab accepts it) score full marks, alike by ``lab.run``,
``lab.check`` and the class grading.

Each variant is a small transformation of the solution (``labs/<id>/solution*.yaml``)."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kubedojo.client.kube import KubeClient
from kubedojo.labs import LabRunner

from .labtools import CATALOG, assert_full_marks, container, every_route, named, variant, write
from .test_labs import experiments

pytestmark = pytest.mark.cluster

Docs = list[dict[str, Any]]
Edit = Callable[[Docs], Any]


def _jobs(docs: Docs) -> Docs:
    return [d for d in docs if d["kind"] == "Job"]


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


def ml_with_helper(docs: Docs) -> None:
    """The training container named ``ml`` (as the seeds name it), a helper listed before it."""
    for doc in _jobs(docs):
        main = _pod_spec(doc)["containers"][0]
        main["name"] = "ml"
        helper = {
            "name": "helper",
            "image": main["image"],
            "command": ["python", "-c", "print('helper')"],
            "resources": {
                "requests": {"cpu": "10m", "memory": "16Mi"},
                "limits": {"cpu": "100m", "memory": "64Mi"},
            },
        }
        _pod_spec(doc)["containers"].insert(0, helper)


def python_u_split(docs: Docs) -> None:
    """``command: [python3]``, ``args: [-u, script, ...]``: the same program, split differently."""
    for doc in _jobs(docs):
        main = _pod_spec(doc)["containers"][-1]
        script = [w for w in main.get("command") or [] if str(w).endswith(".py")]
        main["args"] = ["-u", *script, *main.get("args", [])]
        main["command"] = ["python3"]


def on_failure(docs: Docs) -> None:
    for doc in _jobs(docs):
        _pod_spec(doc)["restartPolicy"] = "OnFailure"


def with_helper(docs: Docs) -> Docs:
    ml_with_helper(docs)
    return docs


def both(*edits: Edit) -> Edit:
    """The edits one after the other (those that find the container by its name ``train`` first)."""

    def edit(docs: Docs) -> None:
        for one in edits:
            one(docs)

    return edit


# -- the Job labs whose variants are edits of solution.yaml -------------------------------------------


def sub_path(docs: Docs) -> None:
    container(named(docs, "Job", "handson-02"))["volumeMounts"][0]["subPath"] = "run-1"


def model_dir_option(docs: Docs) -> None:
    main = container(named(docs, "Job", "handson-02"))
    main["volumeMounts"][0]["mountPath"] = "/models"
    main["args"] += ["--model-dir", "/models"]


def projected_key(docs: Docs) -> None:
    job = named(docs, "Job", "handson-04")
    _pod_spec(job)["volumes"][0] = {
        "name": "model-hp",
        "projected": {"sources": [{"configMap": {"name": "model-hp"}}]},
    }
    container(job)["volumeMounts"][0].update(mountPath="/model_hp/exp.yaml", subPath="exp.yaml")


def other_quantities(docs: Docs) -> None:
    """At least 100m / 500Mi, at most 1000m / 1Gi, in other amounts."""
    container(docs[0])["resources"] = {
        "requests": {"cpu": "200m", "memory": "600Mi"},
        "limits": {"cpu": "800m", "memory": "1000Mi"},
    }


def weights_option(docs: Docs) -> None:
    """The script's own option naming the file it writes, the same file."""
    container(docs[0])["args"] = [*container(docs[0])["args"], "--weights", "/model_storage/mymodel.npz"]


def ttl_longer(docs: Docs) -> None:
    docs[0]["spec"]["ttlSecondsAfterFinished"] = 900


def named_not_generated(docs: Docs) -> Docs:
    """Distinct names instead of generateName, no label, the other order."""
    for i, doc in enumerate(docs):
        doc["metadata"] = {"name": f"sweep-{i}"}
    return list(reversed(docs))


VARIANTS: list[tuple[str, str, Edit]] = [
    ("01-run-job", "ml-with-helper", ml_with_helper),
    ("01-run-job", "python-u-split", python_u_split),
    ("02-save-model", "ml-with-helper-sub-path", both(sub_path, ml_with_helper)),
    ("02-save-model", "model-dir-option-on-failure", both(model_dir_option, python_u_split, on_failure)),
    ("03-exception", "ml-with-helper", ml_with_helper),
    ("03-exception", "python-u-split", python_u_split),
    ("04-hyperparams", "projected-key-ml-with-helper", both(projected_key, ml_with_helper)),
    ("04-hyperparams", "python-u-split-on-failure", both(python_u_split, on_failure)),
    ("more-1-deadline-retries", "ml-with-helper", ml_with_helper),
    ("more-1-deadline-retries", "python-u-split-on-failure", both(python_u_split, on_failure)),
    ("more-2-requests-limits", "other-quantities-ml-with-helper", both(other_quantities, ml_with_helper)),
    ("more-2-requests-limits", "python-u-split-on-failure", both(python_u_split, on_failure)),
    ("more-3-host-dir", "weights-option-ml-with-helper", both(weights_option, ml_with_helper)),
    ("more-3-host-dir", "python-u-split-on-failure", both(python_u_split, on_failure)),
    (
        "more-5-parallel-grid",
        "named-ml-with-helper",
        lambda d: named_not_generated(with_helper(d)),
    ),
    ("more-5-parallel-grid", "python-u-split-on-failure", both(python_u_split, on_failure)),
    ("ds-job", "ml-with-helper", ml_with_helper),
    ("ds-job", "on-failure-longer-ttl", both(on_failure, ttl_longer)),
]


@pytest.fixture
def host_results() -> Iterator[Path]:
    """more-3 writes into the node's /var/tmp/kubedojo-results; leave the machine as it was."""
    target = Path("/var/tmp/kubedojo-results")
    existed = target.exists()
    yield target
    if not existed:
        shutil.rmtree(target, ignore_errors=True)


@pytest.mark.parametrize(("lab_id", "name", "edit"), VARIANTS, ids=[f"{v[0]}:{v[1]}" for v in VARIANTS])
def test_equivalent_variant_gets_full_marks(
    lab_runner: LabRunner,
    namespace: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    lab_id: str,
    name: str,
    edit: Edit,
) -> None:
    if lab_id == "more-3-host-dir":
        request.getfixturevalue("host_results")
    lab = CATALOG.get(lab_id)
    manifest = variant(lab, tmp_path, edit)
    assert_full_marks(every_route(lab_runner, lab.id, manifest, namespace, tmp_path / "class"))


# -- 05: experiments rendered by make_jobs.py, then varied -----------------------------------------------


def renamed_and_shuffled(docs: Docs) -> Docs:
    """Other unique names than exp-NN, in another order (the OOM experiments first)."""
    for i, doc in enumerate(docs):
        doc["metadata"]["name"] = f"trial-{chr(ord('a') + i)}"
    return docs[::-1]


@pytest.mark.parametrize(
    "edit",
    [ml_with_helper, python_u_split],
    ids=["ml-with-helper-renamed-shuffled", "python-u-split-renamed-shuffled"],
)
def test_05_equivalent_experiments_get_full_marks(
    lab_runner: LabRunner, admin: KubeClient, namespace: str, tmp_path: Path, edit: Edit
) -> None:
    import yaml

    jobs_file = experiments(admin, tmp_path)
    docs = [d for d in yaml.safe_load_all(jobs_file.read_text()) if d]
    edit(docs)
    manifest = write(renamed_and_shuffled(docs), tmp_path / "jobs.yaml")
    assert_full_marks(every_route(lab_runner, "05-many-jobs", manifest, namespace, tmp_path / "class", 600))
