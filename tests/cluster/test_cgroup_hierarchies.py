"""A cgroup v1 hierarchy mounted only inside another mount namespace (systemd in a container mounts
one for every controller it knows) hides pods' cgroups from containerd, and pods killed for memory
lose their OOMKilled. ``cluster.status`` and ``cluster.up`` say so while it lasts, and not after."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kubedojo.local.provider import LocalCluster

HIERARCHY = "kubedojo-test"
"""A named hierarchy with no controllers: it can be made on any machine, and is gone with its mount."""


@contextmanager
def hierarchy_mounted_elsewhere(mount_point: Path) -> Iterator[None]:
    mount_point.mkdir()
    holder = subprocess.Popen(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            f"mount -t cgroup -o none,name={HIERARCHY} cgroup {mount_point} && echo ready && exec sleep 600",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        yield
    finally:
        holder.kill()
        holder.wait()


def listed(name: str) -> bool:
    return f":name={name}:" in Path("/proc/self/cgroup").read_text()


def test_status_and_up_warn_while_a_hierarchy_is_mounted_only_elsewhere(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    assert cluster.status().warnings == []

    with hierarchy_mounted_elsewhere(tmp_path / "cgroup"):
        assert listed(HIERARCHY)
        status = cluster.status()
        assert status.healthy
        assert len(status.warnings) == 1, status.warnings
        assert f"name={HIERARCHY}" in status.warnings[0] and "OOMKilled" in status.warnings[0]
        assert cluster.up().warnings == status.warnings

    deadline = time.monotonic() + 10  # the kernel drops the hierarchy once its namespace is gone
    while listed(HIERARCHY) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not listed(HIERARCHY)
    assert cluster.status().warnings == []
