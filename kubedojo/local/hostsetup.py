"""The host settings the local cluster needs, made and unmade: sysctls, the bridge, routes that keep
cluster addresses on this machine, an nftables table that stops pod traffic from leaving it, the
cgroup root, and a private mount namespace for containerd and the kubelet.

Everything :meth:`HostSetup.apply` changes is recorded first and put back by :meth:`HostSetup.revert`,
which also deletes what a killed component may leave in the kernel: the NetworkPolicy enforcer's
nftables table (:mod:`.netpolicy`).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from ..client.commands import Runner
from ..client.host import Host
from ..config import NetworkSettings
from ..errors import CommandError
from ..paths import RUNTIME_DIR, StateDirs
from .layout import CGROUP_ROOT, MOUNT_NAMESPACE
from .netpolicy import NFT_TABLE as ENFORCER_NFT_TABLE

__all__ = ["NFT_TABLE", "PRIVATE_DIRS", "SYSCTLS", "HostSetup"]

SYSCTLS = {
    "net.ipv4.ip_forward": "1",
    "net.bridge.bridge-nf-call-iptables": "1",
    "net.bridge.bridge-nf-call-ip6tables": "1",
}
"""What the cluster sets itself; with what the kubelet and kube-proxy set, all recorded first."""

COMPONENT_SYSCTLS = (
    "kernel.panic",
    "kernel.panic_on_oops",
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "net.ipv4.conf.all.route_localnet",
    "net.ipv4.conf.all.forwarding",
    "net.ipv4.vs.conntrack",
)

PRIVATE_DIRS = (
    Path("/run/containerd"),
    Path("/run/netns"),
    Path("/var/lib/cni"),
    Path("/var/lib/kubelet"),
)
"""Paths containerd, the CNI plugins and the kubelet use whatever they are told (the kubelet's
device-plugin socket is always /var/lib/kubelet/device-plugins/kubelet.sock, whatever its
--root-dir); inside the cluster's mount namespace each is a tmpfs of its own, so shim sockets,
network namespaces, the CNI cache and the device-plugin socket vanish with the namespace."""

NFT_TABLE = ("ip", "kubedojo")
_IPTABLES_TABLES = ("filter", "nat", "mangle", "raw", "security")
_CPUSET = Path("/sys/fs/cgroup/cpuset")
_CONTROLLERS = (
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "blkio",
    "pids",
    "systemd",
    "hugetlb",
    "net_cls",
    "net_prio",
    "perf_event",
)


@dataclass
class HostSetup:
    network: NetworkSettings
    state: StateDirs
    host: Host
    runner: Runner

    @property
    def _record(self) -> Path:
        return self.state.host_record

    # -- apply -------------------------------------------------------------------------------

    def apply(self) -> list[str]:
        """Make the host ready; returns what changed (empty when all was in place)."""
        changed: list[str] = []
        RUNTIME_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.host.record_sysctls([*SYSCTLS, *COMPONENT_SYSCTLS], self._record)
        self._remember_created_dirs()
        for key, value in SYSCTLS.items():
            if self.host.get_sysctl(key) != value:
                self.host.set_sysctl(key, value)
                changed.append(f"sysctl {key}={value}")
        net = self.network
        if not self.host.link_exists(net.bridge):
            changed.append(f"bridge {net.bridge}")
        self.host.ensure_bridge(net.bridge, f"{net.node_ip}/{net.node_subnet.prefixlen}")
        for cidr in (net.pod_cidr, net.service_cidr):
            self.host.ensure_unreachable_route(cidr)
        if not self._nft_table_matches():
            self.host.replace_nft_table(*NFT_TABLE, self._nft_body())
            changed.append("nftables table ip kubedojo")
        self._ensure_cgroup_root()
        if self._ensure_mount_namespace():
            changed.append("mount namespace")
        return changed

    def _nft_body(self) -> str:
        net = self.network
        return (
            "  chain forward {\n"
            "    type filter hook forward priority -10; policy accept;\n"
            f'    ip saddr {net.pod_cidr} oifname != "{net.bridge}" counter drop\n'
            f'    ip daddr {net.pod_cidr} oifname != "{net.bridge}" counter drop\n'
            "  }"
        )

    def _nft_table_matches(self) -> bool:
        if " ".join(NFT_TABLE) not in self.host.nft_tables():
            return False
        listing = self.runner.output(["nft", "list", "table", *NFT_TABLE])
        return f'oifname != "{self.network.bridge}"' in listing and self.network.pod_cidr in listing

    def _ensure_cgroup_root(self) -> None:
        self.host.create_cgroup(CGROUP_ROOT, _CONTROLLERS)
        mine = _CPUSET / CGROUP_ROOT
        for knob in ("cpuset.cpus", "cpuset.mems"):
            with contextlib.suppress(OSError):
                if not (mine / knob).read_text().strip():
                    (mine / knob).write_text((_CPUSET / knob).read_text())

    def mount_namespace_ready(self) -> bool:
        return any(m.mount_point == str(MOUNT_NAMESPACE) for m in self.host.mounts())

    def _ensure_mount_namespace(self) -> bool:
        if self.mount_namespace_ready():
            return False
        for directory in PRIVATE_DIRS:
            directory.mkdir(parents=True, exist_ok=True)
        MOUNT_NAMESPACE.touch()
        # Slave first: the namespace sees the host's mounts but sends none back. A host mount that is
        # shared (systemd makes / shared; `ip netns add` makes /run/netns a shared bind mount) would
        # otherwise carry the tmpfs below, and every pod's network namespace, into the host.
        self.runner.run(["unshare", f"--mount={MOUNT_NAMESPACE}", "--propagation", "slave", "true"])
        for directory in PRIVATE_DIRS:
            self.runner.run(
                [
                    "nsenter",
                    f"--mount={MOUNT_NAMESPACE}",
                    "--",
                    "mount",
                    "-t",
                    "tmpfs",
                    "-o",
                    "mode=0755",
                    "kubedojo",
                    str(directory),
                ]
            )
        # Then shared inside (a new peer group, still a slave of the host's): pods may ask for
        # Bidirectional mount propagation between themselves and the kubelet.
        self.runner.run(["nsenter", f"--mount={MOUNT_NAMESPACE}", "--", "mount", "--make-rshared", "/"])
        return True

    def _remember_created_dirs(self) -> None:
        data = json.loads(self._record.read_text())
        if "created_dirs" in data:
            return
        data["created_dirs"] = [
            str(d) for d in (*PRIVATE_DIRS, Path("/var/log/containers")) if not d.exists()
        ]
        data["nft_tables"] = self.host.nft_tables()
        self._record.write_text(json.dumps(data, indent=2) + "\n")

    # -- revert ------------------------------------------------------------------------------

    def revert(self, pod_logs: Path) -> list[str]:
        """Undo :meth:`apply` (call after every process of the cluster has stopped)."""
        undone: list[str] = []
        if self.mount_namespace_ready():
            self.host.unmount(str(MOUNT_NAMESPACE))
            undone.append("mount namespace")
        net = self.network
        deadline = time.monotonic() + 5
        while self.host.veths_on(net.bridge) and time.monotonic() < deadline:
            time.sleep(0.05)  # the kernel frees pod network namespaces asynchronously
        if self.host.delete_link(net.bridge):
            undone.append(f"bridge {net.bridge}")
        for cidr in (net.pod_cidr, net.service_cidr):
            with contextlib.suppress(CommandError):
                if self.host.delete_unreachable_route(cidr):
                    undone.append(f"route {cidr}")
        if self.host.delete_nft_table(*NFT_TABLE):
            undone.append("nftables table ip kubedojo")
        # The enforcer deletes its table when it stops; killed (or crashed), it leaves it behind.
        if self.host.delete_nft_table(*ENFORCER_NFT_TABLE):
            undone.append(f"nftables table {' '.join(ENFORCER_NFT_TABLE)}")
        failed = sum(self.host.remove_cgroup_tree(d) for d in self.host.cgroup_dirs(CGROUP_ROOT))
        if failed:
            undone.append(f"{failed} cgroups could not be removed")
        self._remove_container_log_links(pod_logs)
        created: list[str] = []
        tables_before: list[str] | None = None
        with contextlib.suppress(OSError, ValueError):
            record = json.loads(self._record.read_text())
            created = record.get("created_dirs", [])
            tables_before = record.get("nft_tables")
        if tables_before is not None:
            undone += self._remove_empty_iptables_tables(set(tables_before))
        for key, value in self.host.restore_sysctls(self._record).items():
            undone.append(f"sysctl {key}={value}")
        for directory in created:
            with contextlib.suppress(OSError):
                os.rmdir(directory)
        return undone

    def _remove_empty_iptables_tables(self, before: set[str]) -> list[str]:
        """iptables-nft leaves the tables kube-proxy and the kubelet made (empty once their chains
        are gone); remove those that did not exist before the cluster and hold no rule."""
        removed = []
        for table in self.host.nft_tables():
            family, _, name = table.partition(" ")
            if table in before or family not in ("ip", "ip6") or name not in _IPTABLES_TABLES:
                continue
            listing = self.runner.output(["nft", "list", "table", family, name])
            if any(
                line.strip() and not line.strip().startswith(("table", "chain", "type", "}"))
                for line in listing.splitlines()
            ):
                continue
            self.runner.run(["nft", "delete", "table", family, name])
            removed.append(f"empty iptables table {table}")
        return removed

    def _remove_container_log_links(self, pod_logs: Path) -> None:
        links = Path("/var/log/containers")
        if not links.is_dir():
            return
        for link in links.iterdir():
            with contextlib.suppress(OSError):
                if link.is_symlink() and os.readlink(link).startswith(f"{pod_logs}/"):
                    link.unlink()
