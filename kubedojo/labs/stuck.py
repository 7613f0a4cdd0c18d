"""Why a submitted lab is not moving: recognised from the pods, their events and the Jobs' events,
so that ``lab.run`` stops at once with the cause and the field to change instead of waiting out the
lab's time limit in silence.

A pure function of plain objects (:func:`diagnose`), called by the runner on every change it
watches. Only causes that will not go away by themselves count: a pod that waits for room while
others of the submission run (lab 05's queue), while the autoscaler adds a node, or while pods
elsewhere hold the room it would fit in (other participants' Jobs, :mod:`.room`) is not stuck.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .objects import parse_time
from .room import fits_some_node
from .workloads import workload_of_pod

__all__ = ["Stuck", "diagnose"]

Obj = Mapping[str, Any]

_PULL = {"ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"}
_MISSING = re.compile(r'(configmap|secret|persistentvolumeclaim)s? "([^"]+)" not found', re.IGNORECASE)
_SCALE_UP = {"TriggeredScaleUp"}
_NO_SCALE_UP = {"NotTriggerScaleUp"}


@dataclass(frozen=True)
class Stuck:
    """A cause that stops the lab: what was seen, on what, and what to change."""

    subject: str
    """``Pod/<name>``, ``Job/<name>`` or ``Workflow/<name>``."""
    cause: str
    hint: str


def _container_field(pod: Obj, container: str, field: str) -> str:
    owner = workload_of_pod(pod)
    if owner is not None and owner[0] == "Workflow":
        return f"spec.templates[].container.{field} of the template that pod runs"
    prefix = "spec.template.spec" if owner else "spec"
    return f"{prefix}.containers[name={container}].{field}"


def _job_of(pod: Obj) -> str:
    return str(((pod.get("metadata") or {}).get("labels") or {}).get("batch.kubernetes.io/job-name") or "")


def _in(obj: Obj) -> str:
    owner = workload_of_pod(obj)
    return f"{owner[0]} {owner[1]}" if owner else f"Pod {obj['metadata']['name']}"


def _waiting(pod: Obj) -> Iterable[tuple[Obj, Obj]]:
    status = pod.get("status") or {}
    for container in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        waiting = (container.get("state") or {}).get("waiting")
        if waiting:
            yield container, waiting


def _image_of(pod: Obj, name: str) -> str:
    spec = pod.get("spec") or {}
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        if container.get("name") == name:
            return str(container.get("image") or "")
    return ""


def _container_cause(pod: Obj, container: Obj, waiting: Obj) -> Stuck | None:
    reason = str(waiting.get("reason") or "")
    message = str(waiting.get("message") or "").strip().splitlines()[0:1]
    detail = f": {message[0]}" if message else ""
    name = str(container.get("name"))
    subject = f"Pod/{pod['metadata']['name']}"
    if reason in _PULL:
        image = _image_of(pod, name) or str(container.get("image") or "")
        if reason == "ErrImageNeverPull":
            return Stuck(
                subject,
                f"container {name}: image {image} is not on the node and imagePullPolicy is Never",
                f"in {_in(pod)}, remove imagePullPolicy: Never"
                f" ({_container_field(pod, name, 'imagePullPolicy')}):"
                " the node pulls lab images from the cluster's registry",
            )
        return Stuck(
            subject,
            f"container {name}: image {image} cannot be pulled ({reason}{detail})",
            f"in {_in(pod)}, check the image name in {_container_field(pod, name, 'image')}"
            " ('invoke lab.show <lab>' names the lab's image)",
        )
    if reason == "CreateContainerConfigError":
        missing = _MISSING.search(detail)
        what = f"{missing.group(1).lower()} {missing.group(2)}" if missing else "what the container refers to"
        return Stuck(
            subject,
            f"container {name} cannot be created ({reason}{detail})",
            f"create the {what} first, or fix its name in {_in(pod)}'s env/envFrom/volumes",
        )
    if reason == "CrashLoopBackOff":
        last = (container.get("lastState") or {}).get("terminated") or {}
        code = last.get("exitCode")
        return Stuck(
            subject,
            f"container {name} keeps crashing (exit code {code},"
            f" restarted {container.get('restartCount', 0)} times)",
            f"read its log (kubectl logs {pod['metadata']['name']} -c {name} --previous) and fix the"
            " command or"
            " arguments; restartPolicy OnFailure restarts a failing program in place",
        )
    return None


def _unschedulable(pod: Obj, now: datetime, settle: float) -> str | None:
    """The scheduler's message when it has found no node for the pod for ``settle`` seconds."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("status") == "False"
            and condition.get("reason") == "Unschedulable"
        ):
            since = parse_time(condition.get("lastTransitionTime"))
            if since is None or (now - since).total_seconds() >= settle:
                return str(condition.get("message") or "")
    return None


def _waits_for_room(pod: Obj, message: str, nodes: list[Obj]) -> bool:
    """Whether the scheduler found only too little room now, and some node would hold the pod once
    pods on it end."""
    return "Insufficient" in message and bool(nodes) and fits_some_node(pod, nodes)


def _placed(pod: Obj) -> bool:
    status = pod.get("status") or {}
    return bool((pod.get("spec") or {}).get("nodeName")) or status.get("phase") in (
        "Running",
        "Succeeded",
        "Failed",
    )


