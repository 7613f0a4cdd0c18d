"""Judging preflight observations (hand-written ones; the playbook runs for real in tests/hosts)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from kubedojo.onprem.preflight import (
    CHECKS,
    CheckResult,
    HostReport,
    PreflightReport,
    apply_ignores,
    judge_host,
    listening_ports,
    required_ports,
)
from kubedojo.onprem.site import Site, parse_site

SITE = parse_site(
    {
        "nodes": [
            {"name": "cp1", "address": "10.0.0.1", "roles": ["control-plane", "etcd", "worker"]},
            {"name": "w1", "address": "10.0.0.2"},
            {"name": "g1", "address": "10.0.0.3", "gpu": True},
        ]
    },
    "site.yaml",
)
NOW = dt.datetime(2026, 11, 23, 9, 0, 0, tzinfo=dt.UTC)
CLOCK = {"start": NOW.isoformat(), "end": (NOW + dt.timedelta(seconds=0.2)).isoformat()}


def seen(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "distribution": "Ubuntu",
        "distribution_version": "24.04",
        "service_mgr": "systemd",
        "vcpus": "4",
        "memtotal_mb": "8000",
        "swaptotal_mb": "0",
        "sudo_ok": "True",
        "sudo_message": "",
        "clock": f"{NOW.timestamp() + 0.1:.3f}",
        "timesync": ["timedatectl=yes", "active=chrony"],
        "sockets": [],
        "nfs": "/usr/sbin/mount.nfs",
        "nvidia": [],
        "kernel": "6.8.0-45-generic",
        "addresses": ["192.168.122.5", "fe80::1"],
        "nameservers": ["192.168.122.1"],
    }
    base.update(changes)
    return base


def judged(node: str, site: Site = SITE, **changes: Any) -> dict[str, CheckResult]:
    changes.setdefault("addresses", [site.node(node).internal_ip, "fe80::1"])
    results = judge_host(site.node(node), site, seen(**changes), None, CLOCK)
    assert [r.check for r in results] == list(CHECKS)
    return {r.check: r for r in results}


def test_a_good_host_passes() -> None:
    results = judged("cp1")
    assert {c: r.status for c, r in results.items()} == {
        **dict.fromkeys(CHECKS, "ok"),
        "gpu-driver": "n/a",
        "packages": "n/a",  # kubespray installs them: the site downloads
        "bundle": "n/a",
    }
    assert results["time-sync"].detail == "chrony; skew +0.00 s"


@pytest.mark.parametrize(
    ("node", "changes", "check", "detail"),
    [
        (
            "cp1",
            {"sudo_ok": "False", "sudo_message": "Missing sudo password"},
            "sudo",
            "Missing sudo password",
        ),
        ("cp1", {"distribution": "Gentoo", "distribution_version": "2.17"}, "os", "Gentoo 2.17 is not"),
        (
            "cp1",
            {"distribution": "Ubuntu", "distribution_version": "20.04"},
            "os",
            "Ubuntu 20.04: kubespray supports",
        ),
        ("cp1", {"service_mgr": "sysvinit"}, "systemd", "the init system is sysvinit"),
        ("cp1", {"vcpus": "1"}, "cpu", "1 vCPUs; a control-plane node needs 2"),
        (
            "cp1",
            {"memtotal_mb": "1400"},
            "memory",
            "1400 MB; kubespray needs 1500 MB on a control-plane node",
        ),
        ("w1", {"memtotal_mb": "1000"}, "memory", "1000 MB; kubespray needs 1024 MB on a worker node"),
        ("w1", {"swaptotal_mb": "2048"}, "swap", "swap is on (2048 MB)"),
        ("cp1", {"clock": f"{NOW.timestamp() + 30:.3f}"}, "time-sync", "clock is +29.9 s off"),
        ("g1", {"nvidia": []}, "gpu-driver", "flagged gpu: true but no NVIDIA driver"),
    ],
)
def test_each_problem_fails_its_own_check(
    node: str, changes: dict[str, Any], check: str, detail: str
) -> None:
    results = judged(node, **changes)
    assert results[check].status == "fail"
    assert detail in results[check].detail
    others = {c for c, r in results.items() if r.status == "fail"}
    assert others == {check}


def test_the_lower_bounds_pass_exactly() -> None:
    assert judged("w1", memtotal_mb="1024", vcpus="1")["memory"].status == "ok"
    assert judged("cp1", memtotal_mb="1500", vcpus="2")["cpu"].status == "ok"
    assert judged("cp1", distribution="Debian", distribution_version="12.8")["os"].detail == "Debian 12.8"
    assert judged("cp1", distribution="Flatcar", distribution_version="4152.2.1")["os"].status == "ok"


def test_ports_in_use_come_from_proc_net_tcp() -> None:
    lines = [
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
        "   0: 00000000:280A 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1",
        "   1: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2",
        "   2: 0B00000A:0016 0200000A:C350 01 00000000:00000000 02:000A7B3A 00000000     0        0 3",
        "   0: 00000000000000000000000000000000:192B 00000000000000000000000000000000:0000 0A 0 0 0",
    ]
    assert listening_ports(lines) == {10250, 8000, 6443}  # the ESTABLISHED :22 does not count
    results = judged("cp1", sockets=lines)
    assert results["ports"].detail == "port 6443, 10250 already in use"
    assert required_ports(SITE.node("w1")) == (10250, 10256)
    assert 2379 in required_ports(SITE.node("cp1"))


def test_time_service_missing_is_a_warning_and_an_unread_clock_too() -> None:
    assert judged("cp1", timesync=[])["time-sync"].status == "warn"
    results = judge_host(SITE.node("cp1"), SITE, seen(), None, None)
    assert results[CHECKS.index("time-sync")] == CheckResult(
        "time-sync", "warn", "the clock could not be read"
    )


def test_nfs_client_missing_is_fine_when_kubedojo_installs_it() -> None:
    assert judged("w1", nfs="")["nfs-client"] == CheckResult(
        "nfs-client", "ok", "not installed yet; cluster.up installs it"
    )
    without = parse_site(
        {
            "nodes": [{"name": "cp1", "address": "10.0.0.1", "roles": ["control-plane", "worker"]}],
            "nfs_client": False,
        },
        "s",
    )
    result = judge_host(without.nodes[0], without, seen(nfs=""), None, CLOCK)[CHECKS.index("nfs-client")]
    assert result.status == "warn"


def test_a_gpu_node_with_a_driver_passes() -> None:
    line = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.95.05  Tue Sep 23 2025"
    assert judged("g1", nvidia=[line, "GPU 0: NVIDIA A100"])["gpu-driver"].status == "ok"


def test_an_unreachable_host_fails_once_and_the_rest_is_not_applicable() -> None:
    results = judge_host(SITE.node("w1"), SITE, None, "ssh: connect to host 10.0.0.2 port 22: No route", None)
    assert results[0] == CheckResult("reachable", "fail", "ssh: connect to host 10.0.0.2 port 22: No route")
    assert {r.status for r in results[1:]} == {"n/a"}


def test_ignores_keep_the_finding_visible() -> None:
    results = judge_host(SITE.node("w1"), SITE, seen(swaptotal_mb="10", addresses=["10.0.0.2"]), None, CLOCK)
    ignored = apply_ignores(results, ["swap"])
    swap = ignored[CHECKS.index("swap")]
    assert swap.status == "ignored" and "swap is on (10 MB)" in swap.detail
    report = PreflightReport((HostReport("w1", "10.0.0.2", ignored),))
    assert report.ok and report.summary() == "every check passed"
    failing = PreflightReport((HostReport("w1", "10.0.0.2", results), HostReport("w2", "x", results)))
    assert not failing.ok
    assert (
        failing.summary()
        == "w1: swap: swap is on (10 MB); turn it off (swapoff -a, and in /etc/fstab) (and 1 more)"
    )


def test_observations_are_read_from_the_playbooks_task_results() -> None:
    from kubedojo.onprem.preflight import observations

    look = "\n".join(
        [
            "vcpus=8",
            "memtotal_kb=16318812",
            "swaptotal_kb=0",
            "active=chrony",
            "nfs=/usr/sbin/mount.nfs",
            "kernel=6.1.0-28-amd64",
            "address=10.0.0.1",
            "address=fd00::1",
            "nameserver=10.0.0.254",
            "socket=  sl  local_address rem_address   st",
            "socket=   0: 00000000:192B 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 1",
        ]
    )
    kept: dict[str, Any] = {
        "Gather facts": {
            "event": "runner_on_ok",
            "res": {
                "ansible_facts": {
                    "ansible_distribution": "Debian",
                    "ansible_distribution_version": "12.8",
                    "ansible_service_mgr": "systemd",
                }
            },
        },
        "Check sudo": {"event": "runner_on_failed", "res": {"msg": "Missing sudo password"}},
        "Read the clock": {"event": "runner_on_ok", "res": {"stdout": "1795424400.100\r\n"}},
        "Look around": {"event": "runner_on_ok", "res": {"stdout": look}},
    }
    seen = observations(kept)
    assert seen is not None
    assert seen["memtotal_mb"] == 15936 and seen["swaptotal_mb"] == 0 and seen["vcpus"] == "8"
    assert seen["sudo_ok"] is False and seen["sudo_message"] == "Missing sudo password"
    assert seen["clock"] == "1795424400.100"
    results = {r.check: r for r in judge_host(SITE.node("cp1"), SITE, seen, None, CLOCK)}
    assert results["ports"].detail == "port 6443 already in use"
    assert results["sudo"].status == "fail" and results["os"].detail == "Debian 12.8"
    assert results["time-sync"].detail.startswith("chrony;")
    assert results["kernel"].detail == "6.1.0-28-amd64" and results["address"].status == "ok"
    assert results["nameserver"].detail == "10.0.0.254"
    assert observations({**kept, "Gather facts": {"event": "runner_on_failed", "res": {}}}) is None


def _site(**keys: Any) -> Site:
    node = {"name": "cp1", "address": "10.0.0.1", "roles": ["control-plane", "etcd", "worker"]}
    return parse_site({"nodes": [node], **keys}, "site.yaml")


def test_an_ip_on_none_of_the_hosts_interfaces_fails_as_kubespray_would() -> None:
    natted = parse_site(
        {
            "nodes": [
                {"name": "cp1", "address": "10.0.0.1", "roles": ["control-plane", "etcd", "worker"]},
                {"name": "w1", "address": "10.0.0.2", "ip": "172.16.0.2"},
            ]
        },
        "site.yaml",
    )
    result = judged("w1", natted, addresses=["10.0.0.2", "fe80::5054:ff:fe12:3456"])["address"]
    assert result == CheckResult(
        "address",
        "fail",
        "'ip' 172.16.0.2 is on none of its interfaces (10.0.0.2, fe80::5054:ff:fe12:3456); kubespray would "
        "stop (\"... do not contain '172.16.0.2'\"): give the address Kubernetes should use as 'ip'",
    )
    assert judged("w1", natted, addresses=["172.16.0.2"])["address"].status == "ok"
    assert judged("w1", natted, addresses=[])["address"].status == "warn"


@pytest.mark.parametrize(
    ("keys", "kernel", "status", "detail"),
    [
        (
            {"network": {"proxy_mode": "nftables"}},
            "5.10.0-32-amd64",
            "fail",
            "kernel 5.10.0-32-amd64 is older than the 5.13 that proxy_mode nftables needs",
        ),
        ({"network": {"proxy_mode": "nftables"}}, "5.13.0", "ok", "5.13.0"),
        ({"network": {"proxy_mode": "ipvs"}}, "5.10.0-32-amd64", "ok", "5.10.0-32-amd64"),
        (
            {"network": {"plugin": "cilium"}},
            "4.9.0",
            "fail",
            "kernel 4.9.0 is older than the 4.9.17 that the cilium plugin needs",
        ),
        ({}, "", "warn", "the kernel version could not be read"),
    ],
)
def test_the_kernel_is_new_enough_for_the_sites_choices(
    keys: dict[str, Any], kernel: str, status: str, detail: str
) -> None:
    result = judged("cp1", _site(**keys), kernel=kernel)["kernel"]
    assert result.status == status and result.detail.startswith(detail), result


def test_no_nameserver_fails_unless_coredns_has_another_way() -> None:
    result = judged("cp1", nameservers=[])["nameserver"]
    assert result.status == "fail"
    assert '("nameserver should not be empty in /etc/resolv.conf")' in result.detail
    for variables in (
        {"upstream_dns_servers": ["10.0.0.53"]},
        {"disable_host_nameservers": True},
        {"dns_mode": "manual"},
    ):
        assert judged("cp1", _site(kubespray_vars=variables), nameservers=[])["nameserver"].status == "ok"


def test_an_offline_site_needs_kubesprays_packages_on_the_machines(tmp_path: Path) -> None:
    from kubedojo.onprem.preflight import node_packages

    (tmp_path / "bundle").mkdir()
    offline = parse_site(
        {
            "nodes": [{"name": "cp1", "address": "10.0.0.1", "roles": ["control-plane", "etcd", "worker"]}],
            "network": {"plugin": "flannel", "proxy_mode": "iptables"},
            "registry": {"address": "10.0.0.5:5000"},
            "offline": {"bundle": "bundle", "files_repo": "http://10.0.0.5:8080"},
        },
        "site.yaml",
        None,
    )
    wanted = node_packages(offline, "Debian", "12.8")
    assert "ipset" in wanted and "ipvsadm" not in wanted and "mergerfs" in wanted and "nfs-common" in wanted
    facts = {"distribution": "Debian", "distribution_version": "12.8"}
    assert judged("cp1", offline, packages=list(wanted), **facts)["packages"].status == "ok"
    result = judged("cp1", offline, packages=[p for p in wanted if p not in ("socat", "mergerfs")], **facts)
    assert result["packages"].status == "fail"
    assert result["packages"].detail.startswith(
        "missing mergerfs, socat: an offline site cannot install them"
    )
    assert (
        judged("cp1", offline, distribution="Rocky", distribution_version="9.4")["packages"].status == "warn"
    )
