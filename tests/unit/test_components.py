from __future__ import annotations

import json
import tomllib
from pathlib import Path

import yaml

from kubedojo.config import parse_config
from kubedojo.local.components import components
from kubedojo.local.layout import Layout
from kubedojo.local.node import cni_conflist
from kubedojo.paths import StateDirs


def _layout(tmp_path: Path, **local: object) -> Layout:
    config = parse_config({"local": {"state_dir": str(tmp_path), **local}})
    return Layout(
        config.local,
        StateDirs(tmp_path),
        tmp_path / "bin",
        tmp_path / "bin" / "kwok",
        tmp_path / "bin" / "kube-network-policies",
    )


def _files(layout: Layout) -> dict[str, str]:
    return {
        p.name: text
        for c in components(layout, layout.state.root / "registry")
        for p, text in c.files.items()
    }


def test_kubelet_runs_on_cgroup_v1_with_cgroupfs_and_its_own_dirs(tmp_path: Path) -> None:
    kubelet = yaml.safe_load(_files(_layout(tmp_path))["kubelet.yaml"])
    assert kubelet["failCgroupV1"] is False
    assert kubelet["cgroupDriver"] == "cgroupfs"
    assert kubelet["cgroupRoot"] == "/kubedojo"
    assert kubelet["authentication"]["anonymous"]["enabled"] is False
    assert kubelet["authorization"]["mode"] == "Webhook"
    assert kubelet["clusterDNS"] == ["10.96.0.10"]
    assert kubelet["podLogsDir"].startswith(str(tmp_path))


def test_the_kubelet_removes_images_only_when_the_disk_is_really_short(tmp_path: Path) -> None:
    # On a disk of which the filesystem reserves much (this CI machine's: 252 GiB, 30 GiB available to
    # use), the kubelet's share-of-the-disk image GC saw 88 % used and removed the sandbox image, after
    # which no pod could start with the registry out of reach (tests/cluster/test_offline_bundle.py).
    kubelet = yaml.safe_load(_files(_layout(tmp_path))["kubelet.yaml"])
    assert kubelet["imageGCHighThresholdPercent"] == 100
    assert kubelet["imageGCLowThresholdPercent"] < 100
    assert kubelet["evictionHard"]["imagefs.available"] == "1Gi"


