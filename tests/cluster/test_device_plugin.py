"""The NVIDIA device plugin's real chart (``../shared/charts``, byte-identical to the published
archive, so the sha256 charts/releases.yaml pins) with the project's values: its DaemonSet lands on
the GPU nodes, which on the local cluster are simulated, and on no other node.

What is not exercised here: the plugin itself. It needs NVML and a GPU, so its image is not built
(nothing runs on a simulated node: kwok only reports the pod running); on a site, its nodes' GPUs."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubedojo.addons import addons_environment
from kubedojo.client.kube import KubeClient
from kubedojo.clusterstatus import node_simulated
from kubedojo.config import parse_config
from kubedojo.labels import GPU_NODE_LABEL
from kubedojo.local.provider import LocalCluster
from kubedojo.target import resolve_target

from .conftest import STATE_DIR
from .realcharts import REPO, shipped_release

pytestmark = pytest.mark.cluster

PUBLISHED_SHA256 = "9e5642bcdd3805c6e931f9d3ca542677d1f714d68c14c1364892011e67d9a606"
NAMESPACE = "nvidia-device-plugin"


def test_the_daemonset_lands_on_the_gpu_nodes_only(
    cluster: LocalCluster, admin: KubeClient, tmp_path: Path
) -> None:
    releases = shipped_release(
        "nvidia-device-plugin", "nvidia-device-plugin-0.20.0.tgz", PUBLISHED_SHA256, tmp_path
    )
    gpu_nodes = {n["metadata"]["name"] for n in admin.nodes(label_selector=f"{GPU_NODE_LABEL}=true")}
    assert gpu_nodes, "the test cluster has simulated GPU nodes (conftest.SIM_NODES)"
    assert all(node_simulated(n) for n in admin.nodes(label_selector=f"{GPU_NODE_LABEL}=true"))
    config = parse_config({"local": {"state_dir": STATE_DIR}})
    with addons_environment(config, resolve_target(config, REPO), releases=str(releases)) as addons:
        try:
            (result,) = addons.install(["nvidia-device-plugin"])
            assert result.action == "installed", result
            pods = [p for p in admin.pods(NAMESPACE) if not p["metadata"].get("deletionTimestamp")]
            placed = sorted(str(p["spec"].get("nodeName")) for p in pods)
            assert placed == sorted(gpu_nodes), placed
        finally:
            addons.uninstall(["nvidia-device-plugin"])
    for pod in admin.pods(NAMESPACE):
        admin.wait_deleted("Pod", pod["metadata"]["name"], NAMESPACE, 60)
