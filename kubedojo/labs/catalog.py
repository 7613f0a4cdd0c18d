"""The labs of a project: ``labs/<id>/lab.yaml``, found and validated."""

from __future__ import annotations

import difflib
from pathlib import Path

from ..errors import ConfigError
from .definition import LabDefinition, load_definition

__all__ = ["Catalog"]


class Catalog:
    def __init__(self, project: Path) -> None:
        self.project = project
        self.directory = project / "labs"

    def ids(self) -> list[str]:
        if not self.directory.is_dir():
            return []
        return sorted(p.parent.name for p in self.directory.glob("*/lab.yaml"))

    def all(self) -> list[LabDefinition]:
        return [self.get(lab_id) for lab_id in self.ids()]

    def get(self, lab_id: str) -> LabDefinition:
        path = self.directory / lab_id / "lab.yaml"
        if not path.is_file():
            known = self.ids()
            close = (
                difflib.get_close_matches(lab_id, known, n=1)
                or [k for k in known if k.startswith(lab_id) or k.split("-", 1)[0] == lab_id][:1]
            )
            suggestion = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"no lab {lab_id!r} in {self.directory}{suggestion} ('invoke lab.list' shows them)"
            )
        return load_definition(path, self.project)
