"""Grading: every check of a lab against a submission and a cluster snapshot.

All checks run (never stopping at the first failure); each answers passed, failed or pending
(no verdict yet: the Job still runs, or nothing was submitted yet). Grading only reads: given the same
cluster it gives the same answer however often it runs. Each check is graded by the evaluator
registered for its kind (:mod:`kubedojo.labs.evaluators`), with the :class:`GradingContext`.
"""

from __future__ import annotations

from ..errors import ClusterError
from .context import FileInfo, FileReader, GradingContext, StoredFile
from .definition import Check
from .evaluators import evaluator_for
from .results import CheckResult, LabResult, Outcome

__all__ = ["FileInfo", "FileReader", "GradingContext", "StoredFile", "evaluate", "grade", "hint_for"]


def evaluate(ctx: GradingContext, check: Check, refused: str | None = None) -> CheckResult:
    """One check's result; runtime checks fail when the submission was ``refused`` (nothing ran)."""
    if refused is not None and check.phase == "runtime":
        outcome = Outcome.failed(
            check.title,
            f"nothing was applied: {refused}",
            "refused",
            "the API server refused the submission, so nothing ran: fix what it says and submit again",
        )
    else:
        try:
            outcome = evaluator_for(check)(ctx, check)
        except ClusterError as exc:
            # A reader pod that failed (what a participant's own claim can make it do: too many or too
            # big files): this check waits for a later grading; the others, and everyone else's, go on.
            outcome = Outcome.pending(check.title, f"could not be graded now: {exc}")
    return CheckResult(
        id=check.id,
        title=check.title,
        phase=check.phase,
        status=outcome.status,
        points=check.points,
        earned=check.points if outcome.status == "passed" else 0,
        expected=outcome.expected,
        found=outcome.found,
        hint=hint_for(check, outcome),
    )


def hint_for(check: Check, outcome: Outcome) -> str:
    """The hint for the cause the check found: the lab's hint for that cause, else the evaluator's own
    (for a cause the check is not about), else the check's hint."""
    if outcome.status != "failed":
        return ""
    return check.hints.get(outcome.cause) or outcome.hint or check.hint


def grade(
    ctx: GradingContext, participant: str, refused: str | None = None, static_only: bool = False
) -> LabResult:
    """Evaluate every check of the lab (all of them, whatever fails)."""
    checks = ctx.lab.static_checks if static_only else ctx.lab.checks
    results = [evaluate(ctx, check, refused) for check in checks]
    return LabResult(
        lab=ctx.lab.id,
        title=ctx.lab.title,
        participant=participant,
        namespace=ctx.snapshot.namespace,
        started_at=ctx.started_at.isoformat(),
        graded_at=ctx.snapshot.taken_at.isoformat(timespec="seconds"),
        checks=results,
        refused=refused,
    )
