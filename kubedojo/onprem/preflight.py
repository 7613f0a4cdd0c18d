"""Preflight: what every machine must offer before kubespray runs, judged from what our read-only
playbook (``assets/preflight.yml``) saw on it.

Judging is a pure function of those observations (:func:`judge_host`), so it is unit-tested on
hand-written ones; the playbook is run for real against the test hosts. Each check has a name
(``reachable``, ``sudo``, ``os``, ``systemd``, ``cpu``, ``memory``, ``swap``, ``ports``,
``time-sync``, ``nfs-client``, ``gpu-driver``, ``address``, ``kernel``, ``nameserver``,
``packages``, ``bundle``); a site may list names under ``preflight.ignore`` to see them reported without
letting them stop ``cluster.up``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from .kubespray import version_tuple
from .site import PREFLIGHT_CHECKS, Node, Site
from .sitechecks import is_ip

__all__ = [
    "CHECKS",
    "CONTROL_PLANE_PORTS",
    "WORKER_PORTS",
    "CheckResult",
    "HostReport",
    "PreflightReport",
    "judge_host",
    "listening_ports",
    "observations",
    "required_ports",
]

Status = Literal["ok", "warn", "fail", "ignored", "n/a"]

CHECKS = PREFLIGHT_CHECKS

CONTROL_PLANE_PORTS = (6443, 2379, 2380, 10250, 10256, 10257, 10259)
"""kube-apiserver, etcd client and peer, kubelet, kube-proxy health, controller-manager, scheduler."""
WORKER_PORTS = (10250, 10256)
"""kubelet and kube-proxy health."""

MIN_MEMORY_MB = {"control-plane": 1500, "worker": 1024}
"""kubespray's ``minimal_master_memory_mb`` and ``minimal_node_memory_mb``."""
MIN_VCPUS = {"control-plane": 2, "worker": 1}
"""kubeadm refuses a control plane with fewer than 2 CPUs."""
MIN_KERNEL = {"nftables": "5.13", "cilium": "4.9.17"}
"""What kubespray asserts of the kernel for ``kube_proxy_mode: nftables`` and the cilium plugin
(roles/kubernetes/preinstall/tasks/0040-verify-settings.yml)."""
MAX_CLOCK_SKEW = 2.0
"""Seconds; etcd and certificate validity suffer beyond that."""

SUPPORTED_OS: Mapping[str, tuple[str, ...]] = {
    "Debian": ("11", "12", "13"),
    "Ubuntu": ("22.04", "24.04"),
    "RedHat": ("8", "9", "10"),
    "Rocky": ("8", "9", "10"),
    "AlmaLinux": ("8", "9", "10"),
    "OracleLinux": ("8", "9"),
    "CentOS": ("8", "9", "10"),
    "Fedora": ("41", "42"),
    "openSUSE Leap": ("15",),
    "Flatcar": ("",),
    "Amazon": ("2023",),
    "openEuler": ("",),
}
"""Distributions kubespray v2.31.0 supports (an empty version: any)."""


@dataclass(frozen=True)
class CheckResult:
    check: str
    status: Status
    detail: str = ""


@dataclass(frozen=True)
class HostReport:
    host: str
    address: str
    results: tuple[CheckResult, ...]

    def result(self, check: str) -> CheckResult:
        for result in self.results:
            if result.check == check:
                return result
        raise KeyError(check)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == "fail"]


@dataclass(frozen=True)
class PreflightReport:
    hosts: tuple[HostReport, ...]
    artifact_dir: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not any(h.failed for h in self.hosts)

    def failures(self) -> list[tuple[str, CheckResult]]:
        return [(h.host, r) for h in self.hosts for r in h.failed]

    def host(self, name: str) -> HostReport:
        for report in self.hosts:
            if report.host == name:
                return report
        raise KeyError(name)

    def summary(self) -> str:
        """One line: the first failure and how many more."""
        failures = self.failures()
        if not failures:
            return "every check passed"
        host, first = failures[0]
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        return f"{host}: {first.check}: {first.detail}{more}"


