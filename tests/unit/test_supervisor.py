"""The supervisor's decisions (no processes: a table of pretend PIDs, a clock the test moves, and the
exits the test says happened). That it really restarts the cluster's components is
tests/cluster/test_supervisor.py."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kubedojo.client.processes import Daemon
from kubedojo.local.supervisor import (
    MAX_BACKOFF_SECONDS,
    Supervisor,
    backoff,
    read_restarts,
    read_supervised,
    write_supervised,
)


class Pretend:
    """PIDs by daemon name; ``start`` hands out the next PID."""

    def __init__(self, running: dict[str, int]) -> None:
        self.running = dict(running)
        self.started: list[str] = []
        self.next_pid = 1000

    def pid(self, daemon: Daemon) -> int | None:
        return self.running.get(daemon.name)

    def start(self, daemon: Daemon) -> int:
        self.next_pid += 1
        self.running[daemon.name] = self.next_pid
        self.started.append(daemon.name)
        return self.next_pid


class World:
    def __init__(self, tmp: Path, names: Iterable[str]) -> None:
        self.now = 0.0
        self.exits: list[set[int]] = []
        self.waits: list[float | None] = []
        self.lines: list[str] = []
        self.daemons = [Daemon(n, [f"/bin/{n}"], tmp / f"{n}.log", tmp / f"{n}.pid") for n in names]
        self.table = Pretend({d.name: 100 + i for i, d in enumerate(self.daemons)})
        self.supervisor = Supervisor(
            tmp, self.daemons, self.table, self.lines.append, self.clock, self.wait, self.sleep
        )

    def clock(self) -> float:
        return self.now

    def wait(self, pids: Iterable[int], timeout: float | None) -> set[int]:
        self.waits.append(timeout)
        if self.exits:
            ended = self.exits.pop(0) & set(pids)
            for name, pid in list(self.table.running.items()):
                if pid in ended:
                    del self.table.running[name]
            return ended
        self.now += timeout or 0.0
        return set()

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_backoff_doubles_up_to_a_minute() -> None:
    assert [backoff(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff(100) == MAX_BACKOFF_SECONDS


def test_a_component_that_ends_is_started_again_after_a_second_and_counted(tmp_path: Path) -> None:
    world = World(tmp_path, ["etcd", "kubelet"])
    world.now = 300.0  # both have run for minutes
    world.exits = [{101}]  # the kubelet ends
    world.supervisor.step()
    assert world.table.started == []  # not at once: after its back-off
    assert world.waits == [None]  # nothing was due: it waited for an exit, not a time
    world.supervisor.step()
    assert world.waits[-1] == 1.0
    assert world.table.started == ["kubelet"]
    assert read_restarts(tmp_path, "kubelet").count == 1
    assert read_restarts(tmp_path, "etcd").count == 0
    assert "kubelet ended after 300 s; starting it again in 1 s" in world.lines


def test_a_component_that_keeps_dying_waits_longer_each_time(tmp_path: Path) -> None:
    world = World(tmp_path, ["kube-apiserver"])
    delays = []
    for _ in range(4):
        pid = world.table.running["kube-apiserver"]
        world.now += 5.0  # dies five seconds after each start
        world.exits = [{pid}]
        world.supervisor.step()
        before = world.now
        world.supervisor.step()
        delays.append(world.now - before)
    assert delays == [1.0, 2.0, 4.0, 8.0]
    assert read_restarts(tmp_path, "kube-apiserver").count == 4


def test_a_component_that_ran_a_while_starts_its_back_off_over(tmp_path: Path) -> None:
    world = World(tmp_path, ["kwok"])
    for gap in (5.0, 5.0, 120.0):
        pid = world.table.running["kwok"]
        world.now += gap
        world.exits = [{pid}]
        world.supervisor.step()
        before = world.now
        world.supervisor.step()
        last = world.now - before
    assert last == 1.0


def test_one_found_not_running_is_started_too(tmp_path: Path) -> None:
    world = World(tmp_path, ["registry", "etcd"])
    del world.table.running["registry"]
    world.supervisor.step()  # found down: due in 1 s, waits at most that long for the others
    assert world.waits == [1.0]
    world.supervisor.step()
    assert world.table.started == ["registry"]


def test_what_to_supervise_is_written_and_read_back(tmp_path: Path) -> None:
    daemons = [
        Daemon("kubelet", ["/k/kubelet", "--v=1"], tmp_path / "k.log", tmp_path / "k.pid", {"A": "1"}),
        Daemon(
            "containerd",
            ["/usr/bin/containerd"],
            tmp_path / "c.log",
            tmp_path / "c.pid",
            {},
            tmp_path / "mnt",
        ),
    ]
    write_supervised(tmp_path, daemons)
    assert read_supervised(tmp_path) == daemons
