"""How the core tells about long work without printing: a :class:`Reporter` it is given.

The task layer passes one that draws with rich; tests and library users pass :class:`NullReporter`
or a recording one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Protocol

__all__ = ["NullReporter", "Reporter"]


class Reporter(Protocol):
    def step(self, title: str) -> contextlib.AbstractContextManager[None]:
        """A step of work; the context ends when the step is done."""
        ...

    def note(self, message: str) -> None:
        """A remark inside the current step (what was reused, what was left alone)."""
        ...


class NullReporter:
    """Says nothing."""

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        yield

    def note(self, message: str) -> None:
        return None
