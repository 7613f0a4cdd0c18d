"""What kubespray v2.31.0 would refuse (or get wrong) partway through a run, found in site.yaml at once.

Every check reads only the site: it runs when site.yaml is read, before anything touches a machine.
Each returns the first problem as one line naming the host or key, kubespray's own reason where it
gives one, and what to do. The rules are kubespray's (file and line of v2.31.0 in the comments);
checks that need what is on the machines live in preflight.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections import Counter
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from ..versions import KUBESPRAY_VERSION
from .sitemodel import HOST_NAME, Site

__all__ = [
    "CHOICES",
    "REMOVED_VARIABLES",
    "bundle_path",
    "is_ip",
    "misspelt_variables",
    "site_problem",
    "ssh_key_path",
]


KUBEDOJO_VARS = (
    "kube_version",
    "container_manager",
    "kube_network_plugin",
    "kube_pods_subnet",
    "kube_service_addresses",
    "kube_network_node_prefix",
    "kube_proxy_mode",
    "cluster_name",
)
"""Variables the site's own keys set; ``kubespray_vars`` may not set them a second time."""

BOOLEAN_VARS = ("download_run_once", "download_always_pull", "download_localhost", "ignore_assert_errors")
"""kubespray variables that its validate_inventory role asserts to be real booleans (plus every
``*_enabled`` switch, which it treats the same way)."""

REMOVED_VARIABLES = ("kubelet_static_pod_path",)
"""Variables kubespray v2.31.0 stops on: "Removed variables present: …"
(roles/validate_inventory/tasks/main.yml:9-18)."""

CHOICES: Mapping[str, tuple[str, ...]] = {
    "dns_mode": ("coredns", "coredns_dual", "manual", "none"),
    "cert_management": ("script", "none"),
    "resolvconf_mode": ("docker_dns", "host_resolvconf", "none"),
    # "docker" is allowed only with container_manager docker; kubedojo's sites run containerd.
    "etcd_deployment_type": ("host", "kubeadm"),
}
"""Values kubespray v2.31.0 accepts, else "The selected choice is not supported"
(roles/validate_inventory/tasks/main.yml:161-171)."""

DEFAULT_MAX_PODS = 110
"""What kubespray assumes for ``kubelet_max_pods`` when it is unset (validate_inventory:68)."""


def is_ip(value: str) -> bool:
    """Whether ``value`` is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_ipv6(value: str) -> bool:
    return is_ip(value) and ipaddress.ip_address(value).version == 6


def is_address(value: str) -> bool:
    return is_ip(value) or bool(HOST_NAME.match(value.lower()))


def ssh_key_path(site: Site, base_dir: Path) -> Path:
    key = Path(site.ssh.key).expanduser()
    return key if key.is_absolute() else (base_dir / key).resolve()


def site_problem(site: Site, base_dir: Path | None = None) -> str | None:
    """The first problem with a site, or None. Order: hosts, roles, networks, the network plugin,
    names, the API server's certificate, variables, SSH."""
    for check in (_hosts, _roles, _networks, _network_plugin, _names, _certificate, _variables, _offline):
        problem = check(site)
        if problem:
            return problem
    if base_dir is not None:
        return _ssh_key(site, base_dir) or _bundle(site, base_dir)
    return None


# -- hosts and roles ---------------------------------------------------------------------------


def _hosts(site: Site) -> str | None:
    if not site.nodes:
        return "'nodes' is empty: list at least one machine"
    for key, values in (("name", [n.name for n in site.nodes]), ("address", [n.address for n in site.nodes])):
        duplicates = [v for v, count in Counter(values).items() if count > 1]
        if duplicates:
            return f"two nodes have the {key} {duplicates[0]!r}: each node needs its own"
    ipv6 = site.kubespray_vars.get("ipv6_stack") is True
    for node in site.nodes:
        for key, value in (("address", node.address), ("ip", node.ip)):
            if value and not is_address(value):
                return f"host {node.name!r}: '{key}' {value!r} is neither an IP address nor a host name"
        if node.ip and not is_ip(node.ip):
            return f"host {node.name!r}: 'ip' {node.ip!r} must be an IP address (the one Kubernetes uses)"
        if not ipv6 and is_ipv6(node.internal_ip):
            key = "ip" if node.ip else "address"
            return (
                f"host {node.name!r}: '{key}' {node.internal_ip} is IPv6 but the site's networks are IPv4 "
                "(kubespray would give the node no IPv4 address to run on); give it the node's IPv4 "
                "address as 'ip'"
            )
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


