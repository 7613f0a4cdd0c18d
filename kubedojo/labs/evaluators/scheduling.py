"""Evaluators of the scheduling check kinds: where a pod may go (tolerations, node selection: static,
on the manifest) and where it went (placement, the autoscaler's work: runtime, on the cluster).

Where a pod was scheduled and whether the autoscaler added a node for it are the cluster's decisions,
real evidence on simulated nodes too: these checks never ask whether the lab's code ran.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..context import GradingContext
from ..definition import NodeSelectionCheck, PlacementCheck, ScaledCheck, TolerationCheck
from ..objects import job_finished, parse_time, pod_spec
from ..results import Outcome
from .registry import evaluates
from .static import _label, missing

__all__ = ["on_added_node", "requires_label", "scale_up_group", "tolerates", "triggered_scale_ups"]

_SCALE_UP = "TriggeredScaleUp"
_GROUP_IN_MESSAGE = re.compile(r"\{(\S+) \d+->\d+")
"""cluster-autoscaler's message: ``pod triggered scale-up: [{ca-gpu 0->1 (max: 4)}]``."""


def tolerates(tolerations: list[dict[str, Any]], taint: str) -> bool:
    """Whether any of ``tolerations`` tolerates ``taint`` (``key=value:Effect``), as the scheduler
    matches them."""
    rest, _, effect = taint.rpartition(":")
    key, _, value = rest.partition("=")
    for tol in tolerations:
        if tol.get("effect") not in (None, "", effect):
            continue
        operator = tol.get("operator") or "Equal"
        if not tol.get("key"):
            if operator == "Exists":
                return True
            continue
        if tol.get("key") != key:
            continue
        if operator == "Exists" or (operator == "Equal" and (tol.get("value") or "") == value):
            return True
    return False


def requires_label(spec: dict[str, Any], key: str, value: str) -> bool:
    """Whether a pod spec may only be scheduled to nodes labelled ``key=value``: its nodeSelector
    says so, or every term of its required node affinity does (``In`` with that one value)."""
    if (spec.get("nodeSelector") or {}).get(key) == value:
        return True
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    ) or {}
    terms = required.get("nodeSelectorTerms") or []
    return bool(terms) and all(
        any(
            e.get("key") == key and e.get("operator") == "In" and list(e.get("values") or []) == [value]
            for e in term.get("matchExpressions") or []
        )
        for term in terms
    )


@evaluates(TolerationCheck)
def _tolerates(ctx: GradingContext, check: TolerationCheck) -> Outcome:
    what = f"a toleration of the taint {check.taint}"
    objs = ctx.submitted(check.object)
    if not objs:
        return missing(ctx, check.object, what)
    for obj in objs:
        tolerations = pod_spec(obj).get("tolerations") or []
        if not tolerates(tolerations, check.taint):
            shown = ", ".join(
                f"{t.get('key') or '*'} {t.get('operator') or 'Equal'} {t.get('value') or ''}".strip()
                for t in tolerations
            )
            return Outcome.failed(
                what,
                f"{_label(obj)}: {'tolerations: ' + shown if shown else 'no tolerations'}",
                "no-toleration",
            )
    return Outcome.passed(what, "tolerated")


@evaluates(NodeSelectionCheck)
def _node_selection(ctx: GradingContext, check: NodeSelectionCheck) -> Outcome:
    wanted = " or ".join(f"{k}={v}" for k, v in check.labels.items())
    what = f"only nodes labelled {wanted} (nodeSelector or required node affinity)"
    objs = ctx.submitted(check.object)
    if not objs:
        return missing(ctx, check.object, what)
    for obj in objs:
        spec = pod_spec(obj)
        if any(requires_label(spec, k, v) for k, v in check.labels.items()):
            continue
        affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
        if affinity.get("preferredDuringSchedulingIgnoredDuringExecution") and not affinity.get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        ):
            return Outcome.failed(what, f"{_label(obj)}: only a preferred node affinity", "preferred-only")
        if spec.get("nodeSelector") or affinity:
            selector = spec.get("nodeSelector") or {}
            shown = ", ".join(f"{k}={v}" for k, v in selector.items()) or "a node affinity"
            return Outcome.failed(what, f"{_label(obj)}: selects {shown}", "other-nodes")
        return Outcome.failed(what, f"{_label(obj)}: no nodeSelector, no node affinity", "no-selector")
    return Outcome.passed(what, wanted)


def _scale_ups(events: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The autoscaler's ``TriggeredScaleUp`` event of each pod (by uid, and by name for events
    without a uid)."""
    found: dict[str, dict[str, Any]] = {}
    for event in events:
        involved = event.get("involvedObject") or {}
        if event.get("reason") == _SCALE_UP and involved.get("kind") == "Pod":
            for key in (involved.get("uid"), involved.get("name")):
                if key:
                    found.setdefault(str(key), event)
    return found


def _scale_up_of(pod: dict[str, Any], scale_ups: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    return scale_ups.get(str(pod["metadata"].get("uid"))) or scale_ups.get(pod["metadata"]["name"])


def triggered_scale_ups(
    pods: Iterable[dict[str, Any]], events: Iterable[dict[str, Any]]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each of ``pods`` for which the autoscaler triggered a scale-up, with that event."""
    scale_ups = _scale_ups(events)
    return [(pod, event) for pod in pods if (event := _scale_up_of(pod, scale_ups)) is not None]


def on_added_node(pod: dict[str, Any], event: dict[str, Any]) -> bool:
    """Whether the pod was scheduled to a node of the group its scale-up event names (``G-…``):
    the node the autoscaler added for it."""
    return _node_of(pod).startswith(f"{scale_up_group(event)}-")


