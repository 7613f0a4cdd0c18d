"""Lab 11 graded on hand-written PyTorchJob states, as the training operator and the kubelet leave
them: the reference solution to full marks; a master alone, ranks that trained apart (different
weights), a low accuracy and a worker still running each to the verdict they deserve. And when a
PyTorchJob is done: it succeeds with its master, its worker ends a moment later."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubedojo.labs.catalog import Catalog
from kubedojo.labs.grading import GradingContext, grade
from kubedojo.labs.snapshot import ClusterSnapshot
from kubedojo.labs.workloads import done, final_state, training_job_finished, workload_of_pod

PROJECT = Path(__file__).resolve().parents[2]
CATALOG = Catalog(PROJECT)
START = datetime(2026, 12, 5, 10, 0, 0, tzinfo=UTC)
WEIGHTS = "a" * 64
REQUIREMENTS = PROJECT / "kubedojo" / "local" / "assets" / "torch-requirements.txt"


def ts(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def solution() -> dict[str, Any]:
    (job,) = [d for d in yaml.safe_load_all((PROJECT / "labs/11-pytorchjob/solution.yaml").read_text()) if d]
    return job  # type: ignore[no-any-return]


def output(
    rank: int, world: int, group: int | None = None, weights: str = WEIGHTS, accuracy: float = 0.97
) -> str:
    lines = [
        "['train_ddp.py', '--epochs', '20']",
        f"Rank {rank} of world size {world}, master digits-11-master-0:23456",
        f"Process group: {group if group is not None else world} ranks",
        *(f"Epoch {e}/20 - loss: 0.1" for e in range(1, 21)),
        f"Weights SHA-256: {weights}",
        f"Test accuracy: {accuracy:.4f}",
    ]
    return "\n".join(lines) + "\n"


class Run:
    """A PyTorchJob as the operator leaves it, with its pods."""

    def __init__(self, manifest: dict[str, Any], condition: str = "Succeeded") -> None:
        self.job = copy.deepcopy(manifest)
        self.job["metadata"].update(uid="uid-job", creationTimestamp=ts(1), namespace="ns")
        self.job["status"] = {
            "conditions": [
                {"type": "Created", "status": "True", "reason": "PyTorchJobCreated"},
                {"type": condition, "status": "True", "reason": f"PyTorchJob{condition}"},
            ]
        }
        self.pods: list[dict[str, Any]] = []

    def pod(self, role: str, text: str | None, exit_code: int | None = 0) -> Run:
        name = f"{self.job['metadata']['name']}-{role}-0"
        spec = self.job["spec"]["pytorchReplicaSpecs"][role.capitalize()]["template"]["spec"]
        if exit_code is None:
            state: dict[str, Any] = {"running": {"startedAt": ts(5)}}
        else:
            message = json.dumps({"log": text or "", "files": []})
            state = {"terminated": {"exitCode": exit_code, "reason": "Completed", "message": message}}
        self.pods.append(
            {
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "uid": f"pod-{role}",
                    "namespace": "ns",
                    "creationTimestamp": ts(2),
                    "labels": {
                        "training.kubeflow.org/job-name": self.job["metadata"]["name"],
                        "training.kubeflow.org/replica-type": role,
                    },
                    "ownerReferences": [{"uid": "uid-job", "controller": True, "kind": "PyTorchJob"}],
                },
                "spec": {"nodeName": "node1", **copy.deepcopy(spec)},
                "status": {
                    "phase": "Running"
                    if exit_code is None
                    else ("Succeeded" if exit_code == 0 else "Failed"),
                    "containerStatuses": [{"name": "pytorch", "state": state}],
                },
            }
        )
        return self


class Client:
    requests = 0

    def pod_log(self, namespace: str, pod: str, container: str | None = None, previous: bool = False) -> str:
        raise AssertionError("the output is read from the termination message")


def results(run: Run, submission: list[dict[str, Any]] | None = None) -> dict[str, tuple[str, str]]:
    lab = CATALOG.get("11-pytorchjob")
    objects = {
        "PyTorchJob": [run.job],
        "Pod": run.pods,
        "Node": [{"metadata": {"name": "node1", "labels": {}}}],
        "Job": [],
    }
    snapshot = ClusterSnapshot("ns", START + timedelta(minutes=2), objects, Client())  # type: ignore[arg-type]
    ctx = GradingContext(lab, snapshot, START, submission=submission)
    return {c.id: (c.status, c.found) for c in grade(ctx, "p").checks}


def test_the_solution_as_the_operator_leaves_it_gets_full_marks() -> None:
    run = Run(solution()).pod("master", output(0, 2)).pod("worker", output(1, 2))
    found = results(run, [solution()])
    assert {k: v[0] for k, v in found.items()} == dict.fromkeys(
        ("replicas", "succeeded", "both-ran", "one-group", "accuracy"), "passed"
    ), found


def test_a_master_alone_is_no_process_group_of_two() -> None:
    alone = solution()
    del alone["spec"]["pytorchReplicaSpecs"]["Worker"]
    found = results(Run(alone).pod("master", output(0, 1)), [alone])
    assert found["replicas"] == ("failed", "Master 1")
    assert found["both-ran"][0] == found["one-group"][0] == "failed"
    assert "no worker pod" in found["one-group"][1]
    assert found["accuracy"][0] == "passed"


def test_ranks_that_did_not_train_together_fail_the_group() -> None:
    run = Run(solution()).pod("master", output(0, 2)).pod("worker", output(1, 2, weights="b" * 64))
    status, found = results(run)["one-group"]
    assert status == "failed" and "not averaged" in found


def test_a_worker_that_saw_world_size_2_but_a_group_of_1_fails() -> None:
    """The environment says 2; only the all_reduce shows who really joined."""
    run = Run(solution()).pod("master", output(0, 2)).pod("worker", output(1, 2, group=1))
    status, found = results(run)["one-group"]
    assert status == "failed" and "in a group of 1" in found


def test_a_low_accuracy_fails_with_its_value() -> None:
    run = (
        Run(solution()).pod("master", output(0, 2, accuracy=0.85)).pod("worker", output(1, 2, accuracy=0.85))
    )
    assert results(run)["accuracy"] == ("failed", "Test accuracy: 0.8500")


def test_a_worker_still_running_leaves_its_checks_pending() -> None:
    run = Run(solution()).pod("master", output(0, 2)).pod("worker", None, exit_code=None)
    found = results(run)
    assert found["both-ran"][0] == found["one-group"][0] == "pending"
    assert found["succeeded"][0] == found["accuracy"][0] == "passed"


def test_a_failed_job_fails_succeeded() -> None:
    run = Run(solution(), "Failed").pod("master", "Traceback ...", exit_code=1).pod("worker", "", exit_code=1)
    found = results(run)
    assert found["succeeded"][0] == "failed" and "Failed" in found["succeeded"][1]


@pytest.mark.parametrize(
    ("conditions", "ended"),
    [
        ([{"type": "Created", "status": "True"}, {"type": "Running", "status": "True"}], None),
        ([{"type": "Running", "status": "False"}, {"type": "Succeeded", "status": "True"}], "Succeeded"),
        ([{"type": "Failed", "status": "True", "reason": "PyTorchJobFailed"}], "Failed"),
    ],
)
def test_a_pytorchjob_ends_with_its_condition(conditions: list[dict[str, Any]], ended: str | None) -> None:
    job = {"kind": "PyTorchJob", "metadata": {"name": "j", "uid": "u"}, "status": {"conditions": conditions}}
    assert (training_job_finished(job) or {}).get("type") == ended
    assert (final_state(job) or {}).get("type") == ended


def test_a_succeeded_pytorchjob_is_done_once_its_worker_ended_too() -> None:
    run = Run(solution()).pod("master", output(0, 2)).pod("worker", None, exit_code=None)
    assert not done(run.job, run.pods)
    run.pods[1]["status"]["phase"] = "Succeeded"
    assert done(run.job, run.pods)
    failed = Run(solution(), "Failed").pod("master", "", exit_code=1).pod("worker", None, exit_code=None)
    assert done(failed.job, failed.pods), "a failed job's waiting worker is not waited for"
    assert workload_of_pod(run.pods[1]) == ("PyTorchJob", "digits-11")


def test_the_torch_image_pins_every_wheel_by_its_hash() -> None:
    text = REQUIREMENTS.read_text()
    pins = [line for line in text.splitlines() if line and not line.startswith(("#", " "))]
    hashes = [line for line in text.splitlines() if line.strip().startswith("--hash=sha256:")]
    assert len(pins) == len(hashes) and all(" \\" in p and "==" in p for p in pins)
    names = {p.split("==")[0] for p in pins}
    assert {"torch", "pip"} <= names and "triton" not in names