# -- networks ----------------------------------------------------------------------------------


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
    return _max_pods(site)


def _max_pods(site: Site) -> str | None:
    """kubespray: "Do not schedule more pods on a node than inet addresses are available."
    (validate_inventory:66-74; calico is exempt, it hands out its own blocks)."""
    raw = site.kubespray_vars.get("kubelet_max_pods", DEFAULT_MAX_PODS)
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return f"'kubespray_vars.kubelet_max_pods' must be a whole number (got {raw!r})"
    try:
        max_pods = int(raw)
    except ValueError:
        return f"'kubespray_vars.kubelet_max_pods' must be a whole number (got {raw!r})"
    if max_pods < 1:
        return f"'kubespray_vars.kubelet_max_pods' must be at least 1 (got {max_pods})"
    prefix = site.network.node_prefix
    limit = 2 ** (32 - prefix) - 2
    if site.network.plugin == "calico" or max_pods <= limit:
        return None
    if "kubelet_max_pods" in site.kubespray_vars:
        return (
            f"'kubespray_vars.kubelet_max_pods' {max_pods} is more than the {limit} pod addresses of a "
            f'/{prefix} (kubespray: "Do not schedule more pods on a node than inet addresses are '
            f"available.\"); lower it or shorten 'network.node_prefix'"
        )
    return (
        f"'network.node_prefix' /{prefix} gives each node {limit} pod addresses, but kubespray assumes "
        f'kubelet_max_pods {DEFAULT_MAX_PODS} when it is unset and stops ("Do not schedule more pods on a '
        f"node than inet addresses are available.\"); set 'kubespray_vars.kubelet_max_pods' to at most "
        f"{limit} or use a node_prefix of 25 or less"
    )


def _network_plugin(site: Site) -> str | None:
    plugin = site.network.plugin
    variables = site.kubespray_vars
    if plugin == "cni":
        return (
            "'network.plugin' cni installs only the CNI binaries, no pod network: the nodes would stay "
            "NotReady and kubespray would wait for CoreDNS in vain; choose a plugin (flannel, calico, …), "
            "or custom_cni with its manifests or chart in kubespray_vars"
        )
    if plugin != "custom_cni":
        return None
    manifests = variables.get("custom_cni_manifests", [])
    release = str(variables.get("custom_cni_chart_release_name") or "")
    if release:
        if not variables.get("custom_cni_chart_ref"):
            return (
                f"'kubespray_vars.custom_cni_chart_release_name' {release!r} needs "
                "'custom_cni_chart_ref' (the chart, e.g. cilium/cilium) for kubespray to install"
            )
        if bool(variables.get("custom_cni_chart_repository_name")) != bool(
            variables.get("custom_cni_chart_repository_url")
        ):
            return (
                "'kubespray_vars.custom_cni_chart_repository_name' and 'custom_cni_chart_repository_url' "
                "go together: set both, or neither for a chart that needs no repository"
            )
        return None
    if not isinstance(manifests, list) or not manifests or not all(isinstance(m, str) for m in manifests):
        return (
            "'network.plugin' custom_cni needs the network's manifests or chart: set "
            "'kubespray_vars.custom_cni_manifests' (a list of files) or 'custom_cni_chart_release_name' "
            "with 'custom_cni_chart_ref' (kubespray stops with \"custom_cni_manifests should not be empty\")"
        )
    return None


# -- names -------------------------------------------------------------------------------------


def _names(site: Site) -> str | None:
    name = site.cluster_name
    if len(name) > 253 or not HOST_NAME.match(name):
        return (
            f"'cluster_name' {name!r} must be a lower-case DNS domain (letters, digits, '-' and '.', "
            "e.g. cluster.local): it becomes the cluster's DNS domain, which kubeadm refuses otherwise"
        )
    return None


