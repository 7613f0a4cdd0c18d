"""The base of kubedojo's file models, and pydantic's first validation error as kubedojo's one line:
``<file>: [<item> '<name>': ]'<key>': <what is wrong>``.

Every file kind (workshop.yaml, site.yaml, releases.yaml, lab.yaml) is read through these, so an
unknown key, a missing key or a wrong value is worded the same way in all of them; a file whose items
have names (hosts, releases, checks) names the item rather than its position.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = ["ClosedModel", "NamedItems", "StrictModel", "one_line"]


class ClosedModel(BaseModel):
    """Frozen, and an unknown key is an error; values are converted where pydantic's lax mode does."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StrictModel(ClosedModel):
    """A :class:`ClosedModel` that converts nothing either: ``"yes"`` is not a boolean, ``"1"`` no number."""

    model_config = ConfigDict(strict=True)


@dataclass(frozen=True)
class NamedItems:
    """A top-level list whose items errors name by a field (``host 'cp1': ``), not by position."""

    key: str
    """The list's key in the file: ``nodes``."""
    label: str
    """What one item is called in messages: ``host``."""
    name_field: str = "name"


def one_line(error: ValidationError, data: Any, source: object, named: NamedItems | None = None) -> str:
    """The first error of ``error`` (from validating ``data``, read from ``source``) as one line."""
    first = error.errors()[0]
    loc = _without_union_tags(first["loc"], data, first["type"] == "missing")
    item = ""
    if named is not None and len(loc) >= 2 and loc[0] == named.key and isinstance(loc[1], int):
        name = _at(data, [*loc[:2], named.name_field])
        if isinstance(name, str):
            item, loc = f"{named.label} {name!r}: ", loc[2:]
    if first["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc = [*loc, str(first["ctx"]["discriminator"]).strip("'")]
    key = _dotted(loc) if loc or not item else ""
    return f"{source}: {item}{_explain(first, key)}"


def _without_union_tags(loc: Sequence[int | str], data: Any, missing: bool) -> list[int | str]:
    """The location without the union members pydantic names in it (``checks.0.job_condition.type``
    means ``checks.0.type``): a part that is no key of the data it leads into (but for the key a
    ``missing`` error names)."""
    kept: list[int | str] = []
    here = data
    for i, part in enumerate(loc):
        named_missing = missing and i == len(loc) - 1
        if isinstance(part, str) and not named_missing and not (isinstance(here, Mapping) and part in here):
            continue
        kept.append(part)
        here = _at(here, [part])
    return kept


def _at(data: Any, loc: Sequence[int | str]) -> Any:
    for part in loc:
        if isinstance(part, int) and isinstance(data, list) and part < len(data):
            data = data[part]
        elif isinstance(part, str) and isinstance(data, Mapping):
            data = data.get(part)
        else:
            return None
    return data


def _dotted(loc: Sequence[int | str]) -> str:
    """A pydantic location as a key: ``nodes[1].name``."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int) and parts:
            parts[-1] = f"{parts[-1]}[{part}]"
        else:
            parts.append(str(part))
    return ".".join(parts) or "(top level)"


def _explain(error: Mapping[str, Any], key: str) -> str:
    """One error (an item of ``ValidationError.errors()``) about ``key`` (empty: the item itself)."""
    kind = error["type"]
    got = error.get("input")
    if kind == "extra_forbidden":
        return f"unknown key '{key}'"
    if kind in ("missing", "union_tag_not_found"):
        return f"missing key '{key}'"
    if kind == "bool_type":
        return f"'{key}' must be true or false (got {got!r})"
    if kind == "union_tag_invalid":
        context = error["ctx"]
        return f"'{key}': Input should be one of {context['expected_tags']} (got {context['tag']!r})"
    message = str(error["msg"]).removeprefix("Value error, ")
    plain = not isinstance(got, dict | list)
    shown = f" (got {got!r})" if plain and (kind.endswith("_type") or kind == "literal_error") else ""
    return f"'{key}': {message}{shown}" if key else f"{message}{shown}"