FACTS_TASK = "Gather facts"
SUDO_TASK = "Check sudo"
CLOCK_TASK = "Read the clock"
LOOK_TASK = "Look around"
BUNDLE_TASK = "Reach the bundle"
PLAYBOOK_TASKS = (FACTS_TASK, SUDO_TASK, CLOCK_TASK, LOOK_TASK, BUNDLE_TASK)
"""The preflight playbook's tasks whose results kubedojo reads (assets/preflight.yml)."""


def observations(results: Mapping[str, Mapping[str, Any] | None]) -> dict[str, Any] | None:
    """What the preflight playbook saw on one host, from its tasks' kept results (see
    :meth:`PlaybookProgress.result`), in the shape :func:`judge_host` reads; None if the facts are
    missing (the host stopped before its first task)."""
    facts_event = results.get(FACTS_TASK) or {}
    if facts_event.get("event") != "runner_on_ok":
        return None
    facts = (facts_event.get("res") or {}).get("ansible_facts") or {}
    sudo = results.get(SUDO_TASK) or {}
    sudo_res = sudo.get("res") or {}
    clock = (results.get(CLOCK_TASK) or {}).get("res") or {}
    look = (results.get(LOOK_TASK) or {}).get("res") or {}
    bundle = (results.get(BUNDLE_TASK) or {}).get("res") or {}
    said: dict[str, list[str]] = {}
    for line in [*str(look.get("stdout", "")).splitlines(), *str(bundle.get("stdout", "")).splitlines()]:
        key, sep, value = line.strip().partition("=")
        if sep:
            said.setdefault(key, []).append(value)

    def first(key: str) -> str:
        return said.get(key, [""])[0]

    return {
        "distribution": facts.get("ansible_distribution", ""),
        "distribution_version": facts.get("ansible_distribution_version", ""),
        "service_mgr": facts.get("ansible_service_mgr", ""),
        "vcpus": first("vcpus"),
        "memtotal_mb": int(first("memtotal_kb") or 0) // 1024,
        "swaptotal_mb": int(first("swaptotal_kb") or 0) // 1024,
        "sudo_ok": sudo.get("event") == "runner_on_ok" and str(sudo_res.get("stdout", "")).strip() == "0",
        "sudo_message": "" if sudo.get("event") == "runner_on_ok" else _sudo_message(sudo_res),
        "clock": str(clock.get("stdout", "")).strip(),
        "timesync": [f"timedatectl={v}" for v in said.get("timedatectl", [])]
        + [f"active={v}" for v in said.get("active", [])],
        "sockets": said.get("socket", []),
        "nfs": first("nfs"),
        "nvidia": said.get("nvidia", []),
        "kernel": first("kernel"),
        "addresses": said.get("address", []),
        "nameservers": said.get("nameserver", []),
        "packages": said.get("package", []),
        "bundle": {"files": first("files"), "registry": first("registry")},
    }


def _sudo_message(result: Mapping[str, Any]) -> str:
    from .events import result_message

    return result_message(result) if result else "sudo was not tried"


def required_ports(node: Node) -> tuple[int, ...]:
    ports = set(WORKER_PORTS)
    if node.is_control_plane or "etcd" in node.roles:
        ports.update(CONTROL_PLANE_PORTS)
    return tuple(sorted(ports))


def listening_ports(lines: Sequence[str]) -> set[int]:
    """TCP ports in LISTEN state, from the lines of /proc/net/tcp and /proc/net/tcp6."""
    ports = set()
    for line in lines:
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A" and ":" in fields[1]:
            try:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
            except ValueError:
                continue
    return ports


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _kind(node: Node) -> str:
    return "control-plane" if node.is_control_plane else "worker"


def _os(seen: Mapping[str, Any]) -> CheckResult:
    name = str(seen.get("distribution", ""))
    version = str(seen.get("distribution_version", ""))
    shown = f"{name} {version}".strip() or "unknown"
    versions = SUPPORTED_OS.get(name)
    if versions is None:
        return CheckResult("os", "fail", f"{shown} is not a distribution kubespray supports")
    if "" in versions or any(version == v or version.startswith(v + ".") for v in versions):
        return CheckResult("os", "ok", shown)
    return CheckResult("os", "fail", f"{shown}: kubespray supports {name} {', '.join(versions)}")


