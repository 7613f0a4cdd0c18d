"""Running external programs with bounded time and one-line errors."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import CommandError, ToolMissingError, WaitTimeout

__all__ = ["Runner", "require_tool"]

_INSTALL_HINTS: dict[str, str] = {
    "go": "install Go 1.25 or newer (https://go.dev/doc/install)",
    "gcc": "apt-get install gcc libc6-dev",
    "buildah": "apt-get install buildah",
    "debootstrap": "apt-get install debootstrap",
    "containerd": "apt-get install containerd",
    "ctr": "apt-get install containerd",
    "runc": "apt-get install runc",
    "etcd": "apt-get install etcd-server",
    "docker-registry": "apt-get install docker-registry",
    "iptables": "apt-get install iptables",
    "ip6tables": "apt-get install iptables",
    "ip": "apt-get install iproute2",
    "nsenter": "apt-get install util-linux",
    "unshare": "apt-get install util-linux",
    "conntrack": "apt-get install conntrack",
}

_EXTRA_PATHS = ("/usr/sbin", "/sbin", "/usr/lib/cni")


def require_tool(name: str) -> str:
    """The absolute path of a program, or :class:`ToolMissingError` saying how to install it."""
    found = shutil.which(name) or next(
        (str(Path(d) / name) for d in _EXTRA_PATHS if (Path(d) / name).is_file()), None
    )
    if found is None:
        hint = _INSTALL_HINTS.get(name, "install it and make sure it is on PATH")
        raise ToolMissingError(name, f"{hint} (or run ./scripts/setup)")
    return found


class Runner:
    """Runs commands to completion. Swap it in tests to record calls instead of running them."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = dict(env) if env is not None else None

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float = 60.0,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        check: bool = True,
        log: Path | None = None,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv``; the program is looked up with :func:`require_tool`.

        ``log`` appends the output to a file instead of keeping it (for long builds).
        """
        args = [require_tool(argv[0]), *argv[1:]]
        full_env = {**os.environ, **(self._env or {}), **(env or {})}
        try:
            with contextlib.ExitStack() as stack:
                if log is not None:
                    log.parent.mkdir(parents=True, exist_ok=True)
                    sink = stack.enter_context(log.open("a", encoding="utf-8"))
                    sink.write(f"$ {' '.join(args)}\n")
                    sink.flush()
                    streams: dict[str, Any] = {"stdout": sink, "stderr": subprocess.STDOUT}
                else:
                    streams = {"capture_output": True}
                result = subprocess.run(
                    args,
                    text=True,
                    env=full_env,
                    cwd=cwd,
                    timeout=timeout,
                    input=input,
                    check=False,
                    **streams,
                )
            if log is not None:
                result = subprocess.CompletedProcess(args, result.returncode, _tail(log), "")
        except subprocess.TimeoutExpired:
            raise WaitTimeout(f"'{' '.join(argv[:3])}' to finish", timeout) from None
        if check and result.returncode != 0:
            raise CommandError(list(argv), result.returncode, (result.stdout or "") + (result.stderr or ""))
        return result

    def output(self, argv: Sequence[str], *, timeout: float = 60.0) -> str:
        """Run and return standard output."""
        return self.run(argv, timeout=timeout).stdout


def _tail(path: Path, size: int = 4096) -> str:
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(0, handle.tell() - size))
        return handle.read().decode("utf-8", "replace")
