"""Restarting the local cluster's components when they die, by themselves, with back-off.

The supervisor is its own process (``python -m kubedojo.local.supervisor STATE_DIR``). ``cluster.up``
stops it while it starts, restarts or reconfigures components, and starts it again when the
cluster is ready; ``cluster.down`` stops it first. In between, it waits on every component's
process through a pidfd (the kernel says when one ends: no polling) and starts a dead one again
exactly as ``up`` last started it (``<state>/pids/supervised.json``, written by ``up``).

Back-off: a component that dies within :data:`STEADY_SECONDS` of its start waits twice as long as
the time before (1 s, 2 s, 4 s … :data:`MAX_BACKOFF_SECONDS`) before it is started again; one that had
run longer is started again after 1 s. Every restart is counted in ``<state>/pids/<name>.restarts``,
which ``cluster.status`` shows; the supervisor's own log says when and why.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from ..client.processes import Daemon, wait_for_exit
from ..errors import KubedojoError
from ..files import write_atomic

__all__ = [
    "MAX_BACKOFF_SECONDS",
    "STEADY_SECONDS",
    "SUPERVISED_FILE",
    "Restarts",
    "Supervisor",
    "backoff",
    "read_restarts",
    "read_supervised",
    "supervisor_daemon",
    "write_supervised",
]

SUPERVISED_FILE = "supervised.json"
STEADY_SECONDS = 60.0
"""A component that ran this long before it died is not crash-looping: its back-off starts over."""
MAX_BACKOFF_SECONDS = 60.0


def backoff(failures: int) -> float:
    """Seconds to wait before the restart after ``failures`` quick deaths in a row (1 for the first)."""
    return float(min(MAX_BACKOFF_SECONDS, 2 ** max(0, failures - 1)))


def write_supervised(pids_dir: Path, daemons: Iterable[Daemon]) -> None:
    """What the supervisor keeps running: the daemons as ``up`` started them."""
    data = [
        {
            "name": d.name,
            "argv": list(d.argv),
            "log": str(d.log),
            "pidfile": str(d.pidfile),
            "env": dict(d.env),
            "mount_namespace": None if d.mount_namespace is None else str(d.mount_namespace),
        }
        for d in daemons
    ]
    write_atomic(pids_dir / SUPERVISED_FILE, json.dumps(data, indent=1) + "\n", mode=0o600)


def read_supervised(pids_dir: Path) -> list[Daemon]:
    try:
        data = json.loads((pids_dir / SUPERVISED_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise KubedojoError(
            f"{pids_dir / SUPERVISED_FILE}: cannot read it ({exc}): run 'invoke cluster.up'"
        ) from None
    return [
        Daemon(
            name=d["name"],
            argv=d["argv"],
            log=Path(d["log"]),
            pidfile=Path(d["pidfile"]),
            env=d.get("env") or {},
            mount_namespace=Path(d["mount_namespace"]) if d.get("mount_namespace") else None,
        )
        for d in data
    ]


@dataclass(frozen=True)
class Restarts:
    """How often the supervisor started a component again, and when it last did."""

    count: int = 0
    last: str = ""


def read_restarts(pids_dir: Path, name: str) -> Restarts:
    try:
        data = json.loads((pids_dir / f"{name}.restarts").read_text())
        return Restarts(int(data["count"]), str(data["last"]))
    except (OSError, ValueError, KeyError, TypeError):
        return Restarts()


class _Processes(Protocol):
    def pid(self, daemon: Daemon) -> int | None: ...

    def start(self, daemon: Daemon) -> int: ...


@dataclass
class _Track:
    daemon: Daemon
    started: float
    failures: int = 0
    due: float | None = None
    """When to start it again (``time.monotonic()``), while it is down."""


class Supervisor:
    """Keeps ``daemons`` running (see the module's notes). ``log`` receives one line per event."""

    def __init__(
        self,
        pids_dir: Path,
        daemons: list[Daemon],
        processes: _Processes,
        log: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[Iterable[int], float | None], set[int]] = wait_for_exit,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.pids_dir = pids_dir
        self.processes = processes
        self.log = log
        self.clock = clock
        self.wait = wait
        self.sleep = sleep
        now = clock()
        self.tracks = [_Track(d, now) for d in daemons]

    def step(self, wait_limit: float | None = None) -> None:
        """Wait until a component ends or a restart is due (at most ``wait_limit`` seconds), then
        start again what is due."""
        running: dict[int, _Track] = {}
        for track in self.tracks:
            if track.due is not None:
                continue
            pid = self.processes.pid(track.daemon)
            if pid is None:
                self._died(track, "is not running")
            else:
                running[pid] = track
        due = [t.due for t in self.tracks if t.due is not None]
        timeout = max(0.0, min(due) - self.clock()) if due else None
        if wait_limit is not None:
            timeout = wait_limit if timeout is None else min(timeout, wait_limit)
        if running:
            for pid in self.wait(running, timeout):
                self._died(running[pid], "ended")
        elif timeout is not None:
            self.sleep(timeout)
        now = self.clock()
        for track in self.tracks:
            if track.due is not None and track.due <= now:
                self._restart(track)

    def _died(self, track: _Track, how: str) -> None:
        ran = self.clock() - track.started
        track.failures = track.failures + 1 if ran < STEADY_SECONDS else 1
        delay = backoff(track.failures)
        track.due = self.clock() + delay
        self.log(f"{track.daemon.name} {how} after {ran:.0f} s; starting it again in {delay:.0f} s")

    def _restart(self, track: _Track) -> None:
        track.due = None
        track.started = self.clock()
        try:
            pid = self.processes.start(track.daemon)
        except KubedojoError as exc:
            self._died(track, f"could not be started ({exc})")
            return
        previous = read_restarts(self.pids_dir, track.daemon.name)
        record = {"count": previous.count + 1, "last": datetime.now(UTC).isoformat(timespec="seconds")}
        write_atomic(self.pids_dir / f"{track.daemon.name}.restarts", json.dumps(record) + "\n")
        self.log(f"{track.daemon.name} started again (pid {pid}, restart {record['count']})")


def main(argv: list[str]) -> int:  # pragma: no cover - the supervisor process itself
    from ..client.processes import ProcessTable

    pids_dir = Path(argv[1])

    def log(line: str) -> None:
        print(f"{datetime.now(UTC).isoformat(timespec='seconds')} {line}", flush=True)

    supervisor = Supervisor(pids_dir, read_supervised(pids_dir), ProcessTable(), log)
    log(f"supervising {', '.join(t.daemon.name for t in supervisor.tracks)}")
    while True:
        supervisor.step()


def supervisor_daemon(pids_dir: Path, logs_dir: Path) -> Daemon:
    """How ``up`` runs the supervisor: this module, with this Python, on ``pids_dir``."""
    return Daemon(
        name="supervisor",
        argv=[sys.executable, "-m", "kubedojo.local.supervisor", str(pids_dir)],
        log=logs_dir / "supervisor.log",
        pidfile=pids_dir / "supervisor.pid",
        env=_python_env(),
    )


def _python_env() -> dict[str, str]:
    """The import path this process has, so the supervisor imports the same kubedojo."""
    root = str(Path(__file__).resolve().parents[2])
    return {"PYTHONPATH": root}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main(sys.argv))