def test_containerd_uses_runc_cgroupfs_and_restricts_oom_score_adj(tmp_path: Path) -> None:
    layout = _layout(tmp_path)
    conf = tomllib.loads(_files(layout)["containerd.toml"])
    cri = conf["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["restrict_oom_score_adj"] is True
    assert cri["sandbox_image"] == "127.0.0.1:5000/kubedojo/pause:3.10-kubedojo1"
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc["options"]["BinaryName"] == "/usr/sbin/runc"
    assert runc["options"]["SystemdCgroup"] is False
    assert conf["root"].startswith(str(tmp_path))
    assert "io.containerd.internal.v1.opt" in conf["disabled_plugins"]
    hosts = _files(layout)["hosts.toml"]
    assert 'server = "http://127.0.0.1:5000"' in hosts


def test_pod_network_has_no_default_route_and_no_masquerade(tmp_path: Path) -> None:
    conf = json.loads(cni_conflist(_layout(tmp_path)))
    bridge = conf["plugins"][0]
    assert bridge["ipMasq"] is False
    routes = [r["dst"] for r in bridge["ipam"]["routes"]]
    assert routes == ["10.244.0.0/16", "10.96.0.0/16"]
    assert "0.0.0.0/0" not in routes
    assert bridge["ipam"]["dataDir"].startswith(str(tmp_path))


def test_api_server_binds_only_the_bridge_address_with_rbac_and_node_authorization(tmp_path: Path) -> None:
    api = next(c for c in components(_layout(tmp_path), tmp_path) if c.name == "kube-apiserver")
    argv = list(api.daemon.argv)
    assert "--bind-address=10.244.0.1" in argv
    assert "--authorization-mode=Node,RBAC" in argv
    # Not ExtendedResourceToleration: a GPU pod must tolerate the GPU pool's taint itself, as on a
    # kubespray site (lab 06 teaches it).
    assert "--enable-admission-plugins=NodeRestriction" in argv


def test_fingerprint_follows_configuration(tmp_path: Path) -> None:
    first = {c.name: c.fingerprint() for c in components(_layout(tmp_path), tmp_path)}
    again = {c.name: c.fingerprint() for c in components(_layout(tmp_path), tmp_path)}
    relabelled = {
        c.name: c.fingerprint() for c in components(_layout(tmp_path, node_labels={"role": "x"}), tmp_path)
    }
    assert first == again
    assert [n for n in first if first[n] != relabelled[n]] == ["kubelet"]


def test_network_policy_enforcer_runs_beside_kube_proxy_policing_this_node_fail_open(tmp_path: Path) -> None:
    from kubedojo.client.probes import HttpProbe
    from kubedojo.local.netpolicy import METRICS_PORT, NFQUEUE_ID

    comps = components(_layout(tmp_path, node_name="dojo-node"), tmp_path)
    enforcer = next(c for c in comps if c.name == "kube-network-policies")
    proxy = next(c for c in comps if c.name == "kube-proxy")
    assert enforcer.stage == proxy.stage == 2
    argv = list(enforcer.daemon.argv)
    assert argv[0] == str(tmp_path / "bin" / "kube-network-policies")
    kubeconfig = tmp_path / "config" / "kube-network-policies.kubeconfig"
    assert argv[1:] == [
        f"-kubeconfig={kubeconfig}",
        "-hostname-override=dojo-node",  # the kubelet's --hostname-override: the node whose pods it polices
        f"-nfqueue-id={NFQUEUE_ID}",
        "-fail-open",
        f"-metrics-bind-address=127.0.0.1:{METRICS_PORT}",
        "-netfilter-bug-1766-fix=false",
        "-v=1",
    ]
    kubelet = next(c for c in comps if c.name == "kubelet")
    assert "--hostname-override=dojo-node" in kubelet.daemon.argv
    # A host process in the host's mount and network namespaces (nftables, the netfilter queue).
    assert enforcer.daemon.mount_namespace is None
    assert enforcer.probe == HttpProbe(f"http://127.0.0.1:{METRICS_PORT}/metrics")
    config = yaml.safe_load(enforcer.files[kubeconfig])
    user = config["users"][0]["user"]
    assert user["client-certificate"].endswith("/pki/kube-network-policies.crt")
    assert config["clusters"][0]["cluster"]["server"] == "https://10.244.0.1:6443"


def test_network_policy_enforcer_may_read_pods_namespaces_and_policies_only() -> None:
    from kubedojo.local.netpolicy import CERT_NAME, USER, rbac_objects
    from kubedojo.local.pki import cluster_cert_specs

    role, binding = rbac_objects()
    assert role["kind"] == "ClusterRole" and binding["kind"] == "ClusterRoleBinding"
    granted = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert granted == {
        ("", "pods", "list"),
        ("", "pods", "watch"),
        ("", "namespaces", "list"),
        ("", "namespaces", "watch"),
        ("networking.k8s.io", "networkpolicies", "list"),
        ("networking.k8s.io", "networkpolicies", "watch"),
    }
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USER}]
    (spec,) = [s for s in cluster_cert_specs("kubedojo", "10.244.0.1", "10.96.0.1") if s.name == CERT_NAME]
    assert spec.common_name == USER and spec.organizations == () and spec.client and not spec.server


def test_down_deletes_the_table_a_killed_enforcer_left(tmp_path: Path) -> None:
    from unittest import mock

    from kubedojo.client.commands import Runner
    from kubedojo.client.host import Host
    from kubedojo.local.hostsetup import HostSetup

    host = mock.create_autospec(Host, instance=True)
    host.mounts.return_value = []
    host.veths_on.return_value = []
    host.delete_link.return_value = False
    host.delete_unreachable_route.return_value = False
    host.cgroup_dirs.return_value = []
    host.restore_sysctls.return_value = {}
    left = {("inet", "kube-network-policies")}
    host.delete_nft_table.side_effect = lambda family, name: (family, name) in left
    setup = HostSetup(parse_config({}).local.network, StateDirs(tmp_path), host, Runner())

    undone = setup.revert(tmp_path / "pod-logs")

    assert "nftables table inet kube-network-policies" in undone
    host.delete_nft_table.assert_any_call("inet", "kube-network-policies")
    left.clear()  # what the enforcer does itself when stopped with SIGTERM
    assert setup.revert(tmp_path / "pod-logs") == []
