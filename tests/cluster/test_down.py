"""``cluster.down`` leaves nothing behind: no process, mount, network namespace, bridge or veth,
route, iptables or nftables rule, cgroup, runtime directory or changed sysctl — also after every
process of the cluster died at once, which leaves the kernel's side of it in place."""

from __future__ import annotations

import pytest

from kubedojo.client.kube import KubeClient
from kubedojo.local.provider import LocalCluster

from .conftest import SIM_NODES
from .helpers import crash, is_true, job, wait_job_finished
from .hostsnapshot import HostSnapshot


@pytest.mark.disruptive
@pytest.mark.final
def test_up_brings_back_a_cluster_whose_processes_all_died(
    cluster: LocalCluster, admin: KubeClient, namespace: str
) -> None:
    crash(cluster)
    assert all(c.pid is None for c in cluster.status().components)

    report = cluster.up(SIM_NODES)

    assert ("kube-apiserver", "restarted") in report.actions
    status = cluster.status()
    assert status.healthy, [c for c in status.components if not c.healthy]
    admin.create(
        job("after-crash", cluster.image_ref("base"), ["python3", "-c", "print('alive')"]), namespace
    )
    assert is_true(wait_job_finished(admin, namespace, "after-crash", timeout=120), "Complete")


@pytest.mark.disruptive
@pytest.mark.final
def test_down_leaves_nothing_behind(cluster: LocalCluster, host_baseline: HostSnapshot) -> None:
    running = HostSnapshot.take()
    assert running.differences(host_baseline), "the running cluster should differ from the baseline"

    undone = cluster.down()

    assert "kube-apiserver" in undone and "mount namespace" in undone
    after = HostSnapshot.take()
    differences = after.differences(host_baseline)
    assert differences == {}, differences
    # A second down has nothing left to do.
    assert cluster.down() == []


@pytest.mark.disruptive
@pytest.mark.final
def test_down_after_every_process_died_leaves_nothing_behind(
    cluster: LocalCluster, host_baseline: HostSnapshot
) -> None:
    cluster.up(SIM_NODES)
    crash(cluster)
    left = HostSnapshot.take().differences(host_baseline)
    assert not left.get("processes") and left.get("links"), left  # only the kernel's side is left

    undone = cluster.down()

    assert "mount namespace" in undone and "bridge kdojo0" in undone
    differences = HostSnapshot.take().differences(host_baseline)
    assert differences == {}, differences
    # Purging removes the state directory once, and then there is nothing left to report.
    assert f"state directory {cluster.state.root}" in cluster.down(purge=True)
    assert cluster.down(purge=True) == []
