"""GPU pods land on the simulated GPU pool when they tolerate its taint; one that does not, or that asks
for more GPUs than a node has, stays Pending with the scheduler's reason."""

from __future__ import annotations

from typing import Any

from kubedojo.client.kube import KubeClient
from kubedojo.local.provider import LocalCluster
from kubedojo.local.simnodes import SIM_POOL_LABEL

from .helpers import wait_event, wait_pod

GPU_TOLERATION = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}


def gpu_pod(name: str, image: str, gpus: int, tolerate: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "tolerations": [GPU_TOLERATION] if tolerate else [],
            "containers": [
                {
                    "name": "train",
                    "image": image,
                    "command": ["python3", "-c", "pass"],
                    "resources": {"limits": {"nvidia.com/gpu": str(gpus)}},
                }
            ],
        },
    }


def test_gpu_pod_lands_on_a_simulated_gpu_node(
    cluster: LocalCluster, admin: KubeClient, namespace: str
) -> None:
    admin.create(gpu_pod("one-gpu", cluster.image_ref("base"), 1), namespace)
    pod = wait_pod(
        admin, namespace, "one-gpu", lambda p: (p.get("status") or {}).get("phase") == "Running", "to run"
    )
    node = admin.get("Node", pod["spec"]["nodeName"])
    assert node["metadata"]["labels"][SIM_POOL_LABEL] == "gpu"
    assert node["metadata"]["labels"]["role"] == "train-gpu"


def test_gpu_pod_without_the_toleration_is_kept_off_the_gpu_pool(
    cluster: LocalCluster, admin: KubeClient, namespace: str
) -> None:
    # No admission plugin adds the toleration (as on a kubespray site): the taint keeps it off.
    admin.create(gpu_pod("untolerated", cluster.image_ref("base"), 1, tolerate=False), namespace)
    event = wait_event(admin, namespace, "untolerated", "FailedScheduling")
    assert "untolerated taint" in event["message"], event["message"]
    tolerations = admin.get("Pod", "untolerated", namespace)["spec"].get("tolerations") or []
    assert not [t for t in tolerations if t.get("key") == "nvidia.com/gpu"], tolerations


def test_pod_asking_for_more_gpus_than_exist_stays_pending(
    cluster: LocalCluster, admin: KubeClient, namespace: str
) -> None:
    admin.create(gpu_pod("greedy", cluster.image_ref("base"), 4), namespace)
    event = wait_event(admin, namespace, "greedy", "FailedScheduling")
    assert "nvidia.com/gpu" in event["message"]
    pod = admin.get("Pod", "greedy", namespace)
    assert pod["status"]["phase"] == "Pending"
    assert pod["spec"].get("nodeName") is None