def _certificate(site: Site) -> str | None:
    """The admin kubeconfig reaches the API server at a control-plane node's ``address``; kubespray
    puts the node's ``ip``, its host names and ``supplementary_addresses_in_ssl_keys`` in the
    certificate (roles/kubernetes/control-plane/tasks/kubeadm-setup.yml:26-49), not ``address``."""
    extra = site.kubespray_vars.get("supplementary_addresses_in_ssl_keys", [])
    if not isinstance(extra, list) or not all(isinstance(x, str) for x in extra):
        return "'kubespray_vars.supplementary_addresses_in_ssl_keys' must be a list of addresses or names"
    for node in site.control_plane:
        if node.address in (node.internal_ip, node.name) or node.address in extra:
            continue
        return (
            f"host {node.name!r}: 'address' {node.address} is where kubedojo reaches the API server, but "
            f"kubespray's certificate holds 'ip' {node.ip} and the host's names, not it (TLS would fail "
            f"after the run); add {node.address} to 'kubespray_vars.supplementary_addresses_in_ssl_keys', "
            "or use an address or name the certificate has"
        )
    return None


# -- variables ---------------------------------------------------------------------------------


def _variables(site: Site) -> str | None:
    variables = site.kubespray_vars
    for key, value in variables.items():
        if key in KUBEDOJO_VARS:
            return f"'kubespray_vars.{key}' is set by kubedojo from the site's own keys; remove it"
        if key in REMOVED_VARIABLES:
            return (
                f"'kubespray_vars.{key}' was removed from kubespray (it stops with \"Removed variables "
                f'present: {key}"); delete it'
            )
        if (key in BOOLEAN_VARS or key.endswith("_enabled")) and not isinstance(value, bool):
            return (
                f"'kubespray_vars.{key}' must be true or false (got {value!r}); "
                "kubespray asserts a real boolean"
            )
        allowed = CHOICES.get(key)
        if allowed is not None and value not in allowed:
            return (
                f"'kubespray_vars.{key}' {value!r} is not one kubespray {KUBESPRAY_VERSION} supports "
                f'({", ".join(allowed)}); it stops with "The selected choice is not supported"'
            )
    if variables.get("download_localhost") is True and variables.get("download_run_once") is not True:
        return (
            "'kubespray_vars.download_localhost' needs 'download_run_once: true' "
            '(kubespray stops with "download_localhost requires enable download_run_once")'
        )
    return None


def _offline(site: Site) -> str | None:
    offline = site.offline
    if not offline.bundle:
        return (
            "'offline.files_repo' is set but 'offline.bundle' is not; name the site bundle"
            if offline.files_repo
            else None
        )
    if not offline.files_repo:
        return "'offline.bundle' needs 'offline.files_repo': where the nodes reach 'invoke site.serve' (http://host:port)"
    if not site.registry.address:
        return (
            "'offline.bundle' needs 'registry.address': the registry 'invoke site.serve' starts, "
            "which the nodes pull from"
        )
    if site.network.plugin != "flannel":
        return (
            f"'network.plugin' {site.network.plugin}: a site bundle carries the flannel network's images "
            "(the others' cannot be built offline); use flannel"
        )
    return None


def bundle_path(site: Site, base_dir: Path) -> Path:
    bundle = Path(site.offline.bundle).expanduser()
    return bundle if bundle.is_absolute() else (base_dir / bundle).resolve()


def _bundle(site: Site, base_dir: Path) -> str | None:
    if site.offline.bundle and not bundle_path(site, base_dir).is_dir():
        return (
            f"'offline.bundle' {bundle_path(site, base_dir)}: no such directory; "
            "make it with 'invoke site.bundle'"
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


def misspelt_variables(variables: Mapping[str, Any], known: Collection[str]) -> list[str]:
    """One warning for each of ``variables`` that kubespray does not know but that is close to a name
    it does (kubespray ignores an unknown variable silently); names near none are left alone, they
    may be the site's own."""
    warnings = []
    for key in variables:
        if key in known:
            continue
        nearest = difflib.get_close_matches(key, list(known), n=1, cutoff=0.85)
        if nearest:
            warnings.append(
                f"'kubespray_vars.{key}' is not a kubespray {KUBESPRAY_VERSION} variable and would be "
                f"ignored; did you mean '{nearest[0]}'?"
            )
    return warnings
