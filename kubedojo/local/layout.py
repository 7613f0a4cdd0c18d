"""What every component of the local cluster agrees on: paths and addresses (:class:`Layout`), what a
component is (:class:`Component`), and the two things each component function makes: its daemon and
its client kubeconfig. Pure: it computes, the provider writes and starts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..client.processes import Daemon
from ..config import LocalSettings
from ..kubeconfig import render_kubeconfig
from ..paths import RUNTIME_DIR, StateDirs

__all__ = [
    "CGROUP_ROOT",
    "CLUSTER_DOMAIN",
    "CONTAINERD_SOCKET",
    "MOUNT_NAMESPACE",
    "RUNC_ROOT",
    "Component",
    "Layout",
    "client_kubeconfig",
    "daemon",
]

CONTAINERD_SOCKET = RUNTIME_DIR / "containerd" / "containerd.sock"
MOUNT_NAMESPACE = RUNTIME_DIR / "mntns"
RUNC_ROOT = RUNTIME_DIR / "runc"
CGROUP_ROOT = "kubedojo"
CLUSTER_DOMAIN = "cluster.local"


@dataclass(frozen=True)
class Layout:
    """Paths and addresses every component agrees on."""

    settings: LocalSettings
    state: StateDirs
    k8s_bin: Path
    kwok_bin: Path
    netpol_bin: Path
    """The NetworkPolicy enforcer, kube-network-policies."""

    @property
    def registry(self) -> str:
        return f"127.0.0.1:{self.settings.registry_port}"

    @property
    def api_url(self) -> str:
        return f"https://{self.settings.network.node_ip}:{self.settings.api_port}"

    @property
    def etcd_url(self) -> str:
        return f"https://127.0.0.1:{self.settings.etcd_port}"

    def pki(self, name: str) -> Path:
        return self.state.pki / name

    def kubeconfig_path(self, identity: str) -> Path:
        return self.state.config / f"{identity}.kubeconfig"


@dataclass(frozen=True)
class Component:
    """One daemon of the cluster."""

    name: str
    daemon: Daemon
    probe: Callable[..., bool]
    stage: int
    """Start order: every component of a stage is started together, after the earlier stages are healthy."""
    files: Mapping[Path, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Changes whenever the command line, environment or a configuration file does."""
        digest = hashlib.sha256(json.dumps([list(self.daemon.argv), dict(self.daemon.env)]).encode())
        for path in sorted(self.files):
            digest.update(str(path).encode() + b"\0" + self.files[path].encode())
        return digest.hexdigest()


def daemon(
    layout: Layout,
    name: str,
    argv: list[str],
    *,
    mount_ns: bool = False,
    env: Mapping[str, str] | None = None,
) -> Daemon:
    """The daemon ``name``, logging to and with its pidfile in the state directory; ``mount_ns``: in
    the cluster's mount namespace."""
    return Daemon(
        name=name,
        argv=argv,
        log=layout.state.logs / f"{name}.log",
        pidfile=layout.state.pids / f"{name}.pid",
        env=dict(env or {}),
        mount_namespace=MOUNT_NAMESPACE if mount_ns else None,
    )


def client_kubeconfig(layout: Layout, identity: str, cert: str) -> tuple[Path, str]:
    """Where the kubeconfig of ``identity`` goes and what it says: the API server, with the client
    certificate ``<cert>.crt`` and key from the PKI directory."""
    pki = layout.pki
    text = render_kubeconfig(
        layout.api_url, pki("ca.crt"), identity, cert=pki(f"{cert}.crt"), key=pki(f"{cert}.key")
    )
    return layout.kubeconfig_path(identity), text
