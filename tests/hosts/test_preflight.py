"""Preflight, for real, over SSH: every finding is named by host and check."""

from __future__ import annotations

import time

from kubedojo.onprem.preflight import CHECKS

from .testhosts import TestHosts


def test_a_healthy_site_passes_every_check_that_matters(make_site, onprem) -> None:
    site = onprem(
        make_site({"cp1": {"roles": ["control-plane", "etcd", "worker"]}, "node1": {}, "node2": {}})
    )
    report = site.preflight()
    assert report.ok, report.summary()
    assert [h.host for h in report.hosts] == ["cp1", "node1", "node2"]
    for host in report.hosts:
        assert [r.check for r in host.results] == list(CHECKS)
        for check in ("reachable", "sudo", "os", "systemd", "cpu", "memory", "swap", "ports", "nfs-client"):
            assert host.result(check).status == "ok", (host.host, host.result(check))
        assert host.result("os").detail.startswith("Debian 12")
        assert host.result("gpu-driver").status == "n/a"
        # The test hosts share this machine's clock but run no time service: a warning, not a failure.
        assert host.result("time-sync").status == "warn"
        assert "skew" in host.result("time-sync").detail
    assert report.artifact_dir and (site.site_dir / "runs").is_dir()


def test_swap_a_taken_port_no_sudo_no_gpu_driver_and_an_unreachable_host_are_each_named(
    make_site, onprem, test_hosts: TestHosts
) -> None:
    test_hosts.hosts["node2"].sh("nohup python3 -m http.server 10250 >/dev/null 2>&1 &")
    test_hosts.hosts["node2"].sh(
        "for i in $(seq 50); do grep -q ':280A ' /proc/net/tcp* && exit 0; sleep 0.1; done"
    )
    resolv = test_hosts.hosts["node3"].root / "etc/resolv.conf"
    kept = resolv.read_text()
    resolv.write_text("# no nameserver\nsearch example.org\n")
    site = onprem(
        make_site(
            {
                "cp1": {"roles": ["control-plane", "etcd", "worker"]},
                "node1": {"gpu": True},
                "node2": {},
                # An internal address that is on none of its interfaces (a NAT address, say).
                "node3": {"ip": "10.199.0.99"},
                "swapper": {},
                "nosudo": {},
                "ghost": {},
            }
        )
    )
    started = time.monotonic()
    try:
        report = site.preflight()
    finally:
        resolv.write_text(kept)
    assert time.monotonic() - started < 120
    assert not report.ok

    def status(host: str, check: str) -> tuple[str, str]:
        result = report.host(host).result(check)
        return result.status, result.detail

    assert status("swapper", "swap")[0] == "fail"
    assert "swap is on (512 MB)" in status("swapper", "swap")[1]
    assert status("node2", "ports") == ("fail", "port 10250 already in use")
    assert status("nosudo", "sudo")[0] == "fail"
    assert "password" in status("nosudo", "sudo")[1]
    assert status("node1", "gpu-driver")[0] == "fail"
    assert "NVIDIA driver" in status("node1", "gpu-driver")[1]
    assert status("ghost", "reachable")[0] == "fail"
    assert "10.199.0.210" in status("ghost", "reachable")[1]
    assert {r.status for r in report.host("ghost").results[1:]} == {"n/a"}
    assert status("node3", "address")[0] == "fail"
    assert "'ip' 10.199.0.99 is on none of its interfaces (10.199.0.14)" in status("node3", "address")[1]
    assert status("node3", "nameserver")[0] == "fail"
    assert status("cp1", "nameserver") == ("ok", "10.199.0.1")
    assert status("cp1", "address") == ("ok", "10.199.0.11 is on an interface")
    assert status("cp1", "kernel")[0] == "ok"
    # Each problem stays on its own host: the others pass what these failed.
    assert status("cp1", "swap")[0] == "ok"
    assert status("cp1", "ports")[0] == "ok"
    assert status("swapper", "sudo")[0] == "ok"
    assert status("node2", "gpu-driver")[0] == "n/a"
    failed = {(host, result.check) for host, result in report.failures()}
    assert failed == {
        ("node1", "gpu-driver"),
        ("node2", "ports"),
        ("swapper", "swap"),
        ("nosudo", "sudo"),
        ("node3", "address"),
        ("node3", "nameserver"),
        ("ghost", "reachable"),
    }


def test_ignored_checks_are_reported_but_do_not_fail(make_site, onprem) -> None:
    site = onprem(
        make_site(
            {"cp1": {"roles": ["control-plane", "etcd", "worker"]}, "swapper": {}},
            preflight={"ignore": ["swap"]},
        )
    )
    report = site.preflight()
    assert report.ok
    result = report.host("swapper").result("swap")
    assert result.status == "ignored"
    assert "swap is on" in result.detail and "ignored by the site" in result.detail


def test_preflight_changes_nothing_on_the_hosts(make_site, onprem, test_hosts: TestHosts) -> None:
    def fingerprint() -> str:
        return (
            test_hosts.hosts["cp1"]
            .sh("find /etc /usr /opt -xdev -newer /etc/hostname -type f 2>/dev/null | sort")
            .stdout
        )

    before = fingerprint()
    site = onprem(make_site({"cp1": {"roles": ["control-plane", "etcd", "worker"]}}))
    assert site.preflight().ok
    assert fingerprint() == before