def _clock(seen: Mapping[str, Any], timing: Mapping[str, Any] | None) -> tuple[float | None, str]:
    """Host clock minus controller clock, from the clock task's start/end on the controller."""
    try:
        host_time = float(str(seen.get("clock", "")).strip())
        start = dt.datetime.fromisoformat(str((timing or {})["start"]))
        end = dt.datetime.fromisoformat(str((timing or {})["end"]))
    except (KeyError, TypeError, ValueError):
        return None, "the clock could not be read"
    middle = start + (end - start) / 2
    return host_time - middle.timestamp(), ""


def _time_sync(seen: Mapping[str, Any], timing: Mapping[str, Any] | None) -> CheckResult:
    skew, problem = _clock(seen, timing)
    if skew is None:
        return CheckResult("time-sync", "warn", problem)
    if abs(skew) > MAX_CLOCK_SKEW:
        return CheckResult(
            "time-sync", "fail", f"clock is {skew:+.1f} s off this machine's; etcd and TLS need them in step"
        )
    lines = [str(x) for x in seen.get("timesync") or []]
    active = [ln.split("=", 1)[1] for ln in lines if ln.startswith("active=")]
    synced = "timedatectl=yes" in lines
    if active or synced:
        return CheckResult(
            "time-sync", "ok", f"{', '.join(active) or 'NTP synchronised'}; skew {skew:+.2f} s"
        )
    return CheckResult(
        "time-sync", "warn", f"no time service runs (chrony, ntp, systemd-timesyncd); skew now {skew:+.2f} s"
    )


def judge_host(
    node: Node,
    site: Site,
    seen: Mapping[str, Any] | None,
    unreachable: str | None = None,
    clock_timing: Mapping[str, Any] | None = None,
) -> tuple[CheckResult, ...]:
    """Every check for one host from what the playbook saw there (``seen``: the report task's message)."""
    if unreachable is not None or seen is None:
        why = unreachable or "the preflight playbook did not finish on it"
        rest = (CheckResult(check, "n/a", "not reachable") for check in CHECKS[1:])
        return (CheckResult("reachable", "fail", why), *rest)
    kind = _kind(node)
    results = [CheckResult("reachable", "ok", f"ssh {site.ssh.user}@{node.address}")]
    if str(seen.get("sudo_ok")).lower() == "true":
        results.append(CheckResult("sudo", "ok", "become works without a password prompt"))
    else:
        message = str(seen.get("sudo_message") or "sudo failed")
        results.append(
            CheckResult("sudo", "fail", f"{message}; {site.ssh.user} needs passwordless sudo (NOPASSWD)")
        )
    results.append(_os(seen))
    manager = str(seen.get("service_mgr", ""))
    results.append(
        CheckResult("systemd", "ok", "systemd")
        if manager == "systemd"
        else CheckResult(
            "systemd", "fail", f"the init system is {manager or 'unknown'}; kubespray needs systemd"
        )
    )
    vcpus = int(_number(seen.get("vcpus")))
    results.append(
        CheckResult("cpu", "ok", f"{vcpus} vCPUs")
        if vcpus >= MIN_VCPUS[kind]
        else CheckResult("cpu", "fail", f"{vcpus} vCPUs; a {kind} node needs {MIN_VCPUS[kind]}")
    )
    memory = int(_number(seen.get("memtotal_mb")))
    results.append(
        CheckResult("memory", "ok", f"{memory} MB")
        if memory >= MIN_MEMORY_MB[kind]
        else CheckResult(
            "memory", "fail", f"{memory} MB; kubespray needs {MIN_MEMORY_MB[kind]} MB on a {kind} node"
        )
    )
    swap = int(_number(seen.get("swaptotal_mb")))
    results.append(
        CheckResult("swap", "ok", "off")
        if swap == 0
        else CheckResult(
            "swap", "fail", f"swap is on ({swap} MB); turn it off (swapoff -a, and in /etc/fstab)"
        )
    )
    taken = sorted(set(required_ports(node)) & listening_ports([str(x) for x in seen.get("sockets") or []]))
    results.append(
        CheckResult("ports", "ok", f"{len(required_ports(node))} ports free")
        if not taken
        else CheckResult("ports", "fail", f"port {', '.join(map(str, taken))} already in use")
    )
    results.append(_time_sync(seen, clock_timing))
    if str(seen.get("nfs", "")).strip():
        results.append(CheckResult("nfs-client", "ok", "mount.nfs present"))
    elif site.nfs_client:
        results.append(CheckResult("nfs-client", "ok", "not installed yet; cluster.up installs it"))
    else:
        results.append(
            CheckResult(
                "nfs-client", "warn", "no mount.nfs; the nfs-storage class cannot mount (nfs_client: false)"
            )
        )
    if not node.gpu:
        results.append(CheckResult("gpu-driver", "n/a", "no GPU flagged"))
    else:
        lines = [str(x) for x in seen.get("nvidia") or [] if str(x).strip()]
        if lines and lines[0].startswith("NVRM"):
            results.append(CheckResult("gpu-driver", "ok", lines[0][:80]))
        else:
            results.append(
                CheckResult(
                    "gpu-driver",
                    "fail",
                    "flagged gpu: true but no NVIDIA driver is loaded (/proc/driver/nvidia/version missing)",
                )
            )
    results += [_address(node, seen), _kernel(site, seen), _nameserver(site, seen)]
    results += [_packages(site, seen), _bundle(site, seen)]
    return tuple(results)


