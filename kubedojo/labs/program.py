"""What a container runs, read as a program, and which container of a pod is the lab's.

A container's **effective argv** is its ``command`` followed by its ``args``, as the manifest says them
(an image's own ENTRYPOINT is unknown here, so only what the manifest says counts). It is read as a
:class:`Program`: the script it runs and the arguments after the script. The python interpreter's
flags that do not change the program (``-u``, ``-B``; ``python`` or ``python3``) and a script's
directory are left out, and a ``sh -c "..."`` line is split like the shell would. So
``command: [python]`` + ``args: [-u, train.py, "5"]`` and ``command: [python, train.py]`` +
``args: ["5"]`` are the same program. Arguments keep their YAML types: a lab teaches quoting.

A Katib trial's pod runs its primary container's argv as Katib's pod webhook rewrote it: one
``sh -c`` line of the words joined by spaces, its output sent to the file the metrics collector reads,
then a mark that it completed (:data:`KATIB_WRAPPER`). That line is read as the words before the
redirection: the same program, its output elsewhere.

The **lab's container** in a pod spec: the first container that runs one of the lab's scripts, else
the first with one of the lab's container names, else the only container. Static checks, log checks
and termination checks all look at this one container.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

__all__ = ["KATIB_WRAPPER", "Program", "image_name", "lab_container", "program_of"]

_PYTHON = re.compile(r"^python(3(\.\d+)?)?$")
_NEUTRAL_FLAGS = re.compile(r"^-[uB]+$")
"""Interpreter flags that change buffering or byte-code files, not what the program does."""
_SHELLS = frozenset({"sh", "bash", "dash"})
KATIB_WRAPPER = " 1>/var/log/katib/metrics.log 2>&1 && echo completed > /var/log/katib/$$$$.pid"
"""What Katib's pod webhook (v0.19, StdOut collector, no early stopping) appends to a trial's line:
the output to its collector's file, then "completed" in a file named after the shell's pid (``$$$$``
is ``$$`` once Kubernetes has expanded the argv)."""


@dataclass(frozen=True)
class Program:
    argv: tuple[Any, ...]
    """``command`` + ``args``, as written."""
    script: str | None
    """The file name of the script it runs (``train.py``), when it runs one."""
    arguments: tuple[Any, ...]
    """What follows the script; without a script, ``args`` (for an image's own ENTRYPOINT)."""
    interpreter: str | None = None
    """The interpreter as written (``python``, ``/usr/bin/python3``), when a python runs the script."""
    script_path: str | None = None
    """The script as written (``train.py``, ``/workspace/train.py``, ``/data/train.py``)."""
    via_shell: str | None = None
    """The shell line, when the argv is ``sh -c "LINE"``."""

    def option(self, name: str) -> str | None:
        """The value of ``--name VALUE`` or ``--name=VALUE`` among the arguments (the last one)."""
        found = None
        for i, word in enumerate(self.arguments):
            if word == name and i + 1 < len(self.arguments):
                found = str(self.arguments[i + 1])
            elif isinstance(word, str) and word.startswith(name + "="):
                found = word.split("=", 1)[1]
        return found

    def shown(self) -> str:
        return (
            " ".join(w if isinstance(w, str) else repr(w) for w in self.argv) or "(the image's own command)"
        )


def _shell_line(argv: list[Any]) -> str | None:
    """The line of a ``sh -c "LINE"`` argv (without Katib's :data:`KATIB_WRAPPER`), else None."""
    if len(argv) == 3 and _name(argv[0]) in _SHELLS and argv[1] == "-c" and isinstance(argv[2], str):
        line = argv[2]
        if line.endswith(KATIB_WRAPPER) and line[: -len(KATIB_WRAPPER)].strip():
            return line[: -len(KATIB_WRAPPER)]
        return line
    return None


def _words(argv: list[Any], line: str | None) -> list[Any]:
    """The argv, with a ``sh -c "LINE"`` replaced by the line's words."""
    if line is not None:
        try:
            return list(shlex.split(line))
        except ValueError:
            return argv
    return argv


def _name(word: Any) -> str:
    return posixpath.basename(word) if isinstance(word, str) else ""


def program_of(container: dict[str, Any]) -> Program:
    args = list(container.get("args") or [])
    argv = list(container.get("command") or []) + args
    line = _shell_line(argv)
    words = _words(argv, line)
    line = line if words is not argv else None
    if words and _PYTHON.match(_name(words[0])):
        rest = words[1:]
        while rest and isinstance(rest[0], str) and _NEUTRAL_FLAGS.match(rest[0]):
            rest = rest[1:]
        if rest and isinstance(rest[0], str) and not rest[0].startswith("-"):
            return Program(tuple(argv), _name(rest[0]), tuple(rest[1:]), str(words[0]), rest[0], line)
    elif words and _name(words[0]).endswith(".py"):
        return Program(tuple(argv), _name(words[0]), tuple(words[1:]), None, words[0], line)
    return Program(tuple(argv), None, tuple(args), via_shell=line)


def image_name(image: Any) -> str:
    """An image reference's repository name: ``127.0.0.1:5000/kubedojo/lab-01:v1`` → ``lab-01``."""
    last = str(image or "").split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def lab_container(
    spec: dict[str, Any], scripts: Collection[str], names: Collection[str]
) -> dict[str, Any] | None:
    """The lab's container in a pod spec (see the module's docstring), or None."""
    containers = [c for c in spec.get("containers") or [] if isinstance(c, dict)]
    for container in containers:
        if program_of(container).script in scripts:
            return container
    for container in containers:
        if container.get("name") in names:
            return container
    return containers[0] if len(containers) == 1 else None
