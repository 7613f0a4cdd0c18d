"""Turning pydantic's first validation error into kubedojo's one line: ``'<key>': <what is wrong>``.

Each file kind names its own key (a host, a release, a check by id); this module words the problem
the same way for all of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["dotted", "explain"]


def dotted(loc: Sequence[int | str]) -> str:
    """A pydantic location as a key: ``nodes[1].name``."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int) and parts:
            parts[-1] = f"{parts[-1]}[{part}]"
        else:
            parts.append(str(part))
    return ".".join(parts) or "(top level)"


def explain(error: Mapping[str, Any], key: str, prefix: str = "") -> str:
    """One error (an item of ``ValidationError.errors()``) about ``key``, after ``prefix``."""
    kind = error["type"]
    got = error.get("input")
    if kind == "extra_forbidden":
        return f"{prefix}unknown key '{key}'"
    if kind == "missing":
        return f"{prefix}missing key '{key}'"
    if kind == "bool_type":
        return f"{prefix}'{key}' must be true or false (got {got!r})"
    message = str(error["msg"]).removeprefix("Value error, ")
    plain = not isinstance(got, dict | list)
    shown = f" (got {got!r})" if plain and (kind.endswith("_type") or kind == "literal_error") else ""
    return f"{prefix}'{key}': {message}{shown}"