def _scheduling_hint(pod: Obj, message: str) -> str:
    missing = _MISSING.search(message)
    if missing:
        return (
            f"create the {missing.group(1).lower()} {missing.group(2)} first, or fix claimName in {_in(pod)}"
        )
    if "Insufficient" in message:
        resources = sorted({r.rstrip(".") for r in re.findall(r"Insufficient ([\w./-]+)", message)})
        return (
            f"no node has room for the requests in {_in(pod)} ({', '.join(resources)}): lower"
            " spec.template.spec.containers[].resources.requests to fit a node's Allocatable"
        )
    if "untolerated taint" in message:
        return f"add the node pool's toleration to {_in(pod)} (spec.template.spec.tolerations)"
    if "node affinity/selector" in message or "node(s) didn't match" in message:
        return (
            f"no node has the labels that {_in(pod)} selects: check spec.template.spec.nodeSelector/affinity"
        )
    return f"read 'kubectl describe pod {pod['metadata']['name']}' for what the scheduler needs"


def _pod_events(events: Iterable[Obj], name: str, kind: str) -> list[Obj]:
    return [
        e
        for e in events
        if (e.get("involvedObject") or {}).get("kind") == kind
        and (e.get("involvedObject") or {}).get("name") == name
    ]


def diagnose(
    jobs: Iterable[Obj],
    pods: Iterable[Obj],
    events: Iterable[Obj],
    now: datetime | None = None,
    settle: float = 2.0,
    autoscaled: bool = False,
    nodes: Iterable[Obj] = (),
) -> Stuck | None:
    """The first cause that keeps the submitted ``jobs`` (or Workflows) from finishing, seen in their
    pods and the namespace's ``events`` (only this attempt's: the caller filters by uid); None while
    they move.

    A pod the scheduler cannot place counts only when none of the submission's pods is placed (a
    queue behind running pods moves) and no scale-up was triggered, and only once the scheduler has
    said so for ``settle`` seconds (the pods placed just before it may still be binding). On an
    ``autoscaled`` cluster it counts only once the autoscaler has said it will not add a node for it
    (``NotTriggerScaleUp``): before its next scan, that pod may be what it adds a node for. Lacking
    room ("Insufficient cpu") counts only when the pod fits none of the ``nodes`` even empty (when
    they are known): otherwise it waits for pods, anyone's, to end, within the lab's time limit."""
    now = now or datetime.now(UTC)
    jobs, events, nodes = list(jobs), list(events), list(nodes)
    names: set[tuple[str, str] | None] = {(str(j.get("kind") or "Job"), j["metadata"]["name"]) for j in jobs}
    mine = [p for p in pods if workload_of_pod(p) in names]
    for pod in mine:
        for container, waiting in _waiting(pod):
            found = _container_cause(pod, container, waiting)
            if found is not None:
                return found
        for event in _pod_events(events, pod["metadata"]["name"], "Pod"):
            missing = _MISSING.search(str(event.get("message") or ""))
            if event.get("reason") == "FailedMount" and missing is not None:
                return Stuck(
                    f"Pod/{pod['metadata']['name']}",
                    f"a volume cannot be mounted: {str(event.get('message')).splitlines()[0]}",
                    f"create the {missing.group(1).lower()} {missing.group(2)} first, or fix its name in"
                    f" {_in(pod)}'s volumes",
                )
    progressing = any(_placed(p) for p in mine) or any(e.get("reason") in _SCALE_UP for e in events)
    if not progressing:
        for pod in mine:
            declined = any(
                e.get("reason") in _NO_SCALE_UP for e in _pod_events(events, pod["metadata"]["name"], "Pod")
            )
            if autoscaled and not declined:
                continue
            message = _unschedulable(pod, now, settle)
            if message is not None and _waits_for_room(pod, message, nodes):
                continue
            if message is not None:
                return Stuck(
                    f"Pod/{pod['metadata']['name']}",
                    f"the pod cannot be scheduled: {message.splitlines()[0] if message else 'Unschedulable'}",
                    _scheduling_hint(pod, message),
                )
    for job in jobs:
        name = job["metadata"]["name"]
        if job.get("kind", "Job") != "Job" or any(p for p in mine if _job_of(p) == name):
            continue  # it made a pod: its FailedCreate events are old news
        refused = [e for e in _pod_events(events, name, "Job") if e.get("reason") == "FailedCreate"]
        if refused:
            message = str(refused[-1].get("message") or "").splitlines()[0]
            return Stuck(
                f"Job/{name}", f"the Job cannot create its pod: {message}", _create_hint(name, message)
            )
    return None


def _create_hint(job: str, message: str) -> str:
    if "exceeded quota" in message:
        return (
            f"lower the requests and limits in Job {job} (spec.template.spec.containers[].resources) to fit"
            " what is left of your namespace's quota ('kubectl describe quota')"
        )
    if "LimitRange" in message or "per Container" in message or "limitrange" in message.lower():
        return (
            f"keep spec.template.spec.containers[].resources in Job {job} within your namespace's limits"
            " ('kubectl describe limitrange')"
        )
    if "must specify" in message:
        return (
            f"set the resources the namespace requires in Job {job}"
            " (spec.template.spec.containers[].resources)"
        )
    if "forbidden" in message or "violates PodSecurity" in message:
        return f"the namespace's policy refuses the pod of Job {job}: change the fields the message names"
    return f"read 'kubectl describe job {job}' for why its pod was refused"
