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
    admin.create(job("steady", image, ["python3", "-c", STEADY], memory_limit="128Mi"), namespace)
    # Wait until the neighbour really runs before the hog starts.
    admin.wait_for(
        "the steady Job's pod to run",
        "Pod",
        lambda p: (p.get("status") or {}).get("phase") == "Running",
        120,
        namespace,
        label_selector="batch.kubernetes.io/job-name=steady",
    )

    admin.create(job("hog", image, ["python3", "-c", HOG], memory_limit="96Mi"), namespace)
    hog = wait_job_finished(admin, namespace, "hog", timeout=120)
    failed = condition(hog, "Failed")
    assert failed is not None and failed["status"] == "True"
    assert failed.get("reason") == "BackoffLimitExceeded"
    pods = job_pods(admin, namespace, "hog")
    assert len(pods) == 1
    terminated = pods[0]["status"]["containerStatuses"][0]["state"].get("terminated")
    assert terminated is not None
    assert terminated.get("reason") == "OOMKilled"
    assert terminated.get("exitCode") == 137

    # The neighbour was not disturbed: still running with no restart, then it completes.
    steady = job_pods(admin, namespace, "steady")[0]
    assert steady["status"]["phase"] == "Running"
    assert steady["status"]["containerStatuses"][0]["restartCount"] == 0
    assert is_true(admin.get("Node", cluster.settings.node_name), "Ready")
    done = wait_job_finished(admin, namespace, "steady", timeout=120)
    assert is_true(done, "Complete")
    log = admin.pod_log(namespace, steady["metadata"]["name"])
    assert log is not None and "done" in log
