"""The shape of site.yaml: the machines of an on-prem site, their roles, the network and the
settings kubedojo passes to kubespray. Field validators refuse what is wrong in one value; rules
across values are :mod:`kubedojo.onprem.sitechecks`'."""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Literal, get_args

from pydantic import Field, field_validator

from ..labels import GPU_NODE_LABEL, label_key_problem, label_value_problem
from ..validation import StrictModel

__all__ = [
    "GPU_LABEL",
    "GPU_TAINT",
    "HOST_NAME",
    "NETWORK_PLUGINS",
    "PREFLIGHT_CHECKS",
    "PROXY_MODES",
    "SITE_FILE",
    "NetworkPlugin",
    "Node",
    "PreflightCheck",
    "ProxyMode",
    "Site",
]

SITE_FILE = "site.yaml"
HOST_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$")
"""RFC 1123: kubespray's "Stop if bad hostname" (kubernetes/preinstall/tasks/0040-verify-settings.yml)."""
GPU_LABEL = (GPU_NODE_LABEL, "true")
"""Put on GPU nodes: the NVIDIA device plugin's chart schedules on it."""
GPU_TAINT = "nvidia.com/gpu=present:NoSchedule"
"""Put on GPU nodes, as on the local cluster's simulated GPU pool: only GPU Jobs land there."""

NetworkPlugin = Literal[
    "calico", "flannel", "cilium", "kube-ovn", "kube-router", "macvlan", "cni", "custom_cni"
]
"""kubespray v2.31.0's ``kube_network_plugin`` values (``cloud`` and ``none`` make no workshop cluster)."""
NETWORK_PLUGINS: tuple[str, ...] = get_args(NetworkPlugin)
ProxyMode = Literal["ipvs", "iptables", "nftables"]
PROXY_MODES: tuple[str, ...] = get_args(ProxyMode)

PreflightCheck = Literal[
    "reachable",
    "sudo",
    "os",
    "systemd",
    "cpu",
    "memory",
    "swap",
    "ports",
    "time-sync",
    "nfs-client",
    "gpu-driver",
    "address",
    "kernel",
    "nameserver",
    "packages",
    "bundle",
]
"""The names of preflight's checks (``kubedojo.onprem.preflight`` judges them)."""
PREFLIGHT_CHECKS: tuple[str, ...] = get_args(PreflightCheck)

Role = Literal["control-plane", "etcd", "worker"]
_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
_VERSION = re.compile(r"^v?\d+\.\d+\.\d+$")


class SshSettings(StrictModel):
    """How Ansible reaches the machines."""

    user: str = "root"
    key: str = "~/.ssh/id_ed25519"
    """A private key file; relative paths are relative to the site's directory."""
    port: int = Field(default=22, ge=1, le=65535)
    connect_timeout: int = Field(default=10, ge=1, le=300)
    """Seconds before a host that does not answer is reported unreachable."""


class Node(StrictModel):
    """One machine of the site."""

    name: str
    address: str
    """Where SSH reaches it (Ansible's ``ansible_host``)."""
    ip: str = ""
    """The address Kubernetes uses on it (kubespray's ``ip``/``access_ip``); empty: ``address``."""
    roles: list[Role] = Field(default_factory=lambda: list[Role](["worker"]))
    gpu: bool = False
    """It has NVIDIA GPUs: it gets the GPU label and taint, and preflight checks the driver."""
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _rfc1123(cls, name: str) -> str:
        if not HOST_NAME.match(name):
            hint = f"; use '{name.lower()}'" if HOST_NAME.match(name.lower()) else ""
            raise ValueError(
                f"host name {name!r} must be lower-case letters, digits, '-' and '.' (RFC 1123; "
                f"kubespray refuses others){hint}"
            )
        return name

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        # kubespray passes each as key=value on kubectl's command line: only valid labels pass intact.
        for key, value in labels.items():
            problem = label_key_problem(key) or label_value_problem(value)
            if problem:
                raise ValueError(problem)
        return labels

    @field_validator("taints")
    @classmethod
    def _taints(cls, taints: list[str]) -> list[str]:
        for taint in taints:
            pair, colon, effect = taint.rpartition(":")
            key, _, value = pair.partition("=")
            if not colon or effect not in _TAINT_EFFECTS:
                raise ValueError(
                    f"taint {taint!r} must look like key=value:NoSchedule|PreferNoSchedule|NoExecute"
                )
            problem = label_key_problem(key) or label_value_problem(value)
            if problem:
                raise ValueError(f"taint {taint!r}: {problem.replace('label ', '')}")
        return taints

    @property
    def internal_ip(self) -> str:
        return self.ip or self.address

    @property
    def is_control_plane(self) -> bool:
        return "control-plane" in self.roles

    @property
    def is_worker(self) -> bool:
        return "worker" in self.roles


