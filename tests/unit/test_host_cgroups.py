"""Finding cgroup v1 hierarchies that exist but are mounted nowhere this mount namespace sees."""

from __future__ import annotations

from pathlib import Path

from kubedojo.client.host import Host

# Taken from a machine whose test-host containers (systemd inside) were running: the kernel lists
# hierarchies 293-296 for every process, but the host mounted none of them.
MOUNTINFO = """\
30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec shared:9 - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/cpuacct rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,cpuacct
33 30 0:29 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory
34 30 0:30 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,pids
35 30 0:31 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,xattr,name=systemd
36 30 0:32 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:15 - cgroup2 cgroup2 rw,nsdelegate
"""
CGROUP_WITH_EXTRA = """\
296:hugetlb:/
295:perf_event:/
293:net_cls,net_prio:/
9:name=systemd:/
8:pids:/
4:memory:/user/1
2:cpuacct:/
1:cpu:/
0::/
"""


def host_with(tmp_path: Path, mountinfo: str, cgroup: str) -> Host:
    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "mountinfo").write_text(mountinfo)
    (tmp_path / "self" / "cgroup").write_text(cgroup)
    return Host(proc=tmp_path)


def test_hierarchies_mounted_elsewhere_are_found(tmp_path: Path) -> None:
    host = host_with(tmp_path, MOUNTINFO, CGROUP_WITH_EXTRA)
    assert host.unmounted_cgroup_hierarchies() == ["hugetlb", "perf_event", "net_cls,net_prio"]


def test_a_machine_with_every_hierarchy_mounted_has_none(tmp_path: Path) -> None:
    ordinary = "\n".join(line for line in CGROUP_WITH_EXTRA.splitlines() if not line.startswith("29"))
    assert host_with(tmp_path, MOUNTINFO, ordinary + "\n").unmounted_cgroup_hierarchies() == []


def test_controllers_mounted_together_count_as_mounted(tmp_path: Path) -> None:
    joint = MOUNTINFO + (
        "40 30 0:40 / /sys/fs/cgroup/net_cls,net_prio rw,relatime shared:20 - cgroup cgroup rw,net_cls,net_prio\n"
        "41 30 0:41 / /sys/fs/cgroup/hugetlb rw,relatime shared:21 - cgroup cgroup rw,hugetlb\n"
    )
    assert host_with(tmp_path, joint, CGROUP_WITH_EXTRA).unmounted_cgroup_hierarchies() == ["perf_event"]
