"""The class roster: who takes part. CSV (a header with ``name`` and optionally ``email``, ``group``)
or YAML (a list of names or of mappings with those keys). Every problem is one line naming the file
and the row."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..yamlfiles import parse_yaml

__all__ = ["Participant", "read_roster"]

_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_KEYS = ("name", "email", "group")


@dataclass(frozen=True)
class Participant:
    name: str
    email: str = ""
    group: str = ""


def _participant(raw: Any, where: str) -> Participant:
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a participant is a name or a mapping with name, email, group")
    unknown = [k for k in raw if k not in _KEYS]
    if unknown:
        raise ConfigError(f"{where}: unknown column or key {unknown[0]!r} (use name, email, group)")
    name = str(raw.get("name") or "").strip()
    if not _NAME.match(name):
        raise ConfigError(
            f"{where}: name {name!r} must be 1-40 lower-case letters, digits or '-' (it names a namespace)"
        )
    email = str(raw.get("email") or "").strip()
    if email and not _EMAIL.match(email):
        raise ConfigError(f"{where}: {email!r} is not an e-mail address")
    return Participant(name, email, str(raw.get("group") or "").strip())


def read_roster(path: Path) -> list[Participant]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such roster file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    people: list[Participant] = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "name" not in [f.strip() for f in reader.fieldnames]:
            raise ConfigError(f"{path}: the first line must be a header with a 'name' column")
        for line, row in enumerate(reader, start=2):
            cleaned = {k.strip(): (v or "") for k, v in row.items() if k is not None}
            if not any(v.strip() for v in cleaned.values()):
                continue
            people.append(_participant(cleaned, f"{path} line {line}"))
    elif path.suffix.lower() in (".yaml", ".yml"):
        data = parse_yaml(text, str(path))
        if isinstance(data, dict) and "participants" in data:
            data = data["participants"]
        if not isinstance(data, list):
            raise ConfigError(f"{path}: expected a list of participants (or 'participants:' with one)")
        for i, item in enumerate(data):
            people.append(_participant(item, f"{path} entry {i + 1}"))
    else:
        raise ConfigError(f"{path}: a roster is a .csv or .yaml file")
    seen: set[str] = set()
    for person in people:
        if person.name in seen:
            raise ConfigError(f"{path}: {person.name!r} appears twice")
        seen.add(person.name)
    if not people:
        raise ConfigError(f"{path}: no participants")
    return people
