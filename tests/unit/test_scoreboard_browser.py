"""The scoreboard page in a real headless browser (Debian's chromium): its script builds the table,
sorts it, and opens a cell's checks. No network: the page is a local file with no external assets."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from kubedojo.classroom.scoreboard import scoreboard
from kubedojo.labs.results import CheckResult, LabResult

from ..chromium import QUIET_HEADLESS, chromium


def result(participant: str, lab: str, earned: int, status: str) -> LabResult:
    checks = [
        CheckResult(
            "a",
            "the Job completes",
            "runtime",
            status,
            4,
            earned,
            "Complete",
            "Failed: BackoffLimitExceeded" if status == "failed" else "Complete",
            "read the log" if status == "failed" else "",
        ),
    ]
    return LabResult(lab, lab, participant, f"dojo-{participant}", "", "", checks)


def dom(page: Path, fragment: str, tmp_path: Path) -> str:
    argv = [
        chromium(),
        *QUIET_HEADLESS,
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=2000",
        "--dump-dom",
        f"{page.as_uri()}#{fragment}",
    ]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.fixture
def page(tmp_path: Path) -> Path:
    board = scoreboard(
        [
            result("carol", "l1", 4, "passed"),
            result("alice", "l1", 0, "failed"),
            result("bob", "l1", 4, "passed"),
        ],
        [("l1", "Run a Job", 4)],
    )
    path = tmp_path / "scoreboard.html"
    path.write_text(board.to_html("Demo workshop"))
    return path


def order(html: str) -> list[str]:
    return re.findall(r'<tr data-participant="([^"]+)"', html)


def test_table_is_built_and_sorted_by_total(page: Path, tmp_path: Path) -> None:
    html = dom(page, "", tmp_path)
    assert order(html) == ["bob", "carol", "alice"]  # highest total first, ties by name
    assert 'aria-sort="descending"' in html


def test_sort_by_name_ascending(page: Path, tmp_path: Path) -> None:
    assert order(dom(page, "sort=name&order=asc", tmp_path)) == ["alice", "bob", "carol"]


def test_cell_detail_shows_checks_and_hint(page: Path, tmp_path: Path) -> None:
    html = dom(page, "detail=alice/l1", tmp_path)
    assert re.search(r'<div id="detail"[^>]*class="open"[^>]*data-showing="alice/l1"', html)
    detail = html.split('id="detail"', 1)[1].split("</ul>", 1)[0]
    assert "alice — l1: 0/4" in detail
    assert "found: Failed: BackoffLimitExceeded" in detail
    assert "hint: read the log" in detail
