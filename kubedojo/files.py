"""Writing files whole: a reader sees the old content or the new, never half of it."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: Path, text: str, mode: int = 0o644, dir_mode: int = 0o755) -> bool:
    """Write ``text`` to ``path`` with ``mode`` (created with it, so a secret is never readable by
    others, even for a moment). Returns False, writing nothing, when the file already holds ``text``."""
    try:
        if path.read_text() == text and (path.stat().st_mode & 0o777) == mode:
            return False
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=dir_mode)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    return True
