"""How a release's values and manifests are shown: flattened keys, and manifests diffed with every
Secret's data hidden."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

__all__ = ["flatten", "manifest_diff"]


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(data, Mapping) and data:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: data}


def _masked(objects: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Objects for display: a Secret's data is never shown."""
    shown = []
    for obj in objects:
        obj = dict(obj)
        if obj.get("kind") == "Secret":
            for key in ("data", "stringData"):
                if key in obj:
                    obj[key] = {k: "(hidden)" for k in obj[key] or {}}
        shown.append(obj)
    return shown


def _object_key(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind')}/{meta.get('namespace', '')}/{meta.get('name')}"


def manifest_diff(before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]) -> str:
    def text(objects: Sequence[Mapping[str, Any]]) -> list[str]:
        ordered = sorted(_masked(objects), key=_object_key)
        return yaml.safe_dump_all(ordered, sort_keys=True).splitlines(keepends=True) if ordered else []

    return "".join(difflib.unified_diff(text(before), text(after), "deployed", "wanted"))