def _address(node: Node, seen: Mapping[str, Any]) -> CheckResult:
    """kubespray: "Stop if ip var does not match local ips" (when the inventory gives ``ip``)."""
    found = [str(a) for a in seen.get("addresses") or [] if str(a).strip()]
    if not is_ip(node.internal_ip):
        return CheckResult("address", "n/a", f"{node.internal_ip} is a name; kubespray uses the host's IP")
    if not found:
        return CheckResult("address", "warn", "the host's addresses could not be read")
    wanted = ipaddress.ip_address(node.internal_ip)
    if any(_same_address(wanted, a) for a in found):
        return CheckResult("address", "ok", f"{node.internal_ip} is on an interface")
    key = "ip" if node.ip else "address"
    return CheckResult(
        "address",
        "fail",
        f"'{key}' {node.internal_ip} is on none of its interfaces ({', '.join(found)}); kubespray would "
        f"stop (\"... do not contain '{node.internal_ip}'\"): give the address Kubernetes should use as 'ip'",
    )


def _same_address(wanted: ipaddress.IPv4Address | ipaddress.IPv6Address, found: str) -> bool:
    try:
        return ipaddress.ip_address(found.split("%")[0]) == wanted
    except ValueError:
        return False


def _kernel(site: Site, seen: Mapping[str, Any]) -> CheckResult:
    release = str(seen.get("kernel", "")).strip()
    if not release:
        return CheckResult("kernel", "warn", "the kernel version could not be read")
    version = release.split("-")[0]
    needs = []
    if site.network.proxy_mode == "nftables":
        needs.append(("proxy_mode nftables", MIN_KERNEL["nftables"], "use proxy_mode ipvs or iptables"))
    if site.network.plugin == "cilium":
        needs.append(("the cilium plugin", MIN_KERNEL["cilium"], "choose another plugin"))
    for what, minimum, instead in needs:
        if version_tuple(version) < version_tuple(minimum):
            return CheckResult(
                "kernel",
                "fail",
                f"kernel {release} is older than the {minimum} that {what} needs (kubespray stops); "
                f"upgrade the kernel or {instead}",
            )
    return CheckResult("kernel", "ok", release)


def _nameserver(site: Site, seen: Mapping[str, Any]) -> CheckResult:
    """kubespray: "nameserver should not be empty in /etc/resolv.conf", unless CoreDNS is told
    where to forward some other way."""
    variables = site.kubespray_vars
    found = [str(n) for n in seen.get("nameservers") or [] if str(n).strip()]
    if found:
        return CheckResult("nameserver", "ok", ", ".join(found))
    if (
        variables.get("upstream_dns_servers")
        or variables.get("disable_host_nameservers") is True
        or variables.get("dns_mode", "coredns") not in ("coredns", "coredns_dual")
    ):
        return CheckResult("nameserver", "ok", "none, and CoreDNS does not need one")
    return CheckResult(
        "nameserver",
        "fail",
        '/etc/resolv.conf names no nameserver, which kubespray stops on ("nameserver should not be empty '
        "in /etc/resolv.conf\"); add one, or set 'kubespray_vars.upstream_dns_servers'",
    )


