"""A graded result outlives the objects it was graded from.

A Job with ``ttlSecondsAfterFinished`` (ds-job teaches it) is deleted with its pods minutes after it
finished; so is work a participant deletes. Grading the namespace afterwards would find nothing and
score 0 for work that was done and graded. So, when grading live objects (``lab.check``, the class
grading), a check that does not pass now, whose objects are all gone, and that passed in an earlier
grading of the **same start** of the lab keeps that earlier verdict, saying when it was graded. A new
start (``lab.run``, ``lab.start``, ``lab.reset``) begins with nothing carried.

Records are the grader's own files (:class:`~.records.ResultStore`): a participant's deletions or
edits on the cluster cannot add to them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .context import GradingContext
from .definition import Check, check_selectors
from .records import ResultStore
from .results import CheckResult, LabResult

__all__ = ["carry_forward"]


def _passed_before(store: ResultStore, result: LabResult) -> dict[str, tuple[dict[str, Any], str]]:
    """check id → (its latest passed verdict, when graded), over the records of the same start.

    Read newest first, up to the first record of another start: starts only move later (a start is
    a record's server-set creation time), so the records of one start are the latest ones."""
    found: dict[str, tuple[dict[str, Any], str]] = {}
    for attempt in reversed(store.attempts(result.participant, result.lab)):
        record = store.read(store.record_path(result.participant, result.lab, attempt))
        if record.get("started_at") != result.started_at:
            break
        for check in record.get("checks") or []:
            if check.get("status") == "passed":
                found.setdefault(str(check.get("id")), (check, str(record.get("graded_at"))))
    return found


def _gone(ctx: GradingContext, check: Check) -> bool:
    """None of the objects the check grades exists any more (since the lab started)."""
    for sel in check_selectors(check) or ctx.lab.selectors():  # a Python check: the lab's objects
        if any(sel.matches(o) and ctx.fresh(o) for o in ctx.snapshot.of_kind(sel.kind)):
            return False
    return True


def carry_forward(ctx: GradingContext, result: LabResult, store: ResultStore) -> LabResult:
    """``result`` with the earlier verdicts carried over where the objects are gone (see the module)."""
    if ctx.submission is not None or result.status == "passed":
        return result  # graded from a submission just applied (its objects are there), or nothing to carry
    earlier = _passed_before(store, result)
    if not earlier:
        return result
    checks = {c.id: c for c in ctx.lab.checks}
    kept: list[CheckResult] = []
    carried = []
    for check in result.checks:
        before = earlier.get(check.id)
        if check.status != "passed" and before is not None and _gone(ctx, checks[check.id]):
            record, graded_at = before
            found = f"{record.get('found')} (graded {graded_at}; its objects are gone since)"
            check = replace(check, status="passed", earned=check.points, found=found, hint="")
            carried.append(check.id)
        kept.append(check)
    if carried:
        result.checks = kept
        result.extra["carried"] = carried
    return result
