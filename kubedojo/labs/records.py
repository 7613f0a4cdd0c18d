"""Result records: one JSON file per participant, lab and attempt, under the results directory.

<results>/<participant>/<lab>/attempt-001.json
<results>/<participant>/<lab>/attempt-001-evidence/   (only when something failed)
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from .results import LabResult

__all__ = ["ResultStore"]

_ATTEMPT = re.compile(r"^attempt-(\d+)\.json$")


class ResultStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._made: set[Path] = set()
        """Directories this store made or found (a class grading writes a thousand records)."""

    def lab_dir(self, participant: str, lab: str) -> Path:
        return self.root / participant / lab

    def attempts(self, participant: str, lab: str) -> list[int]:
        directory = self.lab_dir(participant, lab)
        if not directory.is_dir():
            return []
        return sorted(int(m.group(1)) for p in directory.iterdir() if (m := _ATTEMPT.match(p.name)))

    def next_attempt(self, participant: str, lab: str) -> int:
        return (self.attempts(participant, lab) or [0])[-1] + 1

    def evidence_dir(self, participant: str, lab: str, attempt: int) -> Path:
        return self.lab_dir(participant, lab) / f"attempt-{attempt:03d}-evidence"

    def record_path(self, participant: str, lab: str, attempt: int) -> Path:
        return self.lab_dir(participant, lab) / f"attempt-{attempt:03d}.json"

    def write(self, result: LabResult) -> Path:
        """Store the result as the next attempt (atomically); sets ``result.attempt`` if unset."""
        if not result.attempt:
            result.attempt = self.next_attempt(result.participant, result.lab)
        path = self.record_path(result.participant, result.lab, result.attempt)
        if path.parent not in self._made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(path.parent)
        tmp = path.with_suffix(".tmp")
        # One line: json's C encoder (an indent takes its Python one, several times slower, and a
        # class grading writes a thousand records). ``python -m json.tool`` shows one laid out.
        tmp.write_text(json.dumps(result.to_dict(), default=str) + "\n")
        os.replace(tmp, path)
        return path

    def read(self, path: Path) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(path.read_text())
        return data
