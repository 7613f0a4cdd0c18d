"""The class grading grades everyone first without waiting, then again, side by side, those whose
checks need a log (their run did not report its output): the same results as grading each alone,
a log read only for the run that did not report, and every record written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kubedojo.classroom.grading import grade_class
from kubedojo.client.fake import FakeKube
from kubedojo.labs.catalog import Catalog
from kubedojo.labs.grading import GradingContext, grade
from kubedojo.labs.records import ResultStore
from kubedojo.labs.session import record_start, start_of
from kubedojo.labs.snapshot import take_snapshot

from .fakecluster import namespace
from .test_lab_grading import PROJECT, START, job, pod, reporting

OUTPUT = "Epoch 5/5 - loss: 1\nTest accuracy: 0.97\n"


class LogCountingKube(FakeKube):
    """Counts the log reads (which pods' logs were asked for)."""

    def __init__(self) -> None:
        super().__init__()
        self.log_reads: list[str] = []

    def pod_log(
        self, namespace: str, pod: str, container: str | None = None, previous: bool = False
    ) -> str | None:
        self.log_reads.append(f"{namespace}/{pod}")
        return super().pod_log(namespace, pod, container, previous)


def _submit(fake: FakeKube, ns: str, report: bool) -> None:
    """Lab 01 started and its Job run in ``ns``; the run reported its output, or only logged it."""
    namespace(fake, ns)
    started = record_start(fake, ns, "01-run-job")
    after = int((started - START).total_seconds())
    j = job("handson-01", after + 5, "Complete", uid=f"{ns}-job", backoffLimit=0)
    p = pod(f"{ns}-pod", j, after + 6, after + 20)
    if report:
        reporting(p, json.dumps({"log": OUTPUT}))
    else:
        fake.logs[(ns, f"{ns}-pod", "train")] = OUTPUT
    for obj in (j, p):
        obj["metadata"]["namespace"] = ns
        fake.put(obj)


def _graded_alone(fake: FakeKube, ns: str) -> dict[str, Any]:
    lab = Catalog(PROJECT).get("01-run-job")
    (start_record,) = fake.list("ConfigMap", ns)
    started = start_of(start_record)
    assert started is not None
    result = grade(GradingContext(lab, take_snapshot(fake, ns, lab.kinds), started), ns)
    return {c.id: (c.status, c.found) for c in result.checks}


def test_only_runs_that_did_not_report_wait_for_their_log(tmp_path: Path) -> None:
    fake = LogCountingKube()
    people = {"alice": "ns-alice", "bob": "ns-bob", "carol": "ns-carol"}
    for name, ns in people.items():
        _submit(fake, ns, report=name != "bob")
    grades = grade_class(fake, [Catalog(PROJECT).get("01-run-job")], people, ResultStore(tmp_path))

    assert fake.log_reads == ["ns-bob/ns-bob-pod"]
    results = {r.participant: {c.id: (c.status, c.found) for c in r.checks} for r in grades.results}
    assert [r.participant for r in grades.results] == ["alice", "bob", "carol"]
    assert results["bob"]["accuracy"] == ("passed", results["alice"]["accuracy"][1])
    for name, ns in people.items():
        assert results[name] == _graded_alone(fake, ns), name
    assert sorted(p.parent.parent.name for p in tmp_path.rglob("attempt-001.json")) == [
        "alice",
        "bob",
        "carol",
    ]
