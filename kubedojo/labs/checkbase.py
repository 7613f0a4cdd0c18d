"""What every check of ``lab.yaml`` has (id, title, points, hints by cause), and the base of the
checks that read a path; the check kinds themselves are in :mod:`.definition`."""

from __future__ import annotations

import re
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from ..jsonpath import parse_path
from ..validation import ClosedModel as _Strict
from .selection import Select

__all__ = ["Causes", "SimulatedRuns"]

Causes = frozenset[str] | None
"""What a kind's evaluator names as the cause of a failure; None: anything (a lab's own checks)."""


class _Check(_Strict):
    id: str
    title: str
    points: int = Field(ge=0)
    hint: str = ""
    hints: dict[str, str] = Field(default_factory=dict)
    """A hint per cause the evaluator may find (the kind's ``causes``), shown instead of ``hint``."""
    causes: ClassVar[Causes] = frozenset()
    """What this kind's evaluator names as the cause of a failure (None: anything, a lab's own)."""

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not re.match(r"^[a-z0-9][a-z0-9-]*$", value):
            raise ValueError("check ids are lower-case words joined by '-'")
        return value

    @model_validator(mode="after")
    def _known_causes(self) -> _Check:
        known = type(self).causes
        unknown = sorted(set(self.hints) - known) if known is not None else []
        if unknown:
            raise ValueError(f"no cause {', '.join(unknown)}; causes: {', '.join(sorted(known or ()))}")
        return self


_STATIC = frozenset({"missing", "no-container"})
"""Causes every static check may find: no such object, no lab container in it."""
_RUNTIME = frozenset({"stale", "no-container", "refused"})
"""Causes every runtime check may find: only objects from before the lab started, no lab container,
the submission refused (nothing ran)."""


SimulatedRuns = Literal["no-credit", "counts", "not-applicable"]
"""What a run on simulated nodes (kwok: nothing executes there) means to a check: ``no-credit``
(the default: it is not the lab's code at work), ``counts`` (what kwok made of it counts, as the
cluster's behaviour: a GPU Job scheduled and ended), ``not-applicable`` (the check needs a real run,
such as the GPU a program saw: it is skipped, its points out of the maximum)."""


class _RunCheck(_Check):
    """A runtime check on what the lab's code did."""

    simulated: SimulatedRuns = "no-credit"
    """What a run on simulated nodes means to this check (:data:`SimulatedRuns`)."""


class _PathCheck(_Check):
    object: Select
    path: str

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        parse_path(value)
        return value
