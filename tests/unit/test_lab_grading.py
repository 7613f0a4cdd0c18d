"""Grading logic on hand-written object states: verdicts, partial credit, pending, anti-cheat."""

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from kubedojo.labs.catalog import Catalog
from kubedojo.labs.grading import GradingContext, grade
from kubedojo.labs.recording import GradingMeter, grade_and_record
from kubedojo.labs.records import ResultStore
from kubedojo.labs.snapshot import ClusterSnapshot

PROJECT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)


def ts(seconds: int) -> str:
    return (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def job(name: str, created: int, final: str | None, uid: str = "j1", **spec: Any) -> dict[str, Any]:
    conditions = [{"type": final, "status": "True", "reason": "X"}] if final else []
    return {
        "kind": "Job",
        "metadata": {"name": name, "uid": uid, "creationTimestamp": ts(created)},
        "spec": spec,
        "status": {"conditions": conditions},
    }


def pod(
    name: str, owner: dict[str, Any], start: int, end: int, reason: str = "Completed", code: int = 0
) -> dict[str, Any]:
    return {
        "kind": "Pod",
        "metadata": {
            "name": name,
            "uid": name,
            "creationTimestamp": ts(start),
            "ownerReferences": [{"kind": "Job", "uid": owner["metadata"]["uid"], "controller": True}],
        },
        "spec": {"containers": [{"name": "train"}], "nodeName": "n1"},
        "status": {
            "qosClass": "Burstable",
            "containerStatuses": [
                {
                    "name": "train",
                    "state": {
                        "terminated": {
                            "reason": reason,
                            "exitCode": code,
                            "startedAt": ts(start),
                            "finishedAt": ts(end),
                        }
                    },
                }
            ],
        },
    }


def context(
    objects: dict[str, list[dict[str, Any]]],
    lab: str = "01-run-job",
    submission: Any = None,
    logs: dict[str, str] | None = None,
) -> GradingContext:
    snapshot = ClusterSnapshot("ns", START + timedelta(minutes=5), objects)
    snapshot._logs.update({(k, "train", False): v for k, v in (logs or {}).items()})
    return GradingContext(Catalog(PROJECT).get(lab), snapshot, START, submission=submission)


def by_id(result: Any) -> dict[str, Any]:
    return {c.id: c for c in result.checks}


def test_nothing_submitted_is_pending_not_failed() -> None:
    result = grade(context({}), "me")
    assert {c.status for c in result.checks} == {"pending"}
    assert result.score == 0 and result.status == "pending"


def test_running_job_is_pending() -> None:
    j = job("handson-01", 5, None, backoffLimit=0)
    checks = by_id(grade(context({"Job": [j]}), "me"))
    assert checks["complete"].status == "pending" and "still running" in checks["complete"].found
    assert checks["no-retries"].status == "passed"


def test_job_from_before_the_start_fails() -> None:
    j = job("handson-01", -60, "Complete")
    checks = by_id(grade(context({"Job": [j]}), "me"))
    assert checks["complete"].status == "failed"
    assert "before the lab started" in checks["complete"].found


def test_loose_pod_with_the_job_label_does_not_count() -> None:
    j = job("handson-01", 5, "Complete")
    loose = pod("fake", {"metadata": {"uid": "someone-else"}}, 6, 7)
    checks = by_id(
        grade(
            context({"Job": [j], "Pod": [loose]}, logs={"fake": "Epoch 5/5 - loss\nTest accuracy: 0.99\n"}),
            "me",
        )
    )
    assert checks["accuracy"].status == "failed"
    assert checks["all-epochs"].status == "failed"


def test_metric_threshold_and_partial_credit() -> None:
    j = job("handson-01", 5, "Complete", backoffLimit=6)
    p = pod("p1", j, 6, 20)
    result = grade(
        context({"Job": [j], "Pod": [p]}, logs={"p1": "Epoch 5/5 - loss: 1\nTest accuracy: 0.42\n"}), "me"
    )
    checks = by_id(result)
    assert checks["accuracy"].status == "failed" and checks["accuracy"].found.endswith("0.42")
    assert checks["accuracy"].hint
    assert checks["no-retries"].status == "failed" and "6" in checks["no-retries"].found
    assert checks["complete"].status == "passed" and checks["all-epochs"].status == "passed"
    assert 0 < result.score < result.max_score


def reporting(pod_: dict[str, Any], message: str, container: str = "train") -> dict[str, Any]:
    """The pod with ``message`` as the termination message of its container ``container``."""
    for status in pod_["status"]["containerStatuses"]:
        if status["name"] == container:
            status["state"]["terminated"]["message"] = message
    return pod_


def test_output_reported_in_the_termination_message_is_read_without_the_log() -> None:
    j = job("handson-01", 5, "Complete", backoffLimit=0)
    p = reporting(pod("p1", j, 6, 20), json.dumps({"log": "Epoch 5/5 - loss: 1\nTest accuracy: 0.97\n"}))
    ctx = context({"Job": [j], "Pod": [p]})  # no log at all: the snapshot has no client either
    checks = by_id(grade(ctx, "me"))
    assert checks["accuracy"].status == "passed" and checks["accuracy"].found.endswith("0.97")
    assert checks["all-epochs"].status == "passed"
    assert ctx.snapshot._logs == {}, "no log was read"


def test_a_report_without_the_output_leaves_the_log_to_be_read() -> None:
    j = job("handson-01", 5, "Complete", backoffLimit=0)
    p = reporting(pod("p1", j, 6, 20), json.dumps({"files": []}))
    checks = by_id(
        grade(
            context({"Job": [j], "Pod": [p]}, logs={"p1": "Epoch 5/5 - loss: 1\nTest accuracy: 0.96\n"}), "me"
        )
    )
    assert checks["accuracy"].status == "passed" and checks["accuracy"].found.endswith("0.96")


def test_only_the_lab_container_s_report_stands_for_its_output() -> None:
    j = job("handson-01", 5, "Complete", backoffLimit=0)
    p = pod("p1", j, 6, 20)
    p["spec"]["containers"].insert(0, {"name": "helper"})
    helper = json.loads(json.dumps(p["status"]["containerStatuses"][0]))
    p["status"]["containerStatuses"].insert(0, {**helper, "name": "helper"})
    reporting(p, json.dumps({"log": "Test accuracy: 0.99\n"}), container="helper")
    ctx = context({"Job": [j], "Pod": [p]}, logs={"p1": "Test accuracy: 0.42\n"})
    assert ctx.output_of(p, "helper") is None  # its log (none here), not its own message
    assert by_id(grade(ctx, "me"))["accuracy"].found.endswith("0.42")


def test_oom_told_apart_from_error() -> None:
    j = job("handson-03", 5, "Failed")
    crashed = pod("p", j, 6, 7, reason="Error", code=1)
    checks = by_id(grade(context({"Job": [j], "Pod": [crashed]}, lab="03-exception"), "me"))
    assert checks["oom-killed"].status == "failed" and "Error (exit code 1)" in checks["oom-killed"].found
    oom = pod("p", j, 6, 7, reason="OOMKilled", code=137)
    checks = by_id(grade(context({"Job": [j], "Pod": [oom]}, lab="03-exception"), "me"))
    assert checks["oom-killed"].status == "passed"


def test_concurrency_from_timestamps() -> None:
    train = {"name": "train", "image": "r/lab-05-many-jobs:v1", "command": ["python", "train.py"]}
    template = {"spec": {"containers": [train]}}
    jobs = [job(f"exp-0{i}", 1, "Complete", uid=f"u{i}", template=template) for i in range(1, 9)]
    # Three waves of at most three pods.
    pods = [pod(f"p{i}", jobs[i], 10 * (i // 3), 10 * (i // 3) + 9) for i in range(8)]
    checks = by_id(grade(context({"Job": jobs, "Pod": pods}, lab="05-many-jobs"), "me"))
    assert checks["parallel"].status == "passed" and "at most 3 of 8" in checks["parallel"].found
    together = [pod(f"p{i}", jobs[i], 10, 19) for i in range(8)]
    checks = by_id(grade(context({"Job": jobs, "Pod": together}, lab="05-many-jobs"), "me"))
    assert checks["parallel"].status == "failed"
    assert checks["queued"].status == "failed"


def test_regrading_gives_the_same_answer(tmp_path: Path) -> None:
    j = job("handson-01", 5, "Complete", backoffLimit=0)
    ctx = context(
        {"Job": [j], "Pod": [pod("p1", j, 6, 9)]}, logs={"p1": "Epoch 5/5 - l\nTest accuracy: 0.97\n"}
    )
    first, second = grade(ctx, "me"), grade(ctx, "me")
    assert first.to_dict() | {"graded_at": 0} == second.to_dict() | {"graded_at": 0}
    store = ResultStore(tmp_path)
    assert store.write(first).name == "attempt-001.json"
    assert store.write(second).name == "attempt-002.json"
    assert store.read(tmp_path / "me" / "01-run-job" / "attempt-002.json")["score"] == first.score


MATRIX = "Training finished with confusion matrix:\n[[10  0  0]\n [ 0 13  1]\n [ 0  0 14]]\n"


def test_python_check_waits_for_the_job_then_reads_its_log() -> None:
    running = job("ds-job", 5, None)
    assert by_id(grade(context({"Job": [running]}, lab="ds-job"), "me"))["matrix"].status == "pending"
    stale = job("ds-job", -60, "Complete")
    matrix = by_id(grade(context({"Job": [stale]}, lab="ds-job"), "me"))["matrix"]
    assert matrix.status == "failed" and "before the lab started" in matrix.found
    done = job("ds-job", 5, "Complete")
    ctx = context({"Job": [done], "Pod": [pod("p1", done, 6, 9)]}, lab="ds-job", logs={"p1": MATRIX})
    matrix = by_id(grade(ctx, "me"))["matrix"]
    assert matrix.status == "passed" and "37/38 right" in matrix.found


def test_grade_and_record_keeps_evidence_only_when_something_failed(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    failed = grade_and_record(context({"Job": [job("handson-01", -60, "Complete")]}), "me", store)
    assert failed.status == "failed" and failed.attempt == 1 and failed.evidence
    assert (Path(failed.evidence) / "objects.jsonl").is_file()
    refused = grade_and_record(context({}, submission=[]), "me", store, refused="Job/x: invalid")
    assert refused.status == "failed" and refused.attempt == 2 and refused.evidence is None
    counter = SimpleNamespace(requests=7)
    pending = grade_and_record(context({}), "me", store, meter=GradingMeter(counter, 4, time.monotonic()))
    assert pending.status == "pending" and pending.evidence is None
    assert pending.requests == 3 and 0 <= pending.seconds < 5
    assert store.attempts("me", "01-run-job") == [1, 2, 3]


def test_a_record_holds_every_field_with_score_and_status() -> None:
    """``LabResult.to_dict`` copies shallowly, for speed; what it gives must be what a deep copy gave."""
    from dataclasses import asdict

    from kubedojo.labs.results import CheckResult, LabResult

    check = CheckResult("a", "A", "runtime", "failed", 2, 0, "x", "y", "do z")
    result = LabResult("01", "T", "me", "ns", "s", "g", [check], attempt=3, extra={"stuck": {"cause": "c"}})
    assert result.to_dict() == {**asdict(result), "score": 0, "max_score": 2, "status": "failed"}
    assert json.loads(json.dumps(result.to_dict()))["checks"][0]["hint"] == "do z"
