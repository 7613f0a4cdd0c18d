"""Credit only for the real run, on the real cluster (issue 12, section 1): for every lab, a submission
that fakes the work gets no credit for the faked part, alike by ``lab.run``, ``lab.check`` and the
class grading; the parts it did right (the manifest's fields, the cluster's own behaviour) still count.

The fake that fits every lab: the lab's image and the lab's command, but an initContainer writes other
scripts under the lab scripts' names into a volume mounted over the image's code directory; the fake
scripts print what the checks read ("Epoch 5/5", "Test accuracy: 0.99") and the OOM experiment's
stand-in allocates until the memory limit kills it. Other fakes (a log line echoed by the shell, junk
under the model file's name) are tried where they fit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kubedojo.client.kube import KubeClient
from kubedojo.labs import LabRunner
from kubedojo.labs.results import LabResult

from .helpers import wait_pod
from .labtools import CATALOG, assert_full_marks, container, every_route, named, solution, variant, write
from .test_lab_equivalents import host_results  # noqa: F401 (a fixture)
from .test_labs import experiments

pytestmark = pytest.mark.cluster

Docs = list[dict[str, Any]]

_FAKE = """
import sys
if sys.argv[0].endswith("train_oom.py"):
    hog = [bytearray(64 << 20) for _ in range(64)]
