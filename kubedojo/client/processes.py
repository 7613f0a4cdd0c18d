"""Long-running local processes (the cluster's components), detached from the caller.

A daemon is started with a double fork so that it outlives ``invoke`` and is never left a zombie of
the calling process; its PID goes to a pidfile in the state directory. "Alive" means the PID exists, is
not a zombie and still runs the expected program, so a recycled PID is never mistaken for a component.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ComponentError

__all__ = [
    "Daemon",
    "ProcessTable",
    "any_alive",
    "processes_in_cgroup",
    "processes_with_cmdline",
    "terminate",
    "wait_for_exit",
]

_ROTATE_AT = 32 * 2**20
"""A log larger than this is moved to ``<name>.1`` when its daemon next starts."""


@dataclass(frozen=True)
class Daemon:
    """How to run one component."""

    name: str
    argv: Sequence[str]
    log: Path
    pidfile: Path
    env: Mapping[str, str] = field(default_factory=dict)
    mount_namespace: Path | None = None
    """Enter this persistent mount namespace (a bind-mounted ``/proc/PID/ns/mnt``) before exec."""

    @property
    def program(self) -> str:
        return os.path.realpath(self.argv[0])


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[0]


def _exe(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe").removesuffix(" (deleted)")
    except OSError:
        return None


def _wait_gone(pid: int, timeout: float) -> bool:
    """Wait (without polling) until ``pid`` exits; True if it did within ``timeout``."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        if poller.poll(timeout * 1000):
            return True
        return _state(pid) in (None, "Z")
    finally:
        os.close(fd)


def wait_for_exit(pids: Iterable[int], timeout: float | None) -> set[int]:
    """Wait (without polling: a pidfd each) until one of ``pids`` ends, at most ``timeout`` seconds
    (None: no limit); the ones that have ended (those already gone included)."""
    fds: dict[int, int] = {}
    ended: set[int] = set()
    try:
        for pid in pids:
            try:
                fds[os.pidfd_open(pid)] = pid
            except ProcessLookupError:
                ended.add(pid)
        if ended:
            return ended
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        return {fds[fd] for fd, _event in poller.poll(None if timeout is None else timeout * 1000)}
    finally:
        for fd in fds:
            os.close(fd)


class ProcessTable:
    """Starts, finds and stops daemons."""

    def pid(self, daemon: Daemon) -> int | None:
        """The daemon's PID if it is running the expected program, else None."""
        pid = _read_pid(daemon.pidfile)
        if pid is None or _state(pid) in (None, "Z"):
            return None
        if _exe(pid) != daemon.program:
            return None
        return pid

    def alive(self, daemon: Daemon) -> bool:
        return self.pid(daemon) is not None

    def start(self, daemon: Daemon) -> int:
        """Start the daemon detached; returns its PID. Output is appended to ``daemon.log``."""
        daemon.log.parent.mkdir(parents=True, exist_ok=True)
        daemon.pidfile.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if daemon.log.stat().st_size > _ROTATE_AT:
                os.replace(daemon.log, daemon.log.with_name(daemon.log.name + ".1"))
        argv = [daemon.program, *daemon.argv[1:]]
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", **daemon.env}
        read_end, write_end = os.pipe()
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the forked child
            try:
                os.close(read_end)
                os.setsid()
                grandchild = os.fork()
                if grandchild == 0:
                    # write_end is close-on-exec: the parent's read ends when exec has happened.
                    _exec(daemon, argv, env, keep=write_end)
                os.write(write_end, f"{grandchild}\n".encode())
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
        os.waitpid(child, 0)
        if not data:
            raise ComponentError(daemon.name, "could not be started", str(daemon.log))
        pid = int(data.split()[0])
        daemon.pidfile.write_text(f"{pid}\n")
        return pid

    def stop(self, daemon: Daemon, timeout: float = 5.0) -> bool:
        """SIGTERM, then SIGKILL after ``timeout``. True if something was running."""
        pid = self.pid(daemon)
        if pid is not None:
            terminate(pid, timeout)
        with contextlib.suppress(FileNotFoundError):
            daemon.pidfile.unlink()
        return pid is not None

    def kill(self, daemon: Daemon) -> None:
        """SIGKILL without ceremony (what the repair tests do)."""
        pid = self.pid(daemon)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 5.0)


def terminate(pid: int, timeout: float) -> None:
    """Ask ``pid`` to stop, and kill it if it has not after ``timeout`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(pid, timeout):
            os.kill(pid, signal.SIGKILL)
            _wait_gone(pid, 5.0)


def _exec(daemon: Daemon, argv: list[str], env: dict[str, str], keep: int) -> None:  # pragma: no cover
    log_fd = os.open(daemon.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.closerange(3, keep)
    os.closerange(keep + 1, 65536)
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    for sig in (signal.SIGPIPE, signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    try:
        if daemon.mount_namespace is not None:
            _enter_mount_namespace(daemon.mount_namespace)
    except OSError as exc:
        os.write(2, f"kubedojo: cannot enter {daemon.mount_namespace}: {exc}\n".encode())
        os._exit(127)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    os.write(1, f"--- {stamp} kubedojo starts {daemon.name}: {' '.join(argv)}\n".encode())
    try:
        os.execve(argv[0], argv, env)
    except OSError as exc:
        os.write(2, f"kubedojo: cannot exec {argv[0]}: {exc}\n".encode())
    os._exit(127)


def _enter_mount_namespace(path: Path) -> None:  # pragma: no cover - runs in the forked child
    """setns(2) into a mount namespace (os.setns only exists from Python 3.12)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, _CLONE_NEWNS) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, os.strerror(errno))
    finally:
        os.close(fd)


_CLONE_NEWNS = 0x00020000


def processes_in_cgroup(cgroup_dir: Path) -> Iterator[int]:
    """PIDs in a cgroup v1 directory and all its descendants."""
    if not cgroup_dir.is_dir():
        return
    for root, _dirs, files in os.walk(cgroup_dir):
        if "cgroup.procs" in files:
            with contextlib.suppress(OSError):
                for line in (Path(root) / "cgroup.procs").read_text().split():
                    yield int(line)


def processes_with_cmdline(*parts: bytes) -> set[int]:
    """PIDs whose command line contains every one of ``parts``."""
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmdline = (entry / "cmdline").read_bytes()
                if all(part in cmdline for part in parts):
                    found.add(int(entry.name))
    return found


def any_alive(pids: Path) -> bool:
    """Whether any pidfile in the directory ``pids`` names a live (not zombie) process."""
    for pidfile in pids.glob("*.pid"):
        pid = _read_pid(pidfile)
        if pid is not None and _state(pid) not in (None, "Z"):
            return True
    return False