def scale_up_group(event: dict[str, Any]) -> str | None:
    """The node group a ``TriggeredScaleUp`` event names (its first)."""
    match = _GROUP_IN_MESSAGE.search(str(event.get("message") or ""))
    return match.group(1) if match else None


def _event_time(event: dict[str, Any]) -> datetime | None:
    return parse_time(event.get("firstTimestamp") or event.get("eventTime") or event.get("lastTimestamp"))


def _scheduled_time(pod: dict[str, Any]) -> datetime | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "True":
            return parse_time(cond.get("lastTransitionTime"))
    return None


def _describe_node(node: dict[str, Any], keys: list[str], resource: str | None, simulated: bool) -> str:
    labels = (node.get("metadata") or {}).get("labels") or {}
    parts = [f"{k}={labels[k]}" for k in keys if k in labels]
    if resource:
        parts.append(f"{resource}: {((node.get('status') or {}).get('allocatable') or {}).get(resource, 0)}")
    parts.append("simulated" if simulated else "real")
    return f"{node['metadata']['name']} ({', '.join(parts)})"


@evaluates(PlacementCheck)
def _placement(ctx: GradingContext, check: PlacementCheck) -> Outcome:
    wants = [f"{k}={v}" for k, v in check.node_labels.items()] + ([check.resource] if check.resource else [])
    what = f"the pods of {check.jobs.describe()} on nodes with {', '.join(wants) or 'any labels'}"
    jobs = ctx.finished_jobs(check.jobs, what, real_run=False)
    if isinstance(jobs, Outcome):
        return jobs
    hidden = ctx.nodes_hidden(what)
    if hidden is not None:
        return hidden
    nodes = {n["metadata"]["name"]: n for n in ctx.snapshot.of_kind("Node")}
    simulated = ctx.snapshot.simulated_nodes()
    scale_ups = _scale_ups(ctx.snapshot.of_kind("Event"))
    seen = []
    for job in jobs:
        pods = [p for p in ctx.pods_of(job) if (p.get("spec") or {}).get("nodeName")]
        if not pods:
            return Outcome.failed(what, f"{job['metadata']['name']}: no pod was scheduled", "not-scheduled")
        for pod in pods:
            name = str(pod["spec"]["nodeName"])
            node = nodes.get(name)
            if node is None:
                event = scale_ups.get(str(pod["metadata"].get("uid"))) or scale_ups.get(
                    pod["metadata"]["name"]
                )
                group = scale_up_group(event) if event else None
                if group in check.groups and name.startswith(f"{group}-"):
                    seen.append(f"{name} (removed since; the autoscaler added it to group {group})")
                    continue
                return Outcome.failed(
                    what, f"{pod['metadata']['name']} ran on {name}, which is gone", "node-gone"
                )
            labels = (node.get("metadata") or {}).get("labels") or {}
            allocatable = (node.get("status") or {}).get("allocatable") or {}
            shown = _describe_node(node, list(check.node_labels), check.resource, name in simulated)
            if any(labels.get(k) != v for k, v in check.node_labels.items()) or (
                check.resource and str(allocatable.get(check.resource, "0")) in ("0", "")
            ):
                return Outcome.failed(what, f"{pod['metadata']['name']} ran on {shown}", "wrong-node")
            seen.append(shown)
    return Outcome.passed(what, ", ".join(dict.fromkeys(seen)))


def _node_of(pod: dict[str, Any]) -> str:
    return str((pod.get("spec") or {}).get("nodeName") or "")


def _seconds(start: datetime | None, end: datetime | None) -> str:
    return "?" if start is None or end is None else f"{(end - start).total_seconds():.0f} s"


@evaluates(ScaledCheck)
def _scaled(ctx: GradingContext, check: ScaledCheck) -> Outcome:
    what = f"the autoscaler added a node for a pod of {check.jobs.describe()}" + (
        ", and removed it when the Jobs were done" if check.removed else ""
    )
    jobs = ctx.finished_jobs(check.jobs, what, real_run=False)
    if isinstance(jobs, Outcome):
        return jobs
    pods = [p for j in jobs for p in ctx.pods_of(j)]
    triggered = triggered_scale_ups(pods, ctx.snapshot.of_kind("Event"))
    if not triggered:
        shown = ", ".join(sorted({n for j in jobs for n in ctx.nodes_of(j)})) or "no node"
        return Outcome.failed(
            what,
            f"no TriggeredScaleUp event for the {len(pods)} pods; they ran on {shown}",
            "no-scale-up",
        )
    on_new = [(p, e) for p, e in triggered if on_added_node(p, e)]
    pod, event = (on_new or triggered)[0]
    group = scale_up_group(event) or "?"
    node = _node_of(pod)
    if not on_new:
        return Outcome.failed(
            what,
            f"{pod['metadata']['name']} triggered a scale-up of {group} but ran on {node or 'no node'}",
            "not-on-new-node",
        )
    created = parse_time(pod["metadata"].get("creationTimestamp"))
    scheduled = _scheduled_time(pod)
    job = next(j for j in jobs if pod in ctx.pods_of(j))
    finished = parse_time((job_finished(job) or {}).get("lastTransitionTime"))
    found = (
        f"{pod['metadata']['name']}: scale-up of {group} {_seconds(created, _event_time(event))} after the "
        f"pod was created, scheduled on {node} after {_seconds(created, scheduled)}, the Job done "
        f"{_seconds(created, finished)} after"
    )
    if check.removed:
        hidden = ctx.nodes_hidden(what)
        if hidden is not None:
            return hidden
        if any(n["metadata"]["name"] == node for n in ctx.snapshot.of_kind("Node")):
            return Outcome.pending(
                what,
                f"{found}; {node} is still there (the autoscaler removes a node once it is idle long enough)",
            )
        found += f"; {node} removed since"
    return Outcome.passed(what, found)
