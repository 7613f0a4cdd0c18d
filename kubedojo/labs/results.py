"""What grading answers: a verdict per check, and a lab's result record."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal

__all__ = ["CheckResult", "LabResult", "Outcome", "Phase", "Status"]

Status = Literal["passed", "failed", "pending", "skipped"]
"""``skipped``: the check does not apply to this run (its evidence needs real hardware, and the run
was on simulated nodes); its points leave the maximum score."""
Phase = Literal["static", "runtime"]
"""Static checks look at the manifest (or the live objects); runtime checks at what ran."""


@dataclass(frozen=True)
class Outcome:
    """A check's verdict before points: what was expected and what was found; for a failure, the
    ``cause`` found (the check's ``hints`` are keyed by it) and, for causes that are not what the check
    is about (no such object, no lab container), the evaluator's own ``hint``."""

    status: Status
    expected: str
    found: str
    cause: str = ""
    hint: str = ""

    @classmethod
    def passed(cls, expected: str, found: str) -> Outcome:
        return cls("passed", expected, found)

    @classmethod
    def failed(cls, expected: str, found: str, cause: str = "", hint: str = "") -> Outcome:
        return cls("failed", expected, found, cause, hint)

    @classmethod
    def pending(cls, expected: str, found: str) -> Outcome:
        return cls("pending", expected, found)

    @classmethod
    def skipped(cls, expected: str, found: str) -> Outcome:
        return cls("skipped", expected, found)


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    phase: Phase
    status: Status
    points: int
    earned: int
    expected: str
    found: str
    hint: str
    """Shown only when the check failed."""


@dataclass
class LabResult:
    """One grading of one lab for one participant: the record kubedojo writes as JSON."""

    lab: str
    title: str
    participant: str
    namespace: str
    started_at: str
    graded_at: str
    checks: list[CheckResult]
    attempt: int = 0
    requests: int = 0
    seconds: float = 0.0
    evidence: str | None = None
    refused: str | None = None
    """Why the cluster refused the submission (nothing of it was applied)."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def score(self) -> int:
        return sum(c.earned for c in self.checks)

    @property
    def max_score(self) -> int:
        """The points of the checks that apply (a skipped check's are left out)."""
        return sum(c.points for c in self.checks if c.status != "skipped")

    @property
    def status(self) -> Status:
        states = {c.status for c in self.checks}
        if "failed" in states:
            return "failed"
        if "pending" in states:
            return "pending"
        return "passed"

    def to_dict(self) -> dict[str, Any]:
        """The record's fields (a shallow copy: it is for serialising, a class grading makes a
        thousand, and :func:`dataclasses.asdict` deep-copies)."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["checks"] = [dict(vars(c)) for c in self.checks]
        data.update(score=self.score, max_score=self.max_score, status=self.status)
        return data