KUBESPRAY_DEBIAN_PACKAGES = (
    "apparmor",
    "apt-transport-https",
    "bash-completion",
    "conntrack",
    "curl",
    "e2fsprogs",
    "ebtables",
    "gnupg",
    "iproute2",
    "iptables",
    "libseccomp2",
    "openssl",
    "python3-apt",
    "rsync",
    "socat",
    "software-properties-common",
    "tar",
    "unzip",
    "xfsprogs",
)
"""What kubespray v2.31.0 installs on every Debian or Ubuntu node (roles/system_packages/vars/main.yml);
:func:`node_packages` adds what depends on the site."""


def node_packages(site: Site, distribution: str, version: str) -> tuple[str, ...]:
    """What kubespray v2.31.0 installs on a Debian or Ubuntu node for this site, plus the NFS client
    kubedojo installs."""
    proxy = site.network.proxy_mode
    packages = [*KUBESPRAY_DEBIAN_PACKAGES, "ipvsadm" if proxy == "ipvs" else "ipset"]
    if site.kubespray_vars.get("ping_access_ip", True) is not False:
        packages.append("iputils-ping")
    if proxy == "nftables":
        packages.append("nftables")
    if distribution == "Debian" and version.split(".")[0] == "12":
        packages.append("mergerfs")
    if site.nfs_client:
        packages.append("nfs-common")
    return tuple(sorted(packages))


def _packages(site: Site, seen: Mapping[str, Any]) -> CheckResult:
    """An offline site skips kubespray's package installation (no mirror): its packages must be there."""
    if not site.offline.bundle:
        return CheckResult("packages", "n/a", "kubespray installs them")
    distribution = str(seen.get("distribution", ""))
    if distribution not in ("Debian", "Ubuntu"):
        return CheckResult(
            "packages", "warn", f"not checked on {distribution or 'this OS'} (Debian and Ubuntu only)"
        )
    installed = {str(p).strip() for p in seen.get("packages") or []}
    missing = [
        p
        for p in node_packages(site, distribution, str(seen.get("distribution_version", "")))
        if p not in installed
    ]
    if missing:
        return CheckResult(
            "packages",
            "fail",
            f"missing {', '.join(missing)}: an offline site cannot install them; install them before "
            "cluster.up (kubespray's package step is skipped without internet)",
        )
    return CheckResult("packages", "ok", "every package kubespray and kubedojo need")


def _bundle(site: Site, seen: Mapping[str, Any]) -> CheckResult:
    """An offline site's nodes must reach its files repository and registry (``invoke site.serve``)."""
    offline = site.offline
    if not offline.bundle:
        return CheckResult("bundle", "n/a", "the site downloads from the internet")
    answers = seen.get("bundle") or {}
    problems = [
        f"{what} {where} answers {answers.get(what) or 'nothing'}"
        for what, where in (("files", offline.files_repo), ("registry", site.registry.address))
        if str(answers.get(what, "")).strip() != "200"
    ]
    if problems:
        return CheckResult(
            "bundle",
            "fail",
            f"{'; '.join(problems)} (HTTP code; 000: unreachable): is 'invoke site.serve' running there?",
        )
    return CheckResult("bundle", "ok", f"{offline.files_repo} and {site.registry.address} answer")


def apply_ignores(results: tuple[CheckResult, ...], ignore: Sequence[str]) -> tuple[CheckResult, ...]:
    """Failures of ignored checks stay visible but no longer stop anything."""
    return tuple(
        replace(r, status="ignored", detail=f"{r.detail} (ignored by the site)")
        if r.check in ignore and r.status in ("fail", "warn")
        else r
        for r in results
    )
