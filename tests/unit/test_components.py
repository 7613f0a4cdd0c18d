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
    return Layout(config.local, StateDirs(tmp_path), tmp_path / "bin", tmp_path / "bin" / "kwok")


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
    assert any(
        a.startswith("--enable-admission-plugins=") and "ExtendedResourceToleration" in a for a in argv
    )


def test_fingerprint_follows_configuration(tmp_path: Path) -> None:
    first = {c.name: c.fingerprint() for c in components(_layout(tmp_path), tmp_path)}
    again = {c.name: c.fingerprint() for c in components(_layout(tmp_path), tmp_path)}
    relabelled = {
        c.name: c.fingerprint() for c in components(_layout(tmp_path, node_labels={"role": "x"}), tmp_path)
    }
    assert first == again
    assert [n for n in first if first[n] != relabelled[n]] == ["kubelet"]
