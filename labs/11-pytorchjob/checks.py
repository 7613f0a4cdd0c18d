"""Python checks of lab 11: a PyTorchJob's master and worker, and what their ranks reported.

The job's status is the training operator's (behind its status subresource). What the ranks did is
read from the output of the lab's code in each pod the job owns, once the pods have passed the rules
of a real run (the lab's image and script, nothing replaced): a rank prints the world size from its
environment, but "Process group: 2 ranks" only after the all_reduce with the other rank returned,
and the weights' SHA-256 is equal on both ranks only when their gradients were averaged.
"""

from __future__ import annotations

import re
from typing import Any

from kubedojo.labs import GradingContext, Outcome, Select, final_state

_KIND = "PyTorchJob"
_REPLICA_TYPE = "training.kubeflow.org/replica-type"
_ROLES = {"master": 0, "worker": 1}
"""The replica types of the lab's job and the rank each one's pod has."""


def _replicas(job: dict[str, Any]) -> dict[str, Any]:
    specs = (job.get("spec") or {}).get("pytorchReplicaSpecs")
    return specs if isinstance(specs, dict) else {}


def replicas(ctx: GradingContext, job: str) -> Outcome:
    what = f"PyTorchJob {job}: Master 1 and Worker 1, each with a container pytorch running train_ddp.py"
    found = ctx.submitted(Select(kind=_KIND, name=job))
    if not found:
        if ctx.submission is not None:
            return Outcome.failed(what, f"the manifest has no PyTorchJob {job}", "missing")
        return Outcome.pending(what, f"no PyTorchJob {job} since the lab started")
    specs = _replicas(found[0])
    counts = {name: (spec or {}).get("replicas", 1) for name, spec in specs.items()}
    if counts != {"Master": 1, "Worker": 1}:
        shown = ", ".join(f"{name} {count}" for name, count in counts.items()) or "no replicas"
        return Outcome.failed(what, shown, "replicas")
    for name, spec in specs.items():
        pod_spec = ((spec or {}).get("template") or {}).get("spec") or {}
        containers = pod_spec.get("containers") or []
        pytorch = [c for c in containers if c.get("name") == "pytorch"]
        if not pytorch:
            names = ", ".join(str(c.get("name")) for c in containers) or "none"
            return Outcome.failed(what, f"{name}: no container pytorch (containers: {names})", "name")
        template = {"kind": "Pod", "spec": pod_spec}
        program = ctx.program(template)
        if program is None or ctx.container(template) is not pytorch[0]:
            return Outcome.failed(what, f"{name}: the container pytorch does not run train_ddp.py", "program")
    return Outcome.passed(what, "Master 1, Worker 1, both pytorch running train_ddp.py")


def _finished(ctx: GradingContext, job: str, what: str) -> dict[str, Any] | Outcome:
    jobs = ctx.finished_jobs(Select(kind=_KIND, name=job), what)
    if isinstance(jobs, Outcome):
        return jobs
    return jobs[0]


def succeeded(ctx: GradingContext, job: str) -> Outcome:
    what = f"PyTorchJob {job} Succeeded"
    found = _finished(ctx, job, what)
    if isinstance(found, Outcome):
        return found
    ended = final_state(found) or {}
    if ended.get("type") != "Succeeded":
        return Outcome.failed(
            what, f"{ended.get('type')}: {ended.get('reason')} {ended.get('message')}".strip()
        )
    return Outcome.passed(what, f"Succeeded ({ended.get('reason')})")


