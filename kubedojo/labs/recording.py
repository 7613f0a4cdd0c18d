"""One grading, kept: grade every check → save the evidence when a check failed → write the record.

Shared by a participant's ``lab.run`` / ``lab.check`` (:mod:`kubedojo.labs.runner`) and the grading of
a whole class (:mod:`kubedojo.classroom.grading`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Protocol

from .carried import carry_forward
from .context import GradingContext
from .evidence import save_evidence
from .grading import grade
from .records import ResultStore
from .results import LabResult
from .stuck import Stuck

__all__ = ["GradingMeter", "grade_and_record", "grade_for_record", "record"]


class _CountsRequests(Protocol):
    @property
    def requests(self) -> int: ...


@dataclass(frozen=True)
class GradingMeter:
    """What one grading cost, for its record: the API requests the checks made (not the evidence's),
    and the seconds until the record is written, both counted from ``requests`` and ``began``."""

    client: _CountsRequests
    requests: int
    began: float
    """``time.monotonic()`` when grading began."""

    def requests_since(self) -> int:
        return self.client.requests - self.requests

    def seconds_since(self) -> float:
        return round(time.monotonic() - self.began, 3)


def grade_and_record(
    ctx: GradingContext,
    participant: str,
    store: ResultStore,
    refused: str | None = None,
    meter: GradingMeter | None = None,
    stuck: Stuck | None = None,
) -> LabResult:
    """Grade every check, carry earlier verdicts of the same start over where their objects are gone
    (:mod:`.carried`), save the evidence as the attempt's when a check failed (not when the
    submission was refused: nothing ran), and write the result as the participant's next attempt.

    ``stuck``: what kept the submission from finishing. The checks still pending then fail with that
    cause and its hint (they could not pass any more), and the record keeps it under ``stuck``."""
    result = grade_for_record(ctx, participant, store, refused, meter, stuck)
    return record(ctx, result, store, refused, meter)


def grade_for_record(
    ctx: GradingContext,
    participant: str,
    store: ResultStore,
    refused: str | None = None,
    meter: GradingMeter | None = None,
    stuck: Stuck | None = None,
) -> LabResult:
    """The first half of :func:`grade_and_record`: the result, not yet kept (a class grading keeps
    results on other threads while it grades the next)."""
    result = carry_forward(ctx, grade(ctx, participant, refused=refused), store)
    if stuck is not None:
        result.checks = [
            replace(c, status="failed", found=stuck.cause, hint=stuck.hint) if c.status == "pending" else c
            for c in result.checks
        ]
        result.extra["stuck"] = {"subject": stuck.subject, "cause": stuck.cause, "hint": stuck.hint}
    if meter is not None:
        result.requests = meter.requests_since()
    return result


def record(
    ctx: GradingContext,
    result: LabResult,
    store: ResultStore,
    refused: str | None = None,
    meter: GradingMeter | None = None,
) -> LabResult:
    """The second half of :func:`grade_and_record`: number the result as the participant's next
    attempt, save the evidence when a check failed, then write the record."""
    result.attempt = store.next_attempt(result.participant, ctx.lab.id)
    if result.status == "failed" and refused is None:
        directory = store.evidence_dir(result.participant, ctx.lab.id, result.attempt)
        result.evidence = str(save_evidence(ctx, directory))
    if meter is not None:
        result.seconds = meter.seconds_since()
    store.write(result)
    return result
