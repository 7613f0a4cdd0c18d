"""Outside CI a machine that lacks what a test needs skips it, with the reason; in CI (``CI`` set)
that is a failure, never a skip."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

import pytest


def skip_or_fail(reason: str, what: str) -> NoReturn:
    """Skip for ``reason`` here, or fail in CI, where ``what`` must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} cannot run in CI: {reason}")
    pytest.skip(reason)


def unmet_needs(why_root: str, tools: Iterable[str]) -> str | None:
    """Why this machine cannot run a kind of test (``why_root`` when not root, else the first of
    ``tools`` missing), or None when it can."""
    if os.geteuid() != 0:
        return why_root
    for tool in tools:
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"{tool} is not installed (run ./scripts/setup)"
    return None