class NetworkSettings(StrictModel):
    plugin: NetworkPlugin = "calico"
    pod_cidr: str = "10.233.64.0/18"
    service_cidr: str = "10.233.0.0/18"
    node_prefix: int = Field(default=24, ge=16, le=28)
    """Each node's share of ``pod_cidr`` (kubespray's ``kube_network_node_prefix``)."""
    proxy_mode: ProxyMode = "ipvs"

    @field_validator("pod_cidr", "service_cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        try:
            ipaddress.IPv4Network(value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an IPv4 network ({exc})") from None
        return value

    @property
    def pods(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.pod_cidr)

    @property
    def services(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.service_cidr)


class RegistrySettings(StrictModel):
    """The workshop's image registry, which every node pulls lab images from."""

    address: str = ""
    """``host:port`` of the registry; empty: the site has none."""
    insecure: bool = True
    """Plain HTTP (or a certificate the nodes do not trust)."""
    aliases: list[str] = Field(default_factory=lambda: ["127.0.0.1:5000"])
    """Registry names the lab manifests use that the nodes should pull from ``address`` instead (the
    local cluster's registry name, so the same manifests run on both)."""

    @field_validator("address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if value and not re.match(r"^[A-Za-z0-9.-]+(:\d{1,5})?$", value):
            raise ValueError(f"{value!r} must be host or host:port, without a scheme or a path")
        return value


class OfflineSettings(StrictModel):
    """A site without internet: kubespray's files and images come from a site bundle that kubedojo
    serves on a machine the nodes reach (``invoke site.serve``)."""

    bundle: str = ""
    """The site bundle (``invoke site.bundle``); a relative path is relative to the site's directory.
    Empty: the site downloads from the internet, as kubespray does by default."""
    files_repo: str = ""
    """Where the nodes reach the bundle's files, ``http://host:port`` (site.serve's files repository).
    The images come from ``registry.address``."""

    @field_validator("files_repo")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not re.match(r"^https?://[A-Za-z0-9.:\[\]-]+(:\d{1,5})?/?$", value):
            raise ValueError(f"{value!r} must be http://host:port (no path)")
        return value.rstrip("/")


class PreflightSettings(StrictModel):
    ignore: list[PreflightCheck] = Field(default_factory=list)
    """Checks to report without letting them stop ``cluster.up`` (by name, e.g. ``time-sync``)."""


class TimeoutSettings(StrictModel):
    preflight: float = Field(default=600.0, gt=0)
    playbook: float = Field(default=7200.0, gt=0)
    """Seconds one kubespray run may take (a small cluster takes 15-30 minutes)."""


class Site(StrictModel):
    """A whole site.yaml."""

    cluster_name: str = "cluster.local"
    kubernetes_version: str = ""
    """The Kubernetes version to install (one kubespray's checksums cover); empty: the version the
    cluster runs already, remembered from the last run, else kubedojo's pinned one. Changing it on a
    running cluster is ``cluster.upgrade``'s job."""
    ssh: SshSettings = Field(default_factory=SshSettings)
    nodes: list[Node]
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    offline: OfflineSettings = Field(default_factory=OfflineSettings)
    nfs_client: bool = True
    """Install the NFS client on every node (the ``nfs-storage`` class mounts NFS shares)."""
    preflight: PreflightSettings = Field(default_factory=PreflightSettings)
    timeouts: TimeoutSettings = Field(default_factory=TimeoutSettings)
    kubespray_vars: dict[str, Any] = Field(default_factory=dict)
    """Passed to kubespray as they are (group_vars/all), for what the keys above do not cover."""

    # -- derived -------------------------------------------------------------------------------

    @field_validator("kubernetes_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if value and not _VERSION.match(value):
            raise ValueError(f"{value!r} must be a version like 1.35.4")
        return value.removeprefix("v")

    @property
    def control_plane(self) -> list[Node]:
        return [n for n in self.nodes if n.is_control_plane]

    @property
    def etcd(self) -> list[Node]:
        """etcd members: the nodes with the etcd role, or else the control plane (kubespray's sample)."""
        explicit = [n for n in self.nodes if "etcd" in n.roles]
        return explicit or self.control_plane

    @property
    def workers(self) -> list[Node]:
        return [n for n in self.nodes if n.is_worker]

    @property
    def gpu_nodes(self) -> list[Node]:
        return [n for n in self.nodes if n.gpu]

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)
