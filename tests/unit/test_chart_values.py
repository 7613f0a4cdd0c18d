"""The real pinned charts, rendered with kubedojo's values by the real helm (``helm template``): the
settings that matter for a workshop must come out as intended.

The chart archives are not in the repository (no chart repository can be reached from CI). Each test
takes its archive from the bundle (``invoke charts.pull`` makes it: ``charts/bundle``, or the
directory in ``$KUBEDOJO_CHART_BUNDLE``), else from the workplace's copies of the real charts
(``../shared/charts``, see its PROVENANCE.md: two are the published archives, four were packaged from
the upstream source at the release tag, so their sha256 differs from the digest ``releases.yaml``
pins; rendering trusts that provenance, not the pin), and is skipped, saying so, when neither has it.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubedojo.addons import ClusterFacts, helm_binary, load_releases, render_values
from kubedojo.client.helm import ChartRef, HelmClient
from kubedojo.config import parse_config
from kubedojo.errors import ToolMissingError

REPO = Path(__file__).resolve().parents[2]
RELEASES = load_releases(REPO / "charts" / "releases.yaml")
BUNDLE = Path(os.environ.get("KUBEDOJO_CHART_BUNDLE", REPO / "charts" / "bundle"))
SHARED_CHARTS = REPO.parent / "shared" / "charts"
KUBESPRAY = ClusterFacts(
    kind="kubespray",
    gpu_nodes=1,
    nfs_server="10.0.0.5",
    nfs_path="/srv/nfs/k8s",
    autoscaler="clusterapi",
    cluster_name="lab",
    registry="10.0.0.9:5000",
)
LOCAL = ClusterFacts(
    kind="local", gpu_nodes=0, autoscaler="kwok", cluster_name="kubedojo", registry="127.0.0.1:5000"
)


def render(name: str, facts: ClusterFacts, tmp_path: Path) -> list[dict[str, Any]]:
    release = RELEASES.get(name)
    name = f"{release.chart}-{release.version}.tgz"
    archive = next((d / name for d in (BUNDLE / "charts", SHARED_CHARTS) if (d / name).is_file()), None)
    if archive is None:
        pytest.skip(
            f"{name} is neither in {BUNDLE / 'charts'} nor in {SHARED_CHARTS}: 'invoke charts.pull' "
            "downloads it (needs the chart repositories)"
        )
    try:
        binary = helm_binary(parse_config({}))
    except ToolMissingError as exc:
        pytest.skip(str(exc))
    helm = HelmClient(binary, None, tmp_path / "helm")

    async def go() -> list[dict[str, Any]]:
        chart = await helm.chart(ChartRef(release.chart, release.version, path=str(archive)))
        values = render_values(release, RELEASES.directory, facts)
        return await helm.template(chart, release.name, values, release.namespace)

    return asyncio.run(go())


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects if o.get("kind") == kind and (name is None or o["metadata"]["name"] == name)]


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj["spec"]["template"]["spec"] if "template" in obj["spec"] else obj["spec"]
    return list(spec.get("containers", [])) + list(spec.get("initContainers", []))


def test_nfs_storage_makes_the_nfs_storage_class(tmp_path: Path) -> None:
    objects = render("nfs-storage", KUBESPRAY, tmp_path)
    (storage_class,) = find(objects, "StorageClass")
    assert storage_class["metadata"]["name"] == "nfs-storage"
    assert storage_class["provisioner"] == "kubedojo.dev/nfs-storage"
    assert storage_class["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    (deployment,) = find(objects, "Deployment")
    env = {e["name"]: e["value"] for e in containers(deployment)[0]["env"]}
    assert (env["NFS_SERVER"], env["NFS_PATH"]) == ("10.0.0.5", "/srv/nfs/k8s")


def test_metrics_server_skips_kubelet_tls_checks_only_on_kubespray(tmp_path: Path) -> None:
    (deployment,) = find(render("metrics-server", KUBESPRAY, tmp_path), "Deployment")
    assert "--kubelet-insecure-tls" in containers(deployment)[0]["args"]
    (local,) = find(render("metrics-server", LOCAL, tmp_path), "Deployment")
    assert "--kubelet-insecure-tls" not in containers(local)[0]["args"]


def test_minio_is_one_small_server_with_generated_credentials(tmp_path: Path) -> None:
    objects = render("minio", KUBESPRAY, tmp_path)
    (deployment,) = find(objects, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    server = containers(deployment)[0]
    env = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef", {}) for e in server["env"]}
    assert env["MINIO_ROOT_PASSWORD"] == {"name": "minio-root", "key": "rootPassword"}
    assert server["resources"]["requests"]["memory"] == "512Mi"
    (claim,) = find(objects, "PersistentVolumeClaim")
    assert claim["spec"]["storageClassName"] == "nfs-storage"
    assert find(objects, "Secret", "minio") == []  # the root credentials are kubedojo's Secret
    rendered = str(objects)
    assert "console123" not in rendered  # the chart's default user is gone
    assert "argo-artifacts" in rendered and "minio-argo" in rendered


def test_argo_workflows_installs_offline_with_server_auth_and_minio_artifacts(tmp_path: Path) -> None:
    objects = render("argo-workflows", KUBESPRAY, tmp_path)
    rendered = str(objects)
    assert "raw.githubusercontent.com" not in rendered  # no CRD download Job
    assert find(objects, "Job") == []
    crds = {o["metadata"]["name"] for o in find(objects, "CustomResourceDefinition")}
    assert "workflows.argoproj.io" in crds
    server = next(d for d in find(objects, "Deployment") if "server" in d["metadata"]["name"])
    assert "--auth-mode=server" in containers(server)[0]["args"]
    service = next(s for s in find(objects, "Service") if "server" in s["metadata"]["name"])
    assert service["spec"]["type"] == "NodePort" and service["spec"]["ports"][0]["nodePort"] == 32746
    controller = next(d for d in find(objects, "Deployment") if "controller" in d["metadata"]["name"])
    args = containers(controller)[0]["args"]
    executor = args[args.index("--executor-image") + 1] if "--executor-image" in args else ""
    assert executor in RELEASES.get("argo-workflows").extra_images
    config = next(c for c in find(objects, "ConfigMap") if "controller" in c["metadata"]["name"])
    assert "argo-s3-creds" in str(config["data"]) and "argo-artifacts" in str(config["data"])
    assert find(objects, "ServiceAccount", "argo-workflow")


def test_the_device_plugin_runs_on_gpu_nodes_only(tmp_path: Path) -> None:
    (daemonset,) = [
        d
        for d in find(render("nvidia-device-plugin", KUBESPRAY, tmp_path), "DaemonSet")
        if "mps" not in d["metadata"]["name"]
    ]
    spec = daemonset["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in spec["tolerations"]


def test_the_autoscaler_uses_the_sites_provider(tmp_path: Path) -> None:
    (deployment,) = find(render("cluster-autoscaler", KUBESPRAY, tmp_path), "Deployment")
    container = containers(deployment)[0]
    assert "--cloud-provider=clusterapi" in container["command"] + container.get("args", [])
    assert container["image"].endswith(":v1.35.0")  # the chart's own image on a site
    assert not find(render("cluster-autoscaler", KUBESPRAY, tmp_path), "ConfigMap", "kubedojo-kwok-templates")


def test_the_local_autoscaler_gets_node_groups_from_the_workshops_pools(tmp_path: Path) -> None:
    gpu_pool = {
        "capacity": {"cpu": "8", "memory": "61Gi", "nvidia.com/gpu": "1"},
        "labels": {"nvidia.com/gpu.present": "true"},
        "taints": ["nvidia.com/gpu=present:NoSchedule"],
        "autoscale_max": 2,
    }
    pools = parse_config(
        {"local": {"sim_pools": {"gpu": gpu_pool, "fixed": {"autoscale_max": 0}}}}
    ).local.sim_pools
    built = "127.0.0.1:5000/kubedojo/cluster-autoscaler:1.35.2-kubedojo1"
    facts = replace(LOCAL, sim_pools=pools, images={"cluster-autoscaler": built})
    objects = render("cluster-autoscaler", facts, tmp_path)
    (deployment,) = find(objects, "Deployment")
    container = containers(deployment)[0]
    assert "--cloud-provider=kwok" in container["command"] + container.get("args", [])
    assert container["image"] == built
    env = [e for e in container["env"] if e["name"] == "KWOK_PROVIDER_CONFIGMAP"]
    assert env[-1]["value"] == "kubedojo-kwok-provider-config"  # the kubelet takes the last one
    (provider,) = find(objects, "ConfigMap", "kubedojo-kwok-provider-config")
    config = yaml.safe_load(provider["data"]["config"])
    assert config["nodes"]["skipTaint"] is True and config["readNodesFrom"] == "configmap"
    assert config["configmap"]["name"] == "kubedojo-kwok-templates"
    (templates,) = find(objects, "ConfigMap", "kubedojo-kwok-templates")
    nodes = {n["metadata"]["name"]: n for n in yaml.safe_load(templates["data"]["templates"])["items"]}
    assert set(nodes) == {"ca-gpu"}  # a pool with autoscale_max 0 gets no group
    gpu = nodes["ca-gpu"]
    assert gpu["status"]["allocatable"]["nvidia.com/gpu"] == "1"
    assert gpu["status"]["allocatable"]["pods"] == "110"  # the provider needs a pod capacity
    assert gpu["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert gpu["metadata"]["annotations"]["cluster-autoscaler.kwok.nodegroup/max-count"] == "2"
    assert gpu["metadata"]["annotations"]["cluster-autoscaler.kwok.nodegroup/min-count"] == "0"
    assert gpu["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"  # the cluster's kwok runs it
    assert "kubernetes.io/hostname" not in gpu["metadata"]["labels"]
