"""A graded result outlives the objects it was graded from, on the real cluster (issue 12, section 3):
the instructor's follower grades ds-job the moment its Job finishes; once the Job and its pods are gone
(as ttlSecondsAfterFinished or the participant would remove them) the class grading still gives the
full marks, saying when they were graded."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kubedojo.classroom import follow_grades, grade_class
from kubedojo.client.kube import KubeClient
from kubedojo.labs import LabRunner, ResultStore
from kubedojo.labs.results import LabResult

from .labtools import CATALOG, assert_full_marks

pytestmark = pytest.mark.cluster


def test_class_grade_keeps_the_result_of_a_deleted_job(
    lab_runner: LabRunner, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    lab = CATALOG.get("ds-job")
    instructor = ResultStore(tmp_path / "instructor")
    followed: list[LabResult] = []
    watching = threading.Event()

    def follow() -> None:
        grades = follow_grades(
            admin, [lab], {"tester": namespace}, instructor, 300, lab_runner.reader, lab_runner.digests
        )
        watching.set()
        for result in grades:
            followed.append(result)
            if result.score == result.max_score:
                return

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    assert watching.wait(10)
    assert_full_marks(lab_runner.run(lab, lab.solution_path, namespace, "tester", timeout=300))
    thread.join(120)
    assert followed and followed[-1].score == followed[-1].max_score, followed

    admin.delete("Job", "ds-job", namespace, foreground=True)  # its pods go first
    admin.wait_deleted("Job", "ds-job", namespace, 120)
    assert admin.pods(namespace, label_selector="batch.kubernetes.io/job-name=ds-job") == []

    grades = grade_class(
        admin, [lab], {"tester": namespace}, instructor, lab_runner.reader, digests=lab_runner.digests
    )
    result = grades.results[0]
    assert result.score == result.max_score, [(c.id, c.status, c.found) for c in result.checks]
    assert "complete" in result.extra["carried"]
    assert all("gone since" in c.found for c in result.checks if c.id in result.extra["carried"])
