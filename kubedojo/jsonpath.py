"""A small path language over Kubernetes objects (plain dicts), matching lists by predicate: the labs'
checks' and the add-ons' (a value set in upstream manifests).

``spec.template.spec.containers[name=train].args`` — dotted keys (a key with dots or slashes quoted:
``resources.limits["nvidia.com/gpu"]``); ``[key=value]`` keeps the list
elements whose ``key`` equals ``value``; ``[*]`` keeps every element; ``[0]`` one index (allowed, but
checks should prefer predicates). :func:`select` returns every value the path reaches (an empty list
when it reaches nothing), so a check can say "some" or "every".
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["parse_path", "select", "select_steps"]

_SEGMENT = re.compile(r'\["([^"]+)"\]|([^.\[\]]+)|\[([^\]]*)\]')


def parse_path(path: str) -> list[str]:
    """Split a path into steps; raises :class:`ValueError` for a malformed path."""
    steps: list[str] = []
    pos = 0
    while pos < len(path):
        if path[pos] == ".":
            pos += 1
            continue
        match = _SEGMENT.match(path, pos)
        if not match:
            raise ValueError(f"malformed path {path!r} at {pos}")
        quoted, key, inner = match.groups()
        steps.append(quoted if quoted is not None else key if key is not None else f"[{inner}]")
        pos = match.end()
    if not steps:
        raise ValueError("empty path")
    return steps


def _step(values: list[Any], step: str) -> list[Any]:
    out: list[Any] = []
    if step.startswith("["):
        inner = step[1:-1]
        for value in values:
            if not isinstance(value, list):
                continue
            if inner == "*":
                out.extend(value)
            elif inner.isdigit():
                index = int(inner)
                if index < len(value):
                    out.append(value[index])
            elif "=" in inner:
                key, wanted = inner.split("=", 1)
                out.extend(v for v in value if isinstance(v, dict) and str(v.get(key)) == wanted)
            else:
                raise ValueError(f"bad list step {step!r}: use [*], [N] or [key=value]")
        return out
    for value in values:
        if isinstance(value, dict) and step in value:
            out.append(value[step])
    return out


def select(obj: Any, path: str) -> list[Any]:
    return select_steps(obj, parse_path(path))


def select_steps(obj: Any, steps: list[str]) -> list[Any]:
    """:func:`select` of a path already split into steps (:func:`parse_path`)."""
    values = [obj]
    for step in steps:
        values = _step(values, step)
    return values
