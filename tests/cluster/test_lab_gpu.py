"""Labs 06-gpu, 01-node-pools and 03-node-loss on the real local cluster with its simulated pools:
the reference solutions get full marks by every route (the checks of what the program did are not applicable on
simulated nodes, and their points leave the maximum); the classic mistakes (no toleration, the GPU in
requests only, a preferred affinity) fail with their hints; a namespace quota too small for the lab's
GPUs is said before anything is applied. The autoscaling labs are in test_cluster_autoscaler.py."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from kubedojo.client.kube import KubeClient
from kubedojo.config import DEFAULT_SIM_POOLS
from kubedojo.errors import ConfigError
from kubedojo.labs import LabRunner
from kubedojo.local.simnodes import node_object

from .labtools import CATALOG, assert_partial, container, every_route, named, run, variant

pytestmark = pytest.mark.cluster

LAB = CATALOG.get("06-gpu")


def test_06_solution_by_every_route(lab_runner: LabRunner, namespace: str, tmp_path: Path) -> None:
    result = every_route(lab_runner, LAB.id, LAB.solution_path, namespace, tmp_path / "class")
    checks = {c.id: c for c in result.checks}
    assert checks.pop("gpu-seen").status == "skipped"
    assert all(c.status == "passed" for c in checks.values()), [(c.id, c.found) for c in checks.values()]
    assert result.status == "passed" and result.score == result.max_score == LAB.max_score - 2
    assert "simulated" in checks["on-gpu-node"].found and "kwok ended it" in checks["complete"].found
    assert "Insufficient nvidia.com/gpu" in checks["greedy-pending"].found


def test_06_without_the_toleration_stops_at_once_with_the_hint(
    lab_runner: LabRunner, namespace: str, tmp_path: Path
) -> None:
    def untolerated(docs: list[dict[str, Any]]) -> None:
        del named(docs, "Job", "handson-06")["spec"]["template"]["spec"]["tolerations"]

    result = run(lab_runner, LAB.id, variant(LAB, tmp_path, untolerated), namespace)
    assert_partial(result, {"tolerates-gpu-taint", "on-gpu-node", "complete", "gpu-seen"}, "toleration")
    assert "untolerated taint" in {c.id: c for c in result.checks}["complete"].found


def test_06_the_gpu_in_requests_only_is_refused(
    lab_runner: LabRunner, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    def requested(docs: list[dict[str, Any]]) -> None:
        resources = container(named(docs, "Job", "handson-06"))["resources"]
        resources["requests"]["nvidia.com/gpu"] = resources["limits"].pop("nvidia.com/gpu")

    result = run(lab_runner, LAB.id, variant(LAB, tmp_path, requested), namespace)
    assert result.refused is not None and "Limit must be set" in result.refused
    gpu_limit = {c.id: c for c in result.checks}["gpu-limit"]
    assert gpu_limit.status == "failed" and "resources.limits" in gpu_limit.hint
    assert admin.list("Job", namespace) == []


def test_06_a_quota_without_room_for_the_gpus_is_said_before_anything_is_applied(
    lab_runner: LabRunner, admin: KubeClient, namespace: str
) -> None:
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "gpus"},
        "spec": {"hard": {"requests.nvidia.com/gpu": "1"}},
    }
    admin.create(quota, namespace)
    admin.wait_for(
        "the quota's status",
        "ResourceQuota",
        lambda q: "used" in (q.get("status") or {}),
        30,
        namespace,
        name="gpus",
    )
    with pytest.raises(ConfigError, match=r"needs 3 nvidia.com/gpu .*leaves 1 \(requests.nvidia.com/gpu\)"):
        run(lab_runner, LAB.id, LAB.solution_path, namespace)
    assert admin.list("Job", namespace) == []


# -- 01-node-pools: the same scheduling checks on the CPU and memory pools ------------------------

POOLS = CATALOG.get("01-node-pools")


def test_01_node_pools_solution_by_every_route(lab_runner: LabRunner, namespace: str, tmp_path: Path) -> None:
    result = every_route(lab_runner, POOLS.id, POOLS.solution_path, namespace, tmp_path / "class")
    checks = {c.id: c for c in result.checks}
    assert checks.pop("accuracy").status == "skipped"  # nothing trains on a simulated node
    assert all(c.status == "passed" for c in checks.values()), [(c.id, c.found) for c in checks.values()]
    assert "sim-train-cpu-0" in checks["cpu-placed"].found and "sim-train-mem-0" in checks["mem-placed"].found


def test_01_node_pools_a_preferred_affinity_is_not_a_requirement(
    lab_runner: LabRunner, namespace: str, tmp_path: Path
) -> None:
    def preferred(docs: list[dict[str, Any]]) -> None:
        affinity = named(docs, "Job", "handson-01-mem")["spec"]["template"]["spec"]["affinity"][
            "nodeAffinity"
        ]
        (term,) = affinity.pop("requiredDuringSchedulingIgnoredDuringExecution")["nodeSelectorTerms"]
        affinity["preferredDuringSchedulingIgnoredDuringExecution"] = [{"weight": 100, "preference": term}]

    result = run(lab_runner, POOLS.id, variant(POOLS, tmp_path, preferred), namespace)
    assert_partial(result, {"mem-selector"}, "requiredDuringSchedulingIgnoredDuringExecution")


# -- 03-node-loss: the node under a running pod is deleted; the Job runs it again elsewhere --------

LOSS = CATALOG.get("03-node-loss")


OUT_OF_SERVICE = {"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown", "effect": "NoExecute"}


def test_03_node_loss_the_job_runs_its_pod_again_on_another_node(
    lab_runner: LabRunner, admin: KubeClient, namespace: str
) -> None:
    """The node under the running pod is marked out of service (as after a node died): its pod is
    removed at once, and the Job's next pod runs on the pool's other node."""
    pool = DEFAULT_SIM_POOLS["train-cpu"]
    extra = node_object("train-cpu", 9, pool)  # a second node in the pool, for the replacement
    admin.create(extra)
    outcome: dict[str, Any] = {}

    def submit() -> None:
        try:
            outcome["result"] = run(lab_runner, LOSS.id, LOSS.solution_path, namespace, timeout=240)
        except BaseException as exc:  # handed to the test's thread
            outcome["error"] = exc

    lost = ""
    worker = threading.Thread(target=submit)
    worker.start()
    try:
        pod = admin.wait_for(
            "the training pod to run",
            "Pod",
            lambda p: (p.get("status") or {}).get("phase") == "Running",
            120,
            namespace,
            label_selector="batch.kubernetes.io/job-name=handson-03-node-loss",
        )
        lost = pod["spec"]["nodeName"]
        node = admin.get("Node", lost)  # mid-run: the simulated run lasts SIM_JOB_SECONDS
        taints = [*(node["spec"].get("taints") or []), OUT_OF_SERVICE]
        admin.apply_one(
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": lost}, "spec": {"taints": taints}}
        )
        worker.join(300)
        assert not worker.is_alive(), "lab.run did not return"
        if "error" in outcome:
            raise outcome["error"]
        result = outcome["result"]
        checks = {c.id: c for c in result.checks}
        assert result.status == "passed", [(c.id, c.status, c.found) for c in result.checks]
        assert f"lost with {lost}" in checks["rescheduled"].found, checks["rescheduled"].found
        created = [
            e
            for e in admin.list("Event", namespace)
            if e.get("reason") == "SuccessfulCreate" and e["involvedObject"]["name"] == "handson-03-node-loss"
        ]
        assert sum(int(e.get("count") or 1) for e in created) == 2, created  # the lost pod, its replacement
    finally:
        worker.join(300)
        for name in {extra["metadata"]["name"], lost} - {""}:  # the tainted node goes, made afresh
            admin.delete("Node", name)
            admin.wait_deleted("Node", name, None, 60)
        if lost and lost != extra["metadata"]["name"]:  # a node cluster.up made: as it was
            admin.create(node_object("train-cpu", int(lost.rsplit("-", 1)[1]), pool))


def test_03_node_loss_without_a_lost_node_says_what_to_do(lab_runner: LabRunner, namespace: str) -> None:
    result = run(lab_runner, LOSS.id, LOSS.solution_path, namespace)
    rescheduled = {c.id: c for c in result.checks}["rescheduled"]
    assert rescheduled.status == "failed" and "out-of-service" in rescheduled.hint
