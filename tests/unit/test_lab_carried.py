"""A graded result outlives the objects it was graded from (issue 12, section 3): a check that passed
in an earlier grading of the same start keeps its verdict once its objects are gone (a Job's
ttlSecondsAfterFinished), never across starts, never over objects that are still there; and the class
follower grades a lab the moment one of its Jobs finishes."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubedojo.classroom import follow_grades
from kubedojo.client.fake import FakeKube
from kubedojo.labs.catalog import Catalog
from kubedojo.labs.grading import GradingContext
from kubedojo.labs.integrity import LabImages
from kubedojo.labs.recording import grade_and_record
from kubedojo.labs.records import ResultStore
from kubedojo.labs.session import record_start
from kubedojo.labs.snapshot import ClusterSnapshot

PROJECT = Path(__file__).resolve().parents[2]
LAB = Catalog(PROJECT).get("01-run-job")
START = datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC)
DIGEST = "ab" * 32
IMAGES = LabImages({"lab-01-run-job": frozenset({DIGEST})})
LOG = "Epoch 5/5 - loss: 0.1\nTest accuracy: 0.9600\n"


def ts(seconds: int) -> str:
    return (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def job_and_pod(namespace: str = "ns", condition: str = "Complete") -> tuple[dict[str, Any], dict[str, Any]]:
    main = {
        "name": "train",
        "image": "127.0.0.1:5000/kubedojo/lab-01-run-job:v1",
        "command": ["python", "train.py"],
        "args": ["5", "relu", "0.0001"],
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "handson-01", "namespace": namespace, "uid": "j1", "creationTimestamp": ts(5)},
        "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [main]}}},
        "status": {"conditions": [{"type": condition, "status": "True"}]},
    }
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "p1",
            "namespace": namespace,
            "uid": "p1",
            "creationTimestamp": ts(6),
            "ownerReferences": [{"kind": "Job", "uid": "j1", "controller": True}],
        },
        "spec": {"containers": [main], "restartPolicy": "Never"},
        "status": {
            "containerStatuses": [
                {
                    "name": "train",
                    "imageID": f"127.0.0.1:5000/kubedojo/lab-01-run-job@sha256:{DIGEST}",
                    "state": {"terminated": {"exitCode": 0}},
                }
            ]
        },
    }
    return job, pod


def grading(objects: dict[str, list[dict[str, Any]]], started: datetime = START) -> GradingContext:
    snapshot = ClusterSnapshot("ns", START + timedelta(minutes=5), objects)
    snapshot._logs[("p1", "train", False)] = LOG
    return GradingContext(LAB, snapshot, started, images=IMAGES)


def test_a_passed_result_outlives_its_deleted_job(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    job, pod = job_and_pod()
    first = grade_and_record(grading({"Job": [job], "Pod": [pod]}), "ann", store)
    assert first.score == first.max_score
    later = grade_and_record(grading({}), "ann", store)  # ttlSecondsAfterFinished deleted it all
    assert later.score == first.max_score and later.status == "passed"
    assert set(later.extra["carried"]) == {c.id for c in LAB.checks}
    assert all("its objects are gone since" in c.found for c in later.checks)


def test_nothing_is_carried_into_another_start(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    job, pod = job_and_pod()
    grade_and_record(grading({"Job": [job], "Pod": [pod]}), "ann", store)
    again = grade_and_record(grading({}, started=START + timedelta(minutes=1)), "ann", store)
    assert again.score == 0 and "carried" not in again.extra


def test_objects_still_there_are_graded_as_they_are(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    job, pod = job_and_pod()
    grade_and_record(grading({"Job": [job], "Pod": [pod]}), "ann", store)
    faked = {
        **pod,
        "spec": {**pod["spec"], "containers": [{**pod["spec"]["containers"][0], "command": ["sleep"]}]},
    }
    now = grade_and_record(grading({"Job": [job], "Pod": [faked]}), "ann", store)
    assert {c.id for c in now.checks if c.status == "failed"} >= {"complete", "accuracy"}
    assert "carried" not in now.extra


def test_the_follower_grades_a_lab_when_its_job_finishes(tmp_path: Path) -> None:
    kube = FakeKube()
    kube.ensure_namespace("kd-ann", {})
    record_start(kube, "kd-ann", LAB.id)
    store = ResultStore(tmp_path)
    results: list[Any] = []

    def follow() -> None:
        results.extend(follow_grades(kube, [LAB], {"ann": "kd-ann"}, store, 3.0, digests=lambda lab: IMAGES))

    thread = threading.Thread(target=follow)
    thread.start()
    time.sleep(0.3)
    job, pod = job_and_pod("kd-ann", condition="Complete")
    job["metadata"]["creationTimestamp"] = pod["metadata"]["creationTimestamp"] = _now()
    kube.put(pod)
    kube.logs[("kd-ann", "p1", "train")] = LOG
    kube.put(job)
    thread.join(10)
    assert [(r.participant, r.lab) for r in results] == [("ann", LAB.id)]
    assert results[0].score == results[0].max_score, [(c.id, c.found) for c in results[0].checks]
    assert store.attempts("ann", LAB.id) == [1]


def _now() -> str:
    return (datetime.now(UTC) + timedelta(seconds=2)).isoformat(timespec="seconds").replace("+00:00", "Z")
