"""``cluster.down`` leaves nothing behind: no process, mount, network namespace, bridge or veth,
route, iptables or nftables rule, cgroup, runtime directory or changed sysctl."""

from __future__ import annotations

import pytest

from kubedojo.local.provider import LocalCluster

from .hostsnapshot import HostSnapshot


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
