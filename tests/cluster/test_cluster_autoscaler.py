"""cluster-autoscaler for real: the upstream chart (``../shared/charts``, see its PROVENANCE.md) with the
project's releases.yaml entry, its values and the node groups kubedojo generates from the workshop's
simulated pools, running kubedojo's build of 1.35.2 with the kwok provider from the local registry.

The GPUs of the cluster's simulated GPU nodes are taken first; then one more pod requesting
``nvidia.com/gpu: 1`` stays Pending until the autoscaler adds a node to the ``ca-gpu`` group (which
starts at 0) from the gpu pool's template: the pool's labels, taint and GPU, without the provider's
own ``kwok-provider`` taint. The pod is scheduled there (and kwok runs it). When the pod is gone, the
node stays while in use when the autoscaler is uninstalled. Lab 06-gpu-autoscale's reference solution
then goes through the whole cycle (scale-up, the Job on the new node, the idle node removed) by every
grading route, and a variant without the toleration stops as soon as the autoscaler declines it. The
times are printed (``-s``) and recorded as the test's properties; the figures in docs/benchmarks.md
come from bench/addons_real.py."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubedojo.addons import Addons, addons_environment
from kubedojo.addons.kwok_groups import GROUP_ANNOTATION
from kubedojo.client.kube import KubeClient
from kubedojo.config import parse_config
from kubedojo.labels import GPU_NODE_LABEL
from kubedojo.labs import LabRunner
from kubedojo.local.images import CLUSTER_AUTOSCALER_IMAGE
from kubedojo.local.provider import LocalCluster
from kubedojo.target import resolve_target

from .conftest import STATE_DIR
from .helpers import wait_event
from .labtools import CATALOG, assert_full_marks, assert_partial, every_route, named, run, variant
from .realcharts import REPO, shipped_releases

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("addon_images")]

GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def gpu_pod(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "nodeSelector": {GPU_NODE_LABEL: "true"},
            "tolerations": [GPU_TOLERATION],
            "containers": [
                {
                    "name": "train",
                    "image": "127.0.0.1:5000/kubedojo/base:bookworm-py3-3",
                    "command": ["sleep", "3600"],
                    "resources": {"limits": {"nvidia.com/gpu": "1"}},
                    "securityContext": {"allowPrivilegeEscalation": False},
                }
            ],
            "terminationGracePeriodSeconds": 0,
        },
    }


@pytest.fixture(scope="module")
def autoscaler(cluster: LocalCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Addons]:
    releases = shipped_releases(["metrics-server", "cluster-autoscaler"], tmp_path_factory.mktemp("ca"))
    cluster.ensure_addon_images()
    config = parse_config({"local": {"state_dir": STATE_DIR}})
    with addons_environment(config, resolve_target(config, REPO), releases=str(releases)) as addons:
        try:
            results = {r.name: r.action for r in addons.install(["cluster-autoscaler"])}
            assert results == {"metrics-server": "installed", "cluster-autoscaler": "installed"}, results
            yield addons
        finally:
            addons.uninstall(["cluster-autoscaler", "metrics-server"])


def _scheduled_on(admin: KubeClient, namespace: str, name: str, timeout: float) -> dict[str, Any]:
    return admin.wait_for(
        f"pod {namespace}/{name} to be scheduled",
        "Pod",
        lambda p: bool(p["spec"].get("nodeName")),
        timeout,
        namespace,
        name=name,
    )


def _take_every_gpu_node(admin: KubeClient, namespace: str) -> None:
    """Occupy the simulated GPU nodes ``cluster.up`` made, so that only a new node can take a GPU pod."""
    existing = admin.nodes(label_selector=f"{GPU_NODE_LABEL}=true")
    assert existing and not any(GROUP_ANNOTATION in n["metadata"].get("annotations", {}) for n in existing)
    for index in range(len(existing)):
        admin.create(gpu_pod(f"busy-{index}"), namespace)
        _scheduled_on(admin, namespace, f"busy-{index}", 60)


def test_lab_06_autoscale_solution_sees_the_whole_cycle_by_every_route(
    autoscaler: Addons, lab_runner: LabRunner, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    _take_every_gpu_node(admin, namespace)
    lab = CATALOG.get("06-gpu-autoscale")
    result = every_route(lab_runner, lab.id, lab.solution_path, namespace, tmp_path / "class", timeout=400)
    checks = {c.id: c for c in result.checks}
    assert checks.pop("gpu-seen").status == "skipped"
    assert all(c.status == "passed" for c in checks.values()), [(c.id, c.found) for c in checks.values()]
    scaled = checks["scaled-up-and-down"].found
    assert "scale-up of ca-gpu" in scaled and "removed since" in scaled, scaled
    assert result.score == result.max_score == lab.max_score - 1
    print(scaled)


def test_lab_06_autoscale_without_the_toleration_stops_when_the_autoscaler_declines(
    autoscaler: Addons, lab_runner: LabRunner, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    _take_every_gpu_node(admin, namespace)
    lab = CATALOG.get("06-gpu-autoscale")

    def untolerated(docs: list[dict[str, Any]]) -> None:
        del named(docs, "Job", "handson-06-scale")["spec"]["template"]["spec"]["tolerations"]

    began = time.monotonic()
    result = run(lab_runner, lab.id, variant(lab, tmp_path, untolerated), namespace)
    assert time.monotonic() - began < 120  # the autoscaler's verdict, not the lab's time limit
    failed = {"tolerates-gpu-taint", "scaled-up-and-down", "on-new-gpu-node", "complete", "gpu-seen"}
    assert_partial(result, failed, "toleration")
    assert "untolerated taint" in {c.id: c for c in result.checks}["complete"].found
    assert not [n for n in admin.list("Node") if n["metadata"]["name"].startswith("ca-gpu-")]


def test_lab_05_autoscale_grid_the_cpu_pool_grows_and_the_queue_drains(
    autoscaler: Addons, lab_runner: LabRunner, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    lab = CATALOG.get("05-autoscale-grid")
    began = time.monotonic()
    try:
        result = every_route(
            lab_runner, lab.id, lab.solution_path, namespace, tmp_path / "class", timeout=400
        )
    finally:  # the pool's idle nodes would stay once the autoscaler is uninstalled
        for node in admin.list("Node"):
            if node["metadata"]["name"].startswith("ca-train-cpu-"):
                admin.delete("Node", node["metadata"]["name"])
    assert_full_marks(result)
    print(
        f"24-job grid: {time.monotonic() - began:.0f} s;", {c.id: c.found for c in result.checks}["pool-grew"]
    )


def test_lab_05_autoscale_grid_more_cpu_than_a_node_has_stops_when_the_autoscaler_declines(
    autoscaler: Addons, lab_runner: LabRunner, namespace: str, tmp_path: Path
) -> None:
    lab = CATALOG.get("05-autoscale-grid")

    def too_big(docs: list[dict[str, Any]]) -> None:
        for doc in docs:
            resources = doc["spec"]["template"]["spec"]["containers"][0]["resources"]
            resources["requests"]["cpu"] = resources["limits"]["cpu"] = "6"  # a train-cpu node has 4

    began = time.monotonic()
    result = run(lab_runner, lab.id, variant(lab, tmp_path, too_big), namespace)
    assert time.monotonic() - began < 120  # the autoscaler's verdict, not the lab's time limit
    failed = {"pool-grew", "on-cpu-pool", "side-by-side", "all-done"}
    assert_partial(result, failed, "resources.requests")


def test_a_pending_gpu_pod_gets_a_node_from_the_pools_template_which_stays_in_use_after_uninstall(
    autoscaler: Addons,
    admin: KubeClient,
    namespace: str,
    cluster: LocalCluster,
    record_property: Any,
) -> None:
    (deployment,) = [
        d for d in admin.list("Deployment", "kube-system") if "cluster-autoscaler" in d["metadata"]["name"]
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"] == CLUSTER_AUTOSCALER_IMAGE.ref(cluster.registry)
    _take_every_gpu_node(admin, namespace)

    created = time.monotonic()
    admin.create(gpu_pod("wants-a-gpu"), namespace)
    event = wait_event(admin, namespace, "wants-a-gpu", "TriggeredScaleUp", timeout=120)
    assert "ca-gpu" in event.get("message", ""), event
    pod = _scheduled_on(admin, namespace, "wants-a-gpu", 180)
    scheduled = time.monotonic()
    node = admin.get("Node", pod["spec"]["nodeName"])
    assert node["metadata"]["annotations"].get(GROUP_ANNOTATION) == "ca-gpu", node["metadata"]
    assert node["metadata"]["name"].startswith("ca-gpu-")
    assert node["status"]["allocatable"]["nvidia.com/gpu"] == "1"
    assert node["metadata"]["labels"][GPU_NODE_LABEL] == "true"
    taints = {(t["key"], t["effect"]) for t in node["spec"].get("taints") or []}
    assert taints == {("nvidia.com/gpu", "NoSchedule")}, taints  # the pool's, no kwok-provider taint

    record_property("pending_to_scheduled_s", round(scheduled - created, 1))
    print(f"pending → scheduled {scheduled - created:.1f} s")
    # The node's removal when idle is shown by lab 06-gpu-autoscale's test below, through its grading.

    # Restarted (its pod deleted, as an upgrade or a drain does), the autoscaler leaves the node and
    # the pod on it alone: with its status ConfigMap on, its clean-up on SIGTERM deleted both.
    kept = node["metadata"]["name"]
    prefix = deployment["metadata"]["name"]
    (old,) = [p for p in admin.pods("kube-system") if p["metadata"]["name"].startswith(prefix)]
    admin.delete("Pod", old["metadata"]["name"], "kube-system")
    admin.wait_deleted("Pod", old["metadata"]["name"], "kube-system", 90)
    admin.wait_for(
        "the autoscaler's new pod to be ready",
        "Pod",
        lambda p: (
            p["metadata"]["name"].startswith(prefix)
            and any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in (p.get("status") or {}).get("conditions", [])
            )
        ),
        120,
        "kube-system",
    )
    assert admin.find("Node", kept) is not None
    assert admin.get("Pod", "wants-a-gpu", namespace)["status"]["phase"] == "Running"

    # Uninstalled, it leaves no pod of its own; a node it made that is still in use stays (docs/addons.md).
    autoscaler.uninstall(["cluster-autoscaler"])
    left = [
        p
        for p in admin.pods("kube-system")
        if p["metadata"]["name"].startswith(deployment["metadata"]["name"])
    ]
    for pod in left:
        admin.wait_deleted("Pod", pod["metadata"]["name"], "kube-system", 60)
    assert admin.find("Node", kept) is not None
    admin.delete("Node", kept)  # what the docs tell an instructor to do
    admin.wait_deleted("Node", kept, None, 60)
