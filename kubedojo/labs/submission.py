"""Reading a participant's manifest: one line naming the file, document and field for anything that
would make applying it fail or do something else than intended. Nothing is applied from here."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from .katibspec import experiment_problem

__all__ = ["BLANK", "Submission", "read_submission"]

BLANK = "___"
"""What starter manifests put where the participant must fill something in."""

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_KIND_PROBLEMS = {"Experiment": experiment_problem}
"""Mistakes of a kind that its API server accepts and its controller then never acts on."""


@dataclass(frozen=True)
class Submission:
    """The documents of a participant's manifest, in order."""

    path: Path
    objects: list[dict[str, Any]]


def _where(path: Path, index: int, count: int) -> str:
    return f"{path}" if count == 1 else f"{path} (document {index + 1})"


def _find_blank(value: Any, trail: str) -> str | None:
    if isinstance(value, str) and BLANK in value:
        return trail
    if isinstance(value, dict):
        for key, item in value.items():
            found = _find_blank(item, f"{trail}.{key}" if trail else str(key))
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _find_blank(item, f"{trail}[{i}]")
            if found:
                return found
    return None


def read_submission(path: Path, kinds: list[str], namespace: str | None = None) -> Submission:
    """Parse and sanity-check a manifest. Raises :class:`ConfigError` (one line) when it is malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        if "could not determine a constructor" in str(exc):
            problem = (
                f"{problem}; a value starting with '!' is a YAML tag: quote it or fill in the placeholder"
            )
        raise ConfigError(f"{path}:{where} {problem}") from None
    if not documents:
        raise ConfigError(f"{path}: the file has no Kubernetes objects")
    objects: list[dict[str, Any]] = []
    for index, doc in enumerate(documents):
        where = _where(path, index, len(documents))
        if not isinstance(doc, dict):
            raise ConfigError(f"{where}: a Kubernetes object must be a mapping, not {type(doc).__name__}")
        if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            raise ConfigError(f"{where}: a List: put each object in its own YAML document instead")
        for key in ("apiVersion", "kind", "metadata"):
            if key not in doc:
                raise ConfigError(f"{where}: missing '{key}'")
        if not isinstance(doc["metadata"], dict):
            raise ConfigError(f"{where}: 'metadata' must be a mapping")
        kind = doc["kind"]
        if kind not in kinds:
            raise ConfigError(
                f"{where}: kind {kind!r} is not part of this lab (expected: {', '.join(kinds)})"
            )
        meta = doc["metadata"]
        name, generate = meta.get("name"), meta.get("generateName")
        if not name and not generate:
            raise ConfigError(f"{where}: 'metadata.name' is missing")
        if name is not None and (not isinstance(name, str) or not _DNS_SUBDOMAIN.match(name)):
            raise ConfigError(
                f"{where}: 'metadata.name' {name!r} is not a valid name (lower-case letters, digits and '-', "
                "starting and ending with a letter or digit); for a name prefix use 'generateName'"
            )
        blank = _find_blank(doc, "")
        if blank is not None:
            raise ConfigError(f"{where}: '{blank}' is still '{BLANK}': fill it in (see the lab's README)")
        problem = _KIND_PROBLEMS[kind](doc) if kind in _KIND_PROBLEMS else None
        if problem is not None:
            raise ConfigError(f"{where}: {problem}")
        own = meta.get("namespace")
        if namespace is not None and own not in (None, namespace):
            raise ConfigError(
                f"{where}: 'metadata.namespace' is {own!r}; remove it (kubedojo submits to {namespace!r})"
            )
        objects.append(doc)
    return Submission(path=path, objects=objects)
