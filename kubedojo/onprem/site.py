"""An on-prem site: the one small file (``inventory/<site>/site.yaml``) that describes the machines.

Reading it checks everything that can be checked without touching a machine, mirroring the
assertions kubespray makes much later (a control plane, an odd number of etcd members, lower-case
host names, networks that do not overlap, real booleans), so a mistake costs a second, not a
half-provisioned cluster. Each problem is one :class:`~kubedojo.errors.ConfigError` line naming the
file, the host or the key, and what to do.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import Field, ValidationError, field_validator

from ..errors import ConfigError
from ..labels import GPU_NODE_LABEL
from ..validation import NamedItems, StrictModel, one_line
from ..yamlfiles import read_yaml

__all__ = [
    "GPU_LABEL",
    "GPU_TAINT",
    "NETWORK_PLUGINS",
    "PREFLIGHT_CHECKS",
    "PROXY_MODES",
    "SITE_FILE",
    "NetworkPlugin",
    "Node",
    "PreflightCheck",
    "ProxyMode",
    "Site",
    "is_ip",
    "load_site",
    "parse_site",
]

SITE_FILE = "site.yaml"
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
]
"""The names of preflight's checks (``kubedojo.onprem.preflight`` judges them)."""
PREFLIGHT_CHECKS: tuple[str, ...] = get_args(PreflightCheck)

Role = Literal["control-plane", "etcd", "worker"]
_HOST_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$")
_TAINT = re.compile(r"^[A-Za-z0-9./_-]+(=[A-Za-z0-9._-]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$")
_BOOLEAN_SUFFIXES = ("_enabled",)
_BOOLEAN_VARS = ("download_run_once", "download_always_pull", "download_localhost", "ignore_assert_errors")
"""kubespray variables that its validate_inventory role asserts to be real booleans (plus every
``*_enabled`` switch, which it treats the same way)."""
_KUBEDOJO_VARS = (
    "kube_version",
    "container_manager",
    "kube_network_plugin",
    "kube_pods_subnet",
    "kube_service_addresses",
    "kube_network_node_prefix",
    "kube_proxy_mode",
)
"""Variables the site's own keys set; ``kubespray_vars`` may not set them a second time."""


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
        if not _HOST_NAME.match(name):
            hint = f"; use '{name.lower()}'" if _HOST_NAME.match(name.lower()) else ""
            raise ValueError(
                f"host name {name!r} must be lower-case letters, digits, '-' and '.' (RFC 1123; "
                f"kubespray refuses others){hint}"
            )
        return name

    @field_validator("taints")
    @classmethod
    def _taints(cls, taints: list[str]) -> list[str]:
        for taint in taints:
            if not _TAINT.match(taint):
                raise ValueError(
                    f"taint {taint!r} must look like key=value:NoSchedule|PreferNoSchedule|NoExecute"
                )
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
    ssh: SshSettings = Field(default_factory=SshSettings)
    nodes: list[Node]
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    nfs_client: bool = True
    """Install the NFS client on every node (the ``nfs-storage`` class mounts NFS shares)."""
    preflight: PreflightSettings = Field(default_factory=PreflightSettings)
    timeouts: TimeoutSettings = Field(default_factory=TimeoutSettings)
    kubespray_vars: dict[str, Any] = Field(default_factory=dict)
    """Passed to kubespray as they are (group_vars/all), for what the keys above do not cover."""

    # -- derived -------------------------------------------------------------------------------

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


# -- reading ---------------------------------------------------------------------------------

_HOSTS = NamedItems("nodes", "host")


