"""What kubespray v2.31.0 accepts in its inventory validation but fails on (or gets wrong) partway
through a run: refused when site.yaml is read, in one line naming the host or key, with kubespray's
own reason where it gives one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubedojo.errors import ConfigError
from kubedojo.onprem.kubespray import KubesprayTree
from kubedojo.onprem.kubeversions import SiteState, install_version, upgrade_problem
from kubedojo.onprem.site import parse_site
from kubedojo.onprem.sitechecks import misspelt_variables

from .test_onprem_site import CP, W1, refused, site

FLANNEL = {"plugin": "flannel"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # The admin kubeconfig reaches the API server at the control plane's `address`, which
        # kubespray leaves out of the certificate when it differs from `ip`.
        (
            site({**CP, "address": "203.0.113.5", "ip": "192.168.10.11"}),
            "host 'cp1': 'address' 203.0.113.5 is where kubedojo reaches the API server, but kubespray's "
            "certificate holds 'ip' 192.168.10.11",
        ),
        (
            site({**CP, "address": "cp1.example.org", "ip": "192.168.10.11"}),
            "host 'cp1': 'address' cp1.example.org is where kubedojo reaches",
        ),
        (
            site(CP, kubespray_vars={"supplementary_addresses_in_ssl_keys": "203.0.113.5"}),
            "'kubespray_vars.supplementary_addresses_in_ssl_keys' must be a list",
        ),
        # Any plugin but calico: kubespray assumes 110 pods per node when kubelet_max_pods is unset.
        (
            site(CP, network={**FLANNEL, "node_prefix": 26}),
            "'network.node_prefix' /26 gives each node 62 pod addresses, but kubespray assumes "
            "kubelet_max_pods 110",
        ),
        (
            site(CP, network={**FLANNEL, "node_prefix": 25}, kubespray_vars={"kubelet_max_pods": "200"}),
            "'kubespray_vars.kubelet_max_pods' 200 is more than the 126 pod addresses of a /25",
        ),
        (
            site(CP, kubespray_vars={"kubelet_max_pods": "many"}),
            "'kubespray_vars.kubelet_max_pods' must be a whole number (got 'many')",
        ),
        (
            site(CP, kubespray_vars={"kubelet_max_pods": True}),
            "'kubespray_vars.kubelet_max_pods' must be a whole number (got True)",
        ),
        (
            site(CP, network={"plugin": "custom_cni"}),
            "'network.plugin' custom_cni needs the network's manifests or chart",
        ),
        (
            site(CP, network={"plugin": "custom_cni"}, kubespray_vars={"custom_cni_manifests": []}),
            "'network.plugin' custom_cni needs the network's manifests or chart",
        ),
        (
            site(
                CP, network={"plugin": "custom_cni"}, kubespray_vars={"custom_cni_chart_release_name": "net"}
            ),
            "'kubespray_vars.custom_cni_chart_release_name' 'net' needs 'custom_cni_chart_ref'",
        ),
        (
            site(
                CP,
                network={"plugin": "custom_cni"},
                kubespray_vars={
                    "custom_cni_chart_release_name": "net",
                    "custom_cni_chart_ref": "net/net",
                    "custom_cni_chart_repository_url": "https://charts.example.org",
                },
            ),
            "'kubespray_vars.custom_cni_chart_repository_name' and 'custom_cni_chart_repository_url' go together",
        ),
        (site(CP, network={"plugin": "cni"}), "'network.plugin' cni installs only the CNI binaries"),
        # Names that end up on a command line or in the cluster's DNS.
        (
            site(CP, cluster_name="Cluster.Local"),
            "'cluster_name' 'Cluster.Local' must be a lower-case DNS domain",
        ),
        (site(CP, cluster_name="my_cluster"), "'cluster_name' 'my_cluster' must be a lower-case DNS domain"),
        (site(CP, cluster_name="workshop."), "'cluster_name' 'workshop.' must be a lower-case DNS domain"),
        (
            site({**CP, "labels": {"role": "train gpu"}}),
            "host 'cp1': 'labels': label value 'train gpu' must be at most 63",
        ),
        (
            site({**CP, "labels": {"role": "x; rm -rf /"}}),
            "host 'cp1': 'labels': label value 'x; rm -rf /' must be",
        ),
        (site({**CP, "labels": {"Team/a": "b"}}), "host 'cp1': 'labels': label key 'Team/a': its prefix"),
        (site({**CP, "labels": {"a" * 64: "b"}}), "host 'cp1': 'labels': label key 'aaaa"),
        (site({**CP, "labels": {"/x": "b"}}), "host 'cp1': 'labels': label key '/x' has an empty prefix"),
        (
            site({**CP, "taints": ["dedicated=a b:NoSchedule"]}),
            "host 'cp1': 'taints': taint 'dedicated=a b:NoSchedule': value 'a b' must be",
        ),
        (site({**CP, "taints": ["gpu:Sometimes"]}), "host 'cp1': 'taints': taint 'gpu:Sometimes' must look"),
        # An IPv4 site (kubespray's default stack).
        (
            site(CP, {**W1, "ip": "fd00::21"}),
            "host 'node1': 'ip' fd00::21 is IPv6 but the site's networks are IPv4",
        ),
        (
            site(CP, {**W1, "address": "fd00::21"}),
            "host 'node1': 'address' fd00::21 is IPv6 but the site's networks are IPv4",
        ),
        # kubespray_vars that kubespray's validate_inventory stops on.
        (
            site(CP, kubespray_vars={"kubelet_static_pod_path": "/etc/kubernetes/manifests"}),
            "'kubespray_vars.kubelet_static_pod_path' was removed from kubespray (it stops with \"Removed "
            'variables present: kubelet_static_pod_path")',
        ),
        (
            site(CP, kubespray_vars={"dns_mode": "kubedns"}),
            "'kubespray_vars.dns_mode' 'kubedns' is not one kubespray v2.31.0 supports (coredns, "
            'coredns_dual, manual, none); it stops with "The selected choice is not supported"',
        ),
        (
            site(CP, kubespray_vars={"etcd_deployment_type": "docker"}),
            "'kubespray_vars.etcd_deployment_type' 'docker' is not one kubespray v2.31.0 supports (host, kubeadm)",
        ),
        (
            site(CP, kubespray_vars={"resolvconf_mode": "host"}),
            "'kubespray_vars.resolvconf_mode' 'host' is not one",
        ),
        (
            site(CP, kubespray_vars={"download_localhost": True}),
            "'kubespray_vars.download_localhost' needs 'download_run_once: true' (kubespray stops with "
            '"download_localhost requires enable download_run_once")',
        ),
        (
            site(CP, kubespray_vars={"cluster_name": "x.local"}),
            "'kubespray_vars.cluster_name' is set by kubedojo from the site's own keys",
        ),
        (site(CP, kubernetes_version="1.35"), "'kubernetes_version': '1.35' must be a version like 1.35.4"),
    ],
)
def test_refused_up_front(data: Any, expected: str) -> None:
    message = refused(data)
    assert message.startswith(expected), message


@pytest.mark.parametrize(
    "data",
    [
        # `address` = `ip`, the host's own name, or listed for the certificate.
        site({**CP, "address": "192.168.10.11", "ip": "192.168.10.11"}),
        site({**CP, "address": "cp1", "ip": "192.168.10.11"}),
        site(
            {**CP, "address": "203.0.113.5", "ip": "192.168.10.11"},
            kubespray_vars={"supplementary_addresses_in_ssl_keys": ["203.0.113.5"]},
        ),
        # A worker's address is nobody's business but SSH's.
        site(CP, {**W1, "address": "203.0.113.21", "ip": "192.168.10.21"}),
        site(CP, network={"plugin": "calico", "node_prefix": 26}),  # calico hands out its own blocks
        site(CP, network={**FLANNEL, "node_prefix": 26}, kubespray_vars={"kubelet_max_pods": "62"}),
        site(CP, network={**FLANNEL, "node_prefix": 25}),
        site(CP, network={"plugin": "custom_cni"}, kubespray_vars={"custom_cni_manifests": ["net.yaml"]}),
        site(
            CP,
            network={"plugin": "custom_cni"},
            kubespray_vars={"custom_cni_chart_release_name": "net", "custom_cni_chart_ref": "oci://r/net"},
        ),
        site(CP, cluster_name="workshop.example.org"),
        site({**CP, "labels": {"example.com/pool": "train-gpu", "empty": ""}}),
        site({**CP, "taints": ["dedicated=workshop:NoSchedule", "example.com/gpu:NoExecute"]}),
        site(CP, {**W1, "ip": "fd00::21"}, kubespray_vars={"ipv6_stack": True}),
        site(CP, kubespray_vars={"download_localhost": True, "download_run_once": True, "dns_mode": "none"}),
        site(CP, kubernetes_version="v1.34.7"),
    ],
)
def test_sites_kubespray_runs_pass(data: Any) -> None:
    parse_site(data, "site.yaml")


def test_kubernetes_version_is_read_without_its_v() -> None:
    assert parse_site(site(CP, kubernetes_version="v1.34.7"), "s").kubernetes_version == "1.34.7"


# -- misspelt variables --------------------------------------------------------------------------

KNOWN = {
    "kubelet_max_pods",
    "enable_nodelocaldns",
    "download_run_once",
    "supplementary_addresses_in_ssl_keys",
}


def test_a_misspelt_variable_gets_a_warning_naming_the_nearest_known_one() -> None:
    warnings = misspelt_variables(
        {"enable_nodelocadns": False, "kubelet_max_pods": 50, "workshop_colour": "blue"}, KNOWN
    )
    assert warnings == [
        "'kubespray_vars.enable_nodelocadns' is not a kubespray v2.31.0 variable and would be ignored; "
        "did you mean 'enable_nodelocaldns'?"
    ]


def _tree(root: Path) -> KubesprayTree:
    files = {
        "roles/kubespray_defaults/vars/main/checksums.yml": (
            "kubelet_checksums:\n  amd64:\n    1.35.1: 0\n    1.34.2: 0\n    1.35.0: 0\n"
            "  arm64:\n    1.36.0: 0\n"
            "kubeadm_checksums:\n  amd64:\n    1.35.1: 0\n    1.35.0: 0\n    1.34.2: 0\n"
            "kubectl_checksums:\n  amd64:\n    1.35.1: 0\n    1.35.0: 0\n    1.34.2: 0\n    1.33.0: 0\n"
        ),
        "roles/kubespray_defaults/defaults/main/main.yml": "kube_proxy_mode: ipvs\nenable_nodelocaldns: true\n",
        "roles/network_plugin/flannel/defaults/main.yml": "flannel_backend_type: vxlan\n",
        "inventory/sample/group_vars/all/all.yml": "bin_dir: /usr/local/bin\n# http_proxy: ''\n",
        "roles/kubernetes/node/templates/kubelet-config.v1beta1.yaml.j2": (
            "maxPods: {{ kubelet_max_pods | default(110) }}\nx: {{ kubelet_fail_swap_on|d(true) }}\n"
        ),
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return KubesprayTree(root, "v2.31.0")


def test_the_tree_gives_its_versions_and_variable_names(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    # Only versions with all three checksums, for amd64, newest first.
    assert tree.kubernetes_versions() == ("1.35.1", "1.35.0", "1.34.2")
    assert tree.variable_names() >= {
        "kube_proxy_mode",
        "enable_nodelocaldns",
        "flannel_backend_type",
        "bin_dir",
        "http_proxy",  # documented in the sample, commented out
        "kubelet_max_pods",  # read with a default in a template
        "kubelet_fail_swap_on",
    }


def test_a_tree_without_checksums_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"checksums.yml: cannot read the Kubernetes versions"):
        KubesprayTree(tmp_path, "v2.31.0").kubernetes_versions()


# -- which version a run installs, and which upgrades are allowed --------------------------------

SUPPORTED = ("1.35.4", "1.35.3", "1.35.0", "1.34.7", "1.34.0", "1.33.11", "1.33.0")


def test_a_new_cluster_gets_the_sites_version_else_the_pinned_one() -> None:
    assert install_version("", "", "1.35.4", SUPPORTED, "site.yaml") == "1.35.4"
    assert install_version("1.34.7", "", "1.35.4", SUPPORTED, "site.yaml") == "1.34.7"


def test_a_running_cluster_keeps_its_remembered_version() -> None:
    # Upgraded to 1.35.0 earlier: a later up neither goes back to site.yaml's older version...
    with pytest.raises(ConfigError, match=r"'kubernetes_version' 1.34.7 is older than the 1.35.0"):
        install_version("1.34.7", "1.35.0", "1.35.4", SUPPORTED, "site.yaml")
    # ...nor forward to kubedojo's pinned one, and a newer site version means cluster.upgrade.
    assert install_version("", "1.35.0", "1.35.4", SUPPORTED, "site.yaml") == "1.35.0"
    with pytest.raises(ConfigError, match=r"cluster.upgrade --version 1.35.4"):
        install_version("1.35.4", "1.35.0", "1.35.4", SUPPORTED, "site.yaml")


def test_a_version_without_checksums_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        install_version("1.34.8", "", "1.35.4", SUPPORTED, "site.yaml")
    assert str(caught.value) == (
        "site.yaml: 'kubernetes_version' 1.34.8: kubespray v2.31.0 has no checksums for Kubernetes 1.34.8 "
        "(it installs 1.33.0 to 1.35.4; its 1.34 line ends at 1.34.7)"
    )


@pytest.mark.parametrize(
    ("current", "target", "expected"),
    [
        ("1.34.7", "1.35.4", None),
        ("1.35.0", "1.35.4", None),
        ("1.35.4", "1.35.4", None),  # a re-run converges
        ("1.35.4", "1.35.0", "1.35.0 is older than the 1.35.4 the cluster runs; kubespray and kubeadm never"),
        ("1.35.4", "1.34.7", "1.34.7 is older than"),
        (
            "1.33.11",
            "1.35.4",
            "1.33.11 to 1.35.4 skips a minor version, and kubeadm upgrades one at a time; upgrade with "
            "'--version 1.34.7' first",
        ),
        ("1.35.0", "1.36.0", "kubespray v2.31.0 has no checksums for Kubernetes 1.36.0"),
        ("1.35.0", "1.35.2", "kubespray v2.31.0 has no checksums for Kubernetes 1.35.2"),
    ],
)
def test_upgrades_go_up_one_minor_at_a_time(current: str, target: str, expected: str | None) -> None:
    problem = upgrade_problem(current, target, SUPPORTED)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and problem.startswith(expected), problem


def test_the_site_state_remembers_and_forgets(tmp_path: Path) -> None:
    state = SiteState.of(tmp_path)
    assert state.kubernetes_version == ""
    state.remember("1.34.7")
    assert SiteState.of(tmp_path).kubernetes_version == "1.34.7"
    state.forget()
    assert state.kubernetes_version == ""
    state.path.write_text("{not json")
    with pytest.raises(ConfigError, match=r"state.json: unreadable"):
        _ = state.kubernetes_version


# -- a dry run through the operations, on a tree shaped like kubespray's ------------------------


def _kubespray_tree(root: Path) -> Path:
    tree = _tree(root / "kubespray")
    for entry in ("cluster.yml", "scale.yml", "reset.yml", "remove-node.yml", "upgrade-cluster.yml"):
        (tree.path / entry).write_text("- import_playbook: playbooks/nothing.yml\n")
    return tree.path


class Notes:
    def __init__(self) -> None:
        self.notes: list[str] = []

    def step(self, title: str):  # type: ignore[no-untyped-def]
        import contextlib

        return contextlib.nullcontext()

    def note(self, message: str) -> None:
        self.notes.append(message)


def test_a_dry_run_warns_of_a_misspelt_variable_and_writes_the_chosen_version(tmp_path: Path) -> None:
    import yaml

    from kubedojo.config import parse_config
    from kubedojo.onprem.cluster import OnpremCluster

    tree = _kubespray_tree(tmp_path)
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "key").write_text("k")
    (site_dir / "site.yaml").write_text(
        yaml.safe_dump(
            {
                **site(CP, kubernetes_version="1.35.0", kubespray_vars={"enable_nodelocadns": False}),
                "ssh": {"key": "key"},
            }
        )
    )
    notes = Notes()
    config = parse_config({"onprem": {"kubespray_checkout": str(tree)}})
    cluster = OnpremCluster(site_dir, config, tmp_path, reporter=notes, ansible_version=lambda: "2.18.5")
    report = cluster.up(dry_run=True, skip_preflight=True)
    assert report.kubernetes_version == "1.35.0"
    assert notes.notes == [
        f"{site_dir / 'site.yaml'}: 'kubespray_vars.enable_nodelocadns' is not a kubespray v2.31.0 variable "
        "and would be ignored; did you mean 'enable_nodelocaldns'?"
    ]
    written = yaml.safe_load((site_dir / "generated/group_vars/all/kubedojo.yml").read_text())
    assert written["kube_version"] == "1.35.0"
    # A version the tree has no checksums for stops before anything is written or run.
    (site_dir / "site.yaml").write_text(
        yaml.safe_dump({**site(CP, kubernetes_version="1.35.2"), "ssh": {"key": "key"}})
    )
    with pytest.raises(ConfigError, match=r"'kubernetes_version' 1.35.2: kubespray v2.31.0 has no checksums"):
        OnpremCluster(site_dir, config, tmp_path, ansible_version=lambda: "2.18.5").up(
            dry_run=True, skip_preflight=True
        )
