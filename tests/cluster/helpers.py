"""Small helpers the cluster tests share: Jobs, pods and events, always through watches."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from kubedojo.client.kubeapi import KubeAPI, condition_true
from kubedojo.errors import Forbidden
from kubedojo.local.provider import LocalCluster

BASE_IMAGE_NAME = "base"
Obj = dict[str, Any]


def condition(obj: Obj, kind: str) -> Obj | None:
    """The object's status condition of type ``kind`` (a dict, as the API sends it), or None."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond  # type: ignore[no-any-return]
    return None


def is_true(obj: Obj, kind: str) -> bool:
    return condition_true(obj, kind)


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


def wait_job_finished(admin: KubeAPI, namespace: str, name: str, timeout: float = 180.0) -> Obj:
    return admin.wait_for(
        f"Job {namespace}/{name} to finish",
        "Job",
        lambda j: is_true(j, "Complete") or is_true(j, "Failed"),
        timeout,
        namespace,
        name=name,
    )


def job_pods(admin: KubeAPI, namespace: str, name: str) -> list[Obj]:
    return admin.pods(namespace, label_selector=f"batch.kubernetes.io/job-name={name}")


def wait_pod(
    admin: KubeAPI,
    namespace: str,
    name: str,
    done: Callable[[Obj], bool],
    what: str,
    timeout: float = 120.0,
) -> Obj:
    return admin.wait_for(f"pod {namespace}/{name} {what}", "Pod", done, timeout, namespace, name=name)


def wait_event(admin: KubeAPI, namespace: str, involved: str, reason: str, timeout: float = 60.0) -> Obj:
    return admin.wait_for(
        f"a {reason} event for {namespace}/{involved}",
        "Event",
        lambda e: e.get("reason") == reason,
        timeout,
        namespace,
        field_selector=f"involvedObject.name={involved}",
    )


def crash(cluster: LocalCluster) -> None:
    """SIGKILL every process of the cluster at once, as a machine whose processes all die (an
    out-of-memory kill spree, a sandbox restart) does: components, shims and containers go, while
    the kernel state (bridge, veths, mounts, cgroups, iptables rules) stays behind."""
    cluster.processes.kill(cluster.supervisor)  # first, or it would start the others again
    for component in cluster.components:
        cluster.processes.kill(component.daemon)
    # A container a shim was starting as the first look was taken appears after it: look again
    # until two looks in a row find nothing new (a single look once left a just-started coredns).
    killed: set[int] = set()
    quiet = 0
    deadline = time.monotonic() + 10
    while quiet < 2 and time.monotonic() < deadline:
        found = cluster.pod_processes() - killed
        for pid in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        killed |= found
        quiet = 0 if found else quiet + 1
        time.sleep(0.1)


T = TypeVar("T")


def once_authorized(call: Callable[[], T], timeout: float = 10.0) -> T:
    """The call's answer once the API server's authorizer has seen a binding just stored: it reads
    bindings from its informer cache, a moment behind the store, and offers nothing to watch for
    that, so the call is retried briefly (bounded; the last refusal is raised). A Pod Security
    refusal is no such delay and is raised at once."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except Forbidden as exc:
            if "violates PodSecurity" in exc.server_message or time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


BACK_WITHIN = 60.0
"""Seconds for a killed component to be running and answering its probe again (its first restart
comes after 1 s; the API server and etcd then take some seconds to answer)."""


def kill_and_await_return(cluster: LocalCluster, name: str) -> int:
    """SIGKILL the component ``name``; its new PID once the supervisor has it running again and
    answering its probe. Fails after :data:`BACK_WITHIN`."""
    component = cluster.component(name)
    before = cluster.processes.pid(component.daemon)
    assert before is not None, f"{name} is not running"
    cluster.processes.kill(component.daemon)
    deadline = time.monotonic() + BACK_WITHIN
    while time.monotonic() < deadline:
        pid = cluster.processes.pid(component.daemon)
        if pid is not None and pid != before and component.probe(timeout=1.0):
            return pid
        # A bounded look at a process started by another process: no event to wait for here.
        time.sleep(0.5)
    pytest.fail(f"{name} was not running again {BACK_WITHIN:g} s after it was killed")
