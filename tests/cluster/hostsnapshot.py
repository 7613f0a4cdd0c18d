"""What the host looks like, for "nothing left behind" comparisons: every kind of leftover the local
cluster could leave (processes, mounts, network namespaces, links, routes, firewall rules, cgroups,
runtime directories, sysctls)."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, fields
from pathlib import Path

from kubedojo.local.hostsetup import COMPONENT_SYSCTLS, SYSCTLS

CLUSTER_PROGRAMS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kube-network-policies",
    "kwok",
    "etcd",
    "containerd",
    "containerd-shim-runc-v2",
    "docker-registry",
    "runc",
    "pause",
    "coredns",
)
RUNTIME_DIRS = (
    "/run/kubedojo",
    "/run/containerd",
    "/run/netns",
    "/var/lib/cni",
    "/var/log/containers",
    "/var/log/pods",
    "/var/lib/kubelet",
    "/etc/cni/net.d",
)


def _run(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def _rules(tool: str) -> tuple[str, ...]:
    lines = []
    for line in _run(tool).splitlines():
        if line.startswith("#"):
            continue
        lines.append(re.sub(r" \[\d+:\d+\]$", "", line))
    return tuple(lines)


@dataclass(frozen=True)
class HostSnapshot:
    processes: frozenset[str]
    mounts: frozenset[str]
    netns: frozenset[str]
    links: frozenset[str]
    routes: tuple[str, ...]
    iptables: tuple[str, ...]
    ip6tables: tuple[str, ...]
    nft_tables: frozenset[str]
    cgroups: frozenset[str]
    runtime_dirs: frozenset[str]
    sysctls: tuple[tuple[str, str], ...]

    @classmethod
    def take(cls) -> HostSnapshot:
        processes = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if (entry / "stat").read_text().rpartition(")")[2].split()[0] == "Z":
                        continue
                    name = os.path.basename(os.readlink(entry / "exe"))
                except OSError:
                    continue
                if name.removesuffix(" (deleted)") in CLUSTER_PROGRAMS:
                    processes.add(f"{name}[{entry.name}]")
                elif name.startswith("python") and SUPERVISOR_MODULE in _cmdline(entry):
                    processes.add(f"supervisor[{entry.name}]")
        mounts = {
            line.split(" - ")[0].split()[4] + " " + line.split(" - ")[1].split()[0]
            for line in Path("/proc/self/mountinfo").read_text().splitlines()
        }
        netns = {line.split()[-1] for line in _run("lsns", "-t", "net", "-n", "-o", "NS").split()}
        links = set(os.listdir("/sys/class/net"))
        cgroups = {str(p) for p in Path("/sys/fs/cgroup").glob("*/kubedojo")}
        cgroups |= {str(p) for p in Path("/sys/fs/cgroup").glob("*/kubepods*")}
        cgroups |= {str(p) for p in Path("/sys/fs/cgroup").glob("*/k8s.io")}
        sysctl_keys = sorted({*SYSCTLS, *COMPONENT_SYSCTLS})
        sysctls = []
        for key in sysctl_keys:
            try:
                sysctls.append((key, Path("/proc/sys", key.replace(".", "/")).read_text().strip()))
            except OSError:
                continue
        return cls(
            processes=frozenset(processes),
            mounts=frozenset(mounts),
            netns=frozenset(netns),
            links=frozenset(links),
            routes=tuple(sorted(_run("ip", "route", "show", "table", "all").splitlines())),
            iptables=_rules("iptables-save"),
            ip6tables=_rules("ip6tables-save"),
            nft_tables=frozenset(_run("nft", "list", "tables").splitlines()),
            cgroups=frozenset(cgroups),
            runtime_dirs=frozenset(d for d in RUNTIME_DIRS if os.path.exists(d)),
            sysctls=tuple(sysctls),
        )

    def differences(self, before: HostSnapshot) -> dict[str, tuple[object, object]]:
        """Each kind whose value differs from ``before``: (what was added, what went missing)."""
        diff: dict[str, tuple[object, object]] = {}
        for field in fields(self):
            now, then = getattr(self, field.name), getattr(before, field.name)
            if now != then:
                added = sorted(set(now) - set(then)) if not isinstance(now, str) else now
                missing = sorted(set(then) - set(now)) if not isinstance(now, str) else then
                diff[field.name] = (added, missing)
        return diff


SUPERVISOR_MODULE = "kubedojo.local.supervisor"
"""The supervisor runs as ``python -m kubedojo.local.supervisor``: known by its command line."""


def _cmdline(entry: Path) -> str:
    try:
        return (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
