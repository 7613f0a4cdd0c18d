"""Debian's chromium for the browser tests: where it is, and how they run it (headless, and quiet:
no background networking, component updates, sync or first-run pages, so it reaches only the
addresses a test gives it)."""

from __future__ import annotations

import shutil

from .ci import skip_or_fail

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
QUIET_HEADLESS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
)


def chromium() -> str:
    """The browser's path; without one, the test is skipped (a failure in CI)."""
    if CHROMIUM is None:
        skip_or_fail("chromium is not installed (run ./scripts/setup)", "browser tests")
    return str(CHROMIUM)
