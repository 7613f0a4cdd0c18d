"""Reading YAML that people write: every problem is one :class:`~kubedojo.errors.ConfigError` line
naming the file (and the line, for a syntax error)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

__all__ = ["parse_yaml", "read_yaml"]


def parse_yaml(text: str, source: str) -> Any:
    """``yaml.safe_load``, with a syntax error as ``<source>: line N: <problem>``."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}:" if mark is not None else ""
        raise ConfigError(f"{source}:{where} {getattr(exc, 'problem', None) or 'not valid YAML'}") from None


def read_yaml(path: Path, missing: str | None = None) -> Any:
    """Read and parse ``path``. A missing file is ``<path>: <missing>`` (or, with ``missing`` None,
    the FileNotFoundError for the caller to handle); an unreadable one says why."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing is None:
            raise
        raise ConfigError(f"{path}: {missing}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    return parse_yaml(text, str(path))
