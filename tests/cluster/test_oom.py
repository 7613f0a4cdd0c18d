"""A Job over its memory limit is OOMKilled; the node and a neighbouring Job carry on."""

from __future__ import annotations

from kubedojo.client.kube import KubeClient
from kubedojo.local.provider import LocalCluster

from .helpers import condition, is_true, job, job_pods, wait_job_finished

HOG = "import numpy as np\nblocks = []\nwhile True:\n    blocks.append(np.ones(16 * 2**20 // 8))\n"
STEADY = (
    "import time\nfor i in range(20):\n    print('step', i, flush=True)\n    time.sleep(1)\nprint('done')\n"
)


def test_job_over_its_memory_limit_is_oomkilled_and_others_are_unharmed(
    cluster: LocalCluster, admin: KubeClient, namespace: str
) -> None:
    image = cluster.image_ref("base")
    admin.batch.create_namespaced_job(
        namespace, job("steady", image, ["python3", "-c", STEADY], memory_limit="128Mi")
    )
    # Wait until the neighbour really runs before the hog starts.
    admin.wait_for(
        "the steady Job's pod to run",
        admin.core.list_namespaced_pod,
        lambda p: p.status.phase == "Running",
        120,
        namespace=namespace,
        label_selector="batch.kubernetes.io/job-name=steady",
    )

    admin.batch.create_namespaced_job(
        namespace, job("hog", image, ["python3", "-c", HOG], memory_limit="96Mi")
    )
    hog = wait_job_finished(admin, namespace, "hog", timeout=120)
    failed = condition(hog, "Failed")
    assert failed is not None and failed.status == "True"
    assert failed.reason == "BackoffLimitExceeded"
    pods = job_pods(admin, namespace, "hog")
    assert len(pods) == 1
    terminated = pods[0].status.container_statuses[0].state.terminated
    assert terminated is not None
    assert terminated.reason == "OOMKilled"
    assert terminated.exit_code == 137

    # The neighbour was not disturbed: still running with no restart, then it completes.
    steady = job_pods(admin, namespace, "steady")[0]
    assert steady.status.phase == "Running"
    assert steady.status.container_statuses[0].restart_count == 0
    assert is_true(admin.core.read_node(cluster.settings.node_name), "Ready")
    done = wait_job_finished(admin, namespace, "steady", timeout=120)
    assert is_true(done, "Complete")
    assert "done" in admin.core.read_namespaced_pod_log(steady.metadata.name, namespace)
