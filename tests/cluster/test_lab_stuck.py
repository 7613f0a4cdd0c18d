"""A lab that cannot move says why, at once: each cause below is produced for real on the cluster,
and ``lab.run`` must end because of it (a watcher of this test notes when the cluster first reports
it), with the pending checks failed, the cause and a hint naming the field to change, and evidence
saved, instead of waiting out the lab's 15-minute limit. The bound on how soon is a sanity bound (a
minute), not a speed target: it took 15 s once under a cold CI run's load, under 10 s alone."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kubedojo.client.kube import KubeClient
from kubedojo.labs import LabResult, LabRunner
from kubedojo.labs.room import pod_requests
from kubedojo.local.provider import LocalCluster
from kubedojo.quantity import parse_quantity

from .labtools import CATALOG, assert_full_marks, container, variant

pytestmark = pytest.mark.cluster

LAB = CATALOG.get("01-run-job")
TYPO = "127.0.0.1:5000/kubedojo/lab-01-run-jbo:v1"


class FirstSeen:
    """Watches the namespace and notes when the cluster first reports a cause (as a person would
    see it in 'kubectl describe'): a waiting reason, an Unschedulable condition or a failure event."""

    SIGNS = frozenset(
        {
            "ErrImagePull",
            "ImagePullBackOff",
            "ErrImageNeverPull",
            "CrashLoopBackOff",
            "CreateContainerConfigError",
        }
    )

    def __init__(self, admin: KubeClient, namespace: str) -> None:
        self.at: float | None = None
        self.stop = threading.Event()
        for kind in ("Pod", "Event"):
            threading.Thread(target=self._watch, args=(admin, namespace, kind), daemon=True).start()

    def _watch(self, admin: KubeClient, namespace: str, kind: str) -> None:
        with contextlib.suppress(Exception):
            for event in admin.watch(kind, namespace, timeout=120):
                if self.stop.is_set():
                    return
                if any(self._shows(obj) for obj in event.present) and self.at is None:
                    self.at = time.monotonic()

    def _shows(self, obj: dict[str, Any]) -> bool:
        if obj.get("kind") == "Event":
            return obj.get("reason") in ("FailedCreate", "FailedMount", "FailedScheduling")
        status = obj.get("status") or {}
        waiting = {
            ((c.get("state") or {}).get("waiting") or {}).get("reason")
            for c in status.get("containerStatuses") or []
        }
        unschedulable = any(c.get("reason") == "Unschedulable" for c in status.get("conditions") or [])
        return bool(waiting & self.SIGNS) or unschedulable


@pytest.fixture
def stuck_run(
    lab_runner: LabRunner, admin: KubeClient, namespace: str, tmp_path: Path
) -> Iterator[Callable[[Callable[[list[dict[str, Any]]], Any]], LabResult]]:
    seen: list[FirstSeen] = []

    def run(edit: Callable[[list[dict[str, Any]]], Any]) -> LabResult:
        manifest = variant(LAB, tmp_path, edit)
        watcher = FirstSeen(admin, namespace)
        seen.append(watcher)
        result = lab_runner.run(LAB, manifest, namespace, "tester")
        ended = time.monotonic()
        assert watcher.at is not None, "the cluster never reported the cause"
        assert ended - watcher.at <= 60, f"lab.run ended {ended - watcher.at:.1f} s after the cause appeared"
        complete = next(c for c in result.checks if c.id == "complete")
        assert complete.status == "failed", (complete.status, complete.found)
        assert not [c for c in result.checks if c.status == "pending"]
        assert result.extra["stuck"]["cause"] == complete.found
        assert result.evidence and (Path(result.evidence) / "events.txt").exists()
        return result

    yield run
    for watcher in seen:
        watcher.stop.set()


def hint(result: LabResult) -> str:
    return str(result.extra["stuck"]["hint"])


def test_an_image_name_with_a_typo(stuck_run: Any) -> None:
    result = stuck_run(lambda docs: container(docs[0]).update(image=TYPO))
    assert f"image {TYPO} cannot be pulled" in result.extra["stuck"]["cause"]
    assert "spec.template.spec.containers[name=train].image" in hint(result)


def test_image_pull_policy_never(stuck_run: Any) -> None:
    result = stuck_run(lambda docs: container(docs[0]).update(image=TYPO, imagePullPolicy="Never"))
    assert "imagePullPolicy is Never" in result.extra["stuck"]["cause"]
    assert "remove imagePullPolicy: Never" in hint(result)


def test_a_request_no_node_can_hold(stuck_run: Any) -> None:
    huge = {"requests": {"cpu": "100m", "memory": "900Gi"}, "limits": {"cpu": "1", "memory": "900Gi"}}
    result = stuck_run(lambda docs: container(docs[0]).update(resources=huge))
    assert "Insufficient memory" in result.extra["stuck"]["cause"]
    assert "resources.requests" in hint(result)


def test_a_pod_refused_by_the_namespaces_quota(admin: KubeClient, namespace: str, stuck_run: Any) -> None:
    admin.create(
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "small"},
            "spec": {"hard": {"limits.memory": "256Mi"}},
        },
        namespace,
    )
    result = stuck_run(lambda docs: None)  # the solution's limit is 512Mi
    assert "exceeded quota" in result.extra["stuck"]["cause"]
    assert result.extra["stuck"]["subject"] == "Job/handson-01"
    assert "kubectl describe quota" in hint(result)


def test_a_pod_refused_by_the_limit_range(admin: KubeClient, namespace: str, stuck_run: Any) -> None:
    admin.create(
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": {"name": "small"},
            "spec": {"limits": [{"type": "Container", "max": {"memory": "256Mi"}}]},
        },
        namespace,
    )
    result = stuck_run(lambda docs: None)
    assert "maximum memory usage per Container" in result.extra["stuck"]["cause"]
    assert "kubectl describe limitrange" in hint(result)


def test_a_crash_loop(stuck_run: Any) -> None:
    def crash(docs: list[dict[str, Any]]) -> None:
        docs[0]["spec"]["backoffLimit"] = 6
        docs[0]["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
        container(docs[0]).update(args=["five", "relu", "0.0001"])

    result = stuck_run(crash)
    assert "keeps crashing" in result.extra["stuck"]["cause"]
    assert "--previous" in hint(result)


def test_a_missing_configmap_volume(stuck_run: Any) -> None:
    def mount(docs: list[dict[str, Any]]) -> None:
        spec = docs[0]["spec"]["template"]["spec"]
        spec["volumes"] = [{"name": "hp", "configMap": {"name": "hyper-params"}}]
        container(docs[0])["volumeMounts"] = [{"name": "hp", "mountPath": "/hp"}]

    result = stuck_run(mount)
    assert 'configmap "hyper-params" not found' in result.extra["stuck"]["cause"]
    assert "create the configmap hyper-params first" in hint(result)


def test_a_missing_claim(stuck_run: Any) -> None:
    def claim(docs: list[dict[str, Any]]) -> None:
        spec = docs[0]["spec"]["template"]["spec"]
        spec["volumes"] = [{"name": "models", "persistentVolumeClaim": {"claimName": "models"}}]
        container(docs[0])["volumeMounts"] = [{"name": "models", "mountPath": "/models"}]

    result = stuck_run(claim)
    assert 'persistentvolumeclaim "models" not found' in result.extra["stuck"]["cause"]
    assert "create the persistentvolumeclaim models first" in hint(result)


def _free_millicores(admin: KubeClient, node: str) -> int:
    allocatable = parse_quantity(admin.get("Node", node)["status"]["allocatable"]["cpu"])
    running = [
        p
        for p in admin.list("Pod", field_selector=f"spec.nodeName={node}")
        if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]
    held = sum((pod_requests(p).get("cpu", Decimal(0)) for p in running), Decimal(0))
    return int((allocatable - held) * 1000)


def test_waiting_for_room_that_another_namespaces_pod_holds_is_not_stuck(
    cluster: LocalCluster,
    lab_runner: LabRunner,
    admin: KubeClient,
    namespace: str,
    other_namespace: str,
    tmp_path: Path,
) -> None:
    """A CI run once failed lab 05 at once with "Insufficient cpu" while the pods of the tests before
    it still held the node's CPU: room that pods elsewhere hold (another participant's Jobs) comes
    back when they end. The lab's pod waits, runs, and gets full marks."""
    node = cluster.settings.node_name
    wanted = 250  # the solution's request, millicores
    filler = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "holds-the-cpu", "namespace": other_namespace},
        "spec": {
            "nodeName": node,  # straight onto the node: no scheduling race with the lab's pod
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "hold",
                    "image": cluster.image_ref("base"),
                    "command": ["sleep", "25"],
                    "resources": {"requests": {"cpu": f"{_free_millicores(admin, node) - wanted // 2}m"}},
                }
            ],
        },
    }
    admin.create(filler)
    admin.wait_for(
        "the pod holding the node's CPU to run",
        "Pod",
        lambda p: (p.get("status") or {}).get("phase") == "Running",
        60,
        other_namespace,
        name="holds-the-cpu",
    )
    watcher = FirstSeen(admin, namespace)
    try:
        result = lab_runner.run(LAB, LAB.solution_path, namespace, "tester")
    finally:
        watcher.stop.set()
    assert watcher.at is not None, "the lab's pod never waited for room"
    assert "stuck" not in result.extra, result.extra.get("stuck")
    assert_full_marks(result)
