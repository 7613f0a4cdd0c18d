"""Small helpers the cluster tests share: Jobs, pods and events, always through watches."""

from __future__ import annotations

import os
import signal
from typing import Any

from kubedojo.client.kube import KubeClient
from kubedojo.local.provider import LocalCluster

BASE_IMAGE_NAME = "base"


def condition(obj: Any, kind: str) -> Any:
    for cond in (obj.status.conditions or []) if obj.status else []:
        if cond.type == kind:
            return cond
    return None


def is_true(obj: Any, kind: str) -> bool:
    cond = condition(obj, kind)
    return cond is not None and cond.status == "True"


def job(
    name: str,
    image: str,
    command: list[str],
    *,
    memory_limit: str | None = None,
    backoff_limit: int = 0,
    **pod_spec: Any,
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": image, "command": command}
    if memory_limit is not None:
        container["resources"] = {
            "requests": {"memory": memory_limit, "cpu": "100m"},
            "limits": {"memory": memory_limit},
        }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "backoffLimit": backoff_limit,
            "template": {"spec": {"restartPolicy": "Never", "containers": [container], **pod_spec}},
        },
    }


def wait_job_finished(admin: KubeClient, namespace: str, name: str, timeout: float = 180.0) -> Any:
    return admin.wait_for(
        f"Job {namespace}/{name} to finish",
        admin.batch.list_namespaced_job,
        lambda j: is_true(j, "Complete") or is_true(j, "Failed"),
        timeout,
        namespace=namespace,
        field_selector=f"metadata.name={name}",
    )


def job_pods(admin: KubeClient, namespace: str, name: str) -> list[Any]:
    return list(
        admin.core.list_namespaced_pod(namespace, label_selector=f"batch.kubernetes.io/job-name={name}").items
    )


def wait_pod(
    admin: KubeClient, namespace: str, name: str, done: Any, what: str, timeout: float = 120.0
) -> Any:
    return admin.wait_for(
        f"pod {namespace}/{name} {what}",
        admin.core.list_namespaced_pod,
        done,
        timeout,
        namespace=namespace,
        field_selector=f"metadata.name={name}",
    )


def wait_event(admin: KubeClient, namespace: str, involved: str, reason: str, timeout: float = 60.0) -> Any:
    return admin.wait_for(
        f"a {reason} event for {namespace}/{involved}",
        admin.core.list_namespaced_event,
        lambda e: e.reason == reason,
        timeout,
        namespace=namespace,
        field_selector=f"involvedObject.name={involved}",
    )


def crash(cluster: LocalCluster) -> None:
    """SIGKILL every process of the cluster at once, as a machine whose processes all die (an
    out-of-memory kill spree, a sandbox restart) does: components, shims and containers go, while
    the kernel state (bridge, veths, mounts, cgroups, iptables rules) stays behind."""
    for component in cluster.components:
        cluster.processes.kill(component.daemon)
    for pid in cluster.pod_processes():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
