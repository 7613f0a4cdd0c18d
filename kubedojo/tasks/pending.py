"""Namespaces whose commands later work fills in; each says so when called."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.tasks import task

from .support import pending

charts = Collection(
    "charts",
    task(pending("charts", "the add-ons issue (pyhelm3 chart releases)"), name="about", default=True),
)