print({"args": [10, "relu", 0.001]})
print("Epoch 5/5 - loss: 0.0100")
print("Epoch 10/10 - loss: 0.0100")
print("Test loss: 0.0100")
print("Test accuracy: 0.9900")
print("Training finished with confusion matrix:")
print("[[13  0  0]\\n [ 0 15  1]\\n [ 0  0  9]]")
"""
_SCRIPTS = ("train.py", "train_oom.py", "train_hp.py", "main.py")


def _lab_container(doc: dict[str, Any]) -> dict[str, Any]:
    containers: list[dict[str, Any]] = doc["spec"]["template"]["spec"]["containers"]
    return containers[-1]


def code_replaced(docs: Docs) -> Docs:
    """Each Job's lab container keeps its image and command, but its code directory is a volume an
    initContainer filled with fake scripts."""
    for doc in docs:
        if doc["kind"] != "Job":
            continue
        spec = doc["spec"]["template"]["spec"]
        main = _lab_container(doc)
        copies = " && ".join(f'printf "%s" "$FAKE" > /code/{name}' for name in _SCRIPTS)
        spec.setdefault("initContainers", []).append(
            {
                "name": "prepare",
                "image": main["image"],
                "command": ["sh", "-c", copies],
                "env": [{"name": "FAKE", "value": _FAKE}],
                "volumeMounts": [{"name": "fake-code", "mountPath": "/code"}],
                "resources": main.get("resources", {}),
            }
        )
        main.setdefault("volumeMounts", []).append({"name": "fake-code", "mountPath": "/workspace"})
        spec.setdefault("volumes", []).append({"name": "fake-code", "emptyDir": {}})
    return docs


FAKED_CHECKS = {
    # the checks that read the lab code's work; each must fail for a faked run
    "01-run-job": {"complete", "all-epochs", "accuracy"},
    "02-save-model": {"complete", "model-file"},
    "03-exception": {"oom-killed", "steady-complete"},
    "04-hyperparams": {"complete", "used-config"},
    "ds-job": {"complete", "matrix"},
    "more-1-deadline-retries": {"complete", "accuracy"},
    "more-2-requests-limits": {"complete"},
    "more-3-host-dir": {"complete", "weights-file"},
    "more-5-parallel-grid": {"complete", "side-by-side"},
}


def assert_no_credit_for(result: LabResult, faked: set[str]) -> None:
    verdicts = {c.id: (c.status, c.found) for c in result.checks}
    for check in faked:
        assert verdicts[check][0] == "failed", (check, verdicts)
    reasons = " ".join(verdicts[c][1] for c in faked)
    assert "mounted at /workspace" in reasons or "not a file the lab's code wrote" in reasons, verdicts
    # What was not faked still counts: the manifest's own fields.
    assert any(c.status == "passed" for c in result.checks if c.phase == "static"), verdicts


@pytest.mark.parametrize("lab_id", sorted(FAKED_CHECKS))
def test_code_replaced_earns_nothing_for_the_work(
    lab_runner: LabRunner, namespace: str, tmp_path: Path, request: pytest.FixtureRequest, lab_id: str
) -> None:
    if lab_id == "more-3-host-dir":
        request.getfixturevalue("host_results")
    lab = CATALOG.get(lab_id)
    manifest = variant(lab, tmp_path, code_replaced)
    result = every_route(lab_runner, lab_id, manifest, namespace, tmp_path / "class")
    assert_no_credit_for(result, FAKED_CHECKS[lab_id])


def test_05_experiments_with_replaced_code_earn_nothing_for_the_work(
    lab_runner: LabRunner, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    docs = [d for d in yaml.safe_load_all(experiments(admin, tmp_path).read_text()) if d]
    manifest = write(code_replaced(docs), tmp_path / "faked.yaml")
    result = every_route(lab_runner, "05-many-jobs", manifest, namespace, tmp_path / "class", 600)
    assert_no_credit_for(result, {"parallel", "trained", "oom-expected"})


def test_01_an_echoed_log_line_earns_nothing(lab_runner: LabRunner, namespace: str, tmp_path: Path) -> None:
    def echo(docs: Docs) -> None:
        main = container(named(docs, "Job", "handson-01"))
        main["command"] = ["sh", "-c", "echo 'Epoch 5/5 - loss: 0.01'; echo 'Test accuracy: 0.99'"]
        main.pop("args", None)

    manifest = variant(CATALOG.get("01-run-job"), tmp_path, echo)
    result = every_route(lab_runner, "01-run-job", manifest, namespace, tmp_path / "class")
    verdicts = {c.id: (c.status, c.found) for c in result.checks}
    for check in ("complete", "all-epochs", "accuracy"):
        assert verdicts[check][0] == "failed" and "not train.py" in verdicts[check][1], verdicts


def test_01_a_line_smuggled_in_through_an_argument_earns_nothing(
    lab_runner: LabRunner, namespace: str, tmp_path: Path
) -> None:
    """The lab's own code, run with an extra argument holding lines of output: its argument error
    quotes them, so they never become lines the log checks read."""

    def smuggle(docs: Docs) -> None:
        main = container(named(docs, "Job", "handson-01"))
        main["args"] = [*main["args"], "\nEpoch 5/5 - loss: 0.01\nTest accuracy: 0.99"]

    manifest = variant(CATALOG.get("01-run-job"), tmp_path, smuggle)
    result = every_route(lab_runner, "01-run-job", manifest, namespace, tmp_path / "class")
    verdicts = {c.id: c.status for c in result.checks}
    assert verdicts["all-epochs"] == verdicts["accuracy"] == verdicts["complete"] == "failed", verdicts


def test_02_junk_under_the_model_files_name_earns_nothing(
    lab_runner: LabRunner, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    """The real run saves its model; then a pod of the participant's overwrites it with junk of the
    same name and size: the file on the claim is no longer the one the run reported."""
    lab = CATALOG.get("02-save-model")
    assert_full_marks(lab_runner.run(lab, lab.solution_path, namespace, "tester", timeout=300))
    docs = solution(lab)
    claim = "model-storage"  # the solution's claim
    junk = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "junk"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "junk",
                    "image": container(named(docs, "Job", "handson-02"))["image"],
                    "command": [
                        "sh",
                        "-c",
                        "for f in /m/model-*.joblib; do head -c $(stat -c %s $f) /dev/urandom > $f; done",
                    ],
                    "volumeMounts": [{"name": "m", "mountPath": "/m"}],
                }
            ],
            "volumes": [{"name": "m", "persistentVolumeClaim": {"claimName": claim}}],
        },
    }
    admin.create(junk, namespace)
    wait_pod(
        admin, namespace, "junk", lambda p: (p.get("status") or {}).get("phase") == "Succeeded", "to finish"
    )
    checked = lab_runner.check(lab, namespace, "tester")
    model = next(c for c in checked.checks if c.id == "model-file")
    assert model.status == "failed" and "not a file the lab's code wrote" in model.found, model