def _rank_pods(ctx: GradingContext, job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The job's pods by replica type (lower case), the operator's label."""
    pods: dict[str, dict[str, Any]] = {}
    for pod in ctx.pods_of(job):
        role = str(((pod.get("metadata") or {}).get("labels") or {}).get(_REPLICA_TYPE, "")).lower()
        pods.setdefault(role, pod)
    return pods


def _ended(ctx: GradingContext, pod: dict[str, Any]) -> dict[str, Any] | None:
    """How the lab's container of the pod ended (None while it runs)."""
    name = (ctx.container(pod) or {}).get("name")
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == name:
            return (status.get("state") or {}).get("terminated")
    return None


def _ended_pods(
    ctx: GradingContext, job: str, what: str, roles: tuple[str, ...] = tuple(_ROLES)
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]] | Outcome:
    """The pods of ``roles`` (the master's and the worker's) with how their lab container ended, once
    the job is final and they have ended; otherwise the verdict."""
    found = _finished(ctx, job, what)
    if isinstance(found, Outcome):
        return found
    pods = _rank_pods(ctx, found)
    missing = [role for role in roles if role not in pods]
    if missing:
        return Outcome.failed(what, f"no {' or '.join(missing)} pod of {job}", "missing-pod")
    ended = {}
    for role in roles:
        end = _ended(ctx, pods[role])
        if end is None:
            return Outcome.pending(what, f"{pods[role]['metadata']['name']} is still running")
        ended[role] = (pods[role], end)
    return ended


def both_ran(ctx: GradingContext, job: str) -> Outcome:
    what = "digits-11's master and worker pods ran train_ddp.py and ended with exit code 0"
    ended = _ended_pods(ctx, job, what)
    if isinstance(ended, Outcome):
        return ended
    for pod, end in ended.values():
        if end.get("exitCode") != 0:
            name = pod["metadata"]["name"]
            return Outcome.failed(what, f"{name}: exit code {end.get('exitCode')} ({end.get('reason')})")
    return Outcome.passed(what, ", ".join(f"{pod['metadata']['name']} exit 0" for pod, _ in ended.values()))


_RANK = re.compile(r"^Rank (\d+) of world size (\d+),", re.MULTILINE)
_GROUP = re.compile(r"^Process group: (\d+) ranks$", re.MULTILINE)
_WEIGHTS = re.compile(r"^Weights SHA-256: ([0-9a-f]{64})$", re.MULTILINE)
_ACCURACY = re.compile(r"^Test accuracy: ([0-9.]+)$", re.MULTILINE)


def _outputs(
    ctx: GradingContext, job: str, what: str, roles: tuple[str, ...] = tuple(_ROLES)
) -> dict[str, str] | Outcome:
    """What the lab's code printed in the pods of ``roles``."""
    ended = _ended_pods(ctx, job, what, roles)
    if isinstance(ended, Outcome):
        return ended
    return {
        role: ctx.output_of(pod, (ctx.container(pod) or {}).get("name")) or ""
        for role, (pod, _) in ended.items()
    }


def one_group(ctx: GradingContext, job: str) -> Outcome:
    what = "ranks 0 and 1 of world size 2 in one process group of 2, with equal weights"
    outputs = _outputs(ctx, job, what)
    if isinstance(outputs, Outcome):
        return outputs
    weights = set()
    for role, rank in _ROLES.items():
        text = outputs[role]
        place, group, digest = _RANK.search(text), _GROUP.search(text), _WEIGHTS.search(text)
        if place is None or group is None:
            return Outcome.failed(what, f"the {role} never joined a process group (no 'Process group:' line)")
        if (int(place.group(1)), int(place.group(2))) != (rank, 2) or int(group.group(1)) != 2:
            return Outcome.failed(
                what,
                f"the {role} was rank {place.group(1)} of world size {place.group(2)}, "
                f"in a group of {group.group(1)}",
                "world",
            )
        if digest is None:
            return Outcome.failed(what, f"the {role} did not finish training (no weights)")
        weights.add(digest.group(1))
    if len(weights) != 1:
        return Outcome.failed(
            what, "the two ranks ended with different weights: their gradients were not averaged"
        )
    return Outcome.passed(what, f"ranks 0 and 1, world size 2, weights {weights.pop()[:12]}… on both")


def accuracy(ctx: GradingContext, job: str, at_least: float) -> Outcome:
    what = f"Test accuracy >= {at_least}"
    outputs = _outputs(ctx, job, what, ("master",))
    if isinstance(outputs, Outcome):
        return outputs
    found = _ACCURACY.findall(outputs["master"])
    if not found:
        return Outcome.failed(what, "the master printed no 'Test accuracy:' line")
    value = float(found[-1])
    if value < at_least:
        return Outcome.failed(what, f"Test accuracy: {value:.4f}")
    return Outcome.passed(what, f"Test accuracy: {value:.4f}")