def parse_site(data: Any, source: str, base_dir: Path | None = None) -> Site:
    """Validate a loaded site.yaml; ``source`` names it in errors."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping (cluster_name, ssh, nodes, …)")
    try:
        site = Site.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(one_line(exc, data, source, _HOSTS)) from None
    problem = site_problem(site, base_dir)
    if problem:
        raise ConfigError(f"{source}: {problem}")
    return site


def load_site(directory: Path) -> Site:
    """Read and check ``<directory>/site.yaml``."""
    path = directory / SITE_FILE
    if not directory.is_dir():
        raise ConfigError(f"{directory}: no such site directory (a site is inventory/<name>/{SITE_FILE})")
    data = read_yaml(path, f"missing; copy inventory/sample/{SITE_FILE} and describe your machines")
    return parse_site(data, str(path), directory)


# -- the checks kubespray would make later ---------------------------------------------------


def site_problem(site: Site, base_dir: Path | None = None) -> str | None:
    """The first problem with a site, or None. Order: hosts, roles, networks, variables, SSH."""
    for check in (_hosts, _roles, _networks, _variables):
        problem = check(site)
        if problem:
            return problem
    if base_dir is not None:
        return _ssh_key(site, base_dir)
    return None


def _hosts(site: Site) -> str | None:
    if not site.nodes:
        return "'nodes' is empty: list at least one machine"
    for key, values in (("name", [n.name for n in site.nodes]), ("address", [n.address for n in site.nodes])):
        duplicates = [v for v, count in Counter(values).items() if count > 1]
        if duplicates:
            return f"two nodes have the {key} {duplicates[0]!r}: each node needs its own"
    for node in site.nodes:
        for key, value in (("address", node.address), ("ip", node.ip)):
            if value and not _is_address(value):
                return f"host {node.name!r}: '{key}' {value!r} is neither an IP address nor a host name"
        if node.ip and not is_ip(node.ip):
            return f"host {node.name!r}: 'ip' {node.ip!r} must be an IP address (the one Kubernetes uses)"
        if node.gpu and not node.is_worker:
            return f"host {node.name!r}: 'gpu' is true but it is not a worker; add 'worker' to its roles"
    return None


def _roles(site: Site) -> str | None:
    if not site.control_plane:
        return "no node has the 'control-plane' role: give it to one (or three) of the nodes"
    etcd = site.etcd
    if len(etcd) % 2 == 0:
        names = ", ".join(n.name for n in etcd)
        return (
            f"etcd needs an odd number of members, the site has {len(etcd)} ({names}): "
            "give the 'etcd' role to 1, 3 or 5 nodes"
        )
    if not site.workers:
        return "no node has the 'worker' role: labs need somewhere to run"
    return None


def _networks(site: Site) -> str | None:
    net = site.network
    if net.pods.overlaps(net.services):
        return f"'network.pod_cidr' {net.pod_cidr} overlaps 'network.service_cidr' {net.service_cidr}"
    for node in site.nodes:
        if is_ip(node.internal_ip):
            address = ipaddress.ip_address(node.internal_ip)
            for key, network in (("pod_cidr", net.pods), ("service_cidr", net.services)):
                if address in network:
                    return (
                        f"host {node.name!r}: its address {address} lies inside 'network.{key}' {network}; "
                        "choose a range the machines do not use"
                    )
    if net.node_prefix <= net.pods.prefixlen:
        return (
            f"'network.node_prefix' /{net.node_prefix} must be longer than "
            f"'network.pod_cidr' /{net.pods.prefixlen}"
        )
    if net.plugin != "calico":
        blocks = 2 ** (net.node_prefix - net.pods.prefixlen)
        if blocks < len(site.nodes):
            return (
                f"'network.pod_cidr' {net.pod_cidr} holds {blocks} node ranges of /{net.node_prefix} "
                f"but the site has {len(site.nodes)} nodes: use a larger pod_cidr or a longer node_prefix"
            )
    return None


def _variables(site: Site) -> str | None:
    for key, value in site.kubespray_vars.items():
        if key in _KUBEDOJO_VARS:
            return f"'kubespray_vars.{key}' is set by kubedojo from the site's own keys; remove it"
        if (key in _BOOLEAN_VARS or key.endswith(_BOOLEAN_SUFFIXES)) and not isinstance(value, bool):
            return (
                f"'kubespray_vars.{key}' must be true or false (got {value!r}); "
                "kubespray asserts a real boolean"
            )
    max_pods = site.kubespray_vars.get("kubelet_max_pods")
    if isinstance(max_pods, int) and site.network.plugin != "calico":
        limit = 2 ** (32 - site.network.node_prefix) - 2
        if max_pods > limit:
            return (
                f"'kubespray_vars.kubelet_max_pods' {max_pods} exceeds the {limit} pod addresses "
                f"of a /{site.network.node_prefix}"
            )
    return None


def _ssh_key(site: Site, base_dir: Path) -> str | None:
    key = ssh_key_path(site, base_dir)
    if not key.is_file():
        return f"'ssh.key' {key}: no such file; point it at the private key that logs in as {site.ssh.user!r}"
    try:
        key.read_bytes()
    except OSError as exc:
        return f"'ssh.key' {key}: cannot be read ({exc.strerror})"
    return None


def ssh_key_path(site: Site, base_dir: Path) -> Path:
    key = Path(site.ssh.key).expanduser()
    return key if key.is_absolute() else (base_dir / key).resolve()


def is_ip(value: str) -> bool:
    """Whether ``value`` is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _is_address(value: str) -> bool:
    return is_ip(value) or bool(_HOST_NAME.match(value.lower()))
