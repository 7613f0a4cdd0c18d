"""The daemon table, with real processes (no cluster needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from kubedojo.client.processes import Daemon, ProcessTable, any_alive, processes_with_cmdline

SLEEP = shutil.which("sleep") or "/bin/sleep"


def _daemon(tmp_path: Path, argv: list[str] | None = None) -> Daemon:
    return Daemon("sleeper", argv or [SLEEP, "300"], tmp_path / "sleeper.log", tmp_path / "sleeper.pid")


def test_start_detaches_and_stop_terminates(tmp_path: Path) -> None:
    table = ProcessTable()
    daemon = _daemon(tmp_path)
    pid = table.start(daemon)
    try:
        assert table.pid(daemon) == pid
        assert int(daemon.pidfile.read_text()) == pid
        assert "kubedojo starts sleeper" in daemon.log.read_text()
        # Detached: another session than ours, and not a child of this process.
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        parent, session = int(fields[1]), int(fields[3])
        assert session != os.getsid(0)
        assert parent != os.getpid()
    finally:
        assert table.stop(daemon) is True
    assert not table.alive(daemon)
    assert not daemon.pidfile.exists()
    assert table.stop(daemon) is False


def test_sigkill_is_seen_as_dead(tmp_path: Path) -> None:
    table = ProcessTable()
    daemon = _daemon(tmp_path)
    table.start(daemon)
    table.kill(daemon)
    assert not table.alive(daemon)


def test_a_recycled_pid_running_another_program_is_not_the_daemon(tmp_path: Path) -> None:
    table = ProcessTable()
    other = subprocess.Popen(["/bin/sh", "-c", "sleep 300"])
    try:
        daemon = _daemon(tmp_path)
        daemon.pidfile.write_text(f"{other.pid}\n")
        assert table.pid(daemon) is None
    finally:
        other.kill()
        other.wait()


def test_program_that_cannot_start_reports_in_its_log(tmp_path: Path) -> None:
    table = ProcessTable()
    daemon = _daemon(tmp_path, [str(tmp_path / "missing-binary")])
    table.start(daemon)
    assert not table.alive(daemon)
    assert "cannot exec" in daemon.log.read_text()


def test_an_owner_whose_processes_are_gone_is_stale(tmp_path: Path) -> None:
    table = ProcessTable()
    daemon = _daemon(tmp_path)
    assert not any_alive(tmp_path)
    table.start(daemon)
    assert any_alive(tmp_path)
    table.kill(daemon)
    assert not any_alive(tmp_path)


def test_processes_are_found_by_their_command_line(tmp_path: Path) -> None:
    table = ProcessTable()
    daemon = _daemon(tmp_path, [SLEEP, "301"])
    pid = table.start(daemon)
    try:
        assert pid in processes_with_cmdline(daemon.program.encode(), b"301")
        assert pid not in processes_with_cmdline(daemon.program.encode(), b"302")
    finally:
        table.stop(daemon)
