"""Evidence kept when a check fails: the lab's objects with their status, the events about them,
the logs of their pods, including each restarted container's previous log, and each Workflow's node
tree (``workflows.txt``: every step with its phase, duration and message)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .context import GradingContext
from .definition import LabDefinition, check_selectors
from .workflows import node_tree
from .workloads import WORKLOADS

__all__ = ["save_evidence"]


def _lab_objects(ctx: GradingContext, lab: LabDefinition) -> list[dict[str, Any]]:
    """The objects of the lab's kinds (and of those its grading reads), the workloads among them only
    when a check names them; then the Jobs that one of those made (a Katib Trial's)."""
    selectors = [sel for check in lab.checks for sel in check_selectors(check)]
    out = []
    for kind in sorted({*lab.graded_kinds, "Job"}):
        for obj in ctx.snapshot.of_kind(kind):
            if any(sel.matches(obj) for sel in selectors) or kind not in WORKLOADS:
                out.append(obj)
    owners = {o["metadata"].get("uid") for o in out} - {None}
    kept = {id(o) for o in out}
    for job in ctx.snapshot.of_kind("Job"):
        refs = (job.get("metadata") or {}).get("ownerReferences") or []
        if id(job) not in kept and any(r.get("controller") and r.get("uid") in owners for r in refs):
            out.append(job)
    return out


def _without_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return {**obj, "metadata": meta}


def save_evidence(ctx: GradingContext, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    objects = _lab_objects(ctx, ctx.lab)
    workloads = [o for o in objects if o.get("kind") in WORKLOADS]
    pods = [p for workload in workloads for p in ctx.pods_of(workload)]
    trees = [line for o in workloads if o.get("kind") == "Workflow" for line in [*node_tree(o), ""]]
    if trees:
        (directory / "workflows.txt").write_text("\n".join(trees))
    # By uid: a previous attempt's Job of the same name has another uid, and its events stay out.
    related = {o["metadata"].get("uid") for o in objects + pods} - {None}
    events = [
        e for e in ctx.snapshot.of_kind("Event") if (e.get("involvedObject") or {}).get("uid") in related
    ]
    # JSON, one object a line (``jq . objects.jsonl`` lays them out): json's C encoder writes them
    # some forty times faster than PyYAML, and a class grading saves the evidence of every failure.
    (directory / "objects.jsonl").write_text(
        "".join(json.dumps(_without_managed_fields(o)) + "\n" for o in objects + pods)
    )
    lines = [
        f"{e.get('lastTimestamp') or e.get('eventTime') or ''}  {e.get('type')}  "
        f"{(e.get('involvedObject') or {}).get('kind')}/{(e.get('involvedObject') or {}).get('name')}  "
        f"{e.get('reason')}: {e.get('message')}"
        for e in sorted(events, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
    ]
    (directory / "events.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
    logs = directory / "logs"
    logs.mkdir(exist_ok=True)
    for pod in pods:
        name = pod["metadata"]["name"]
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            container = status["name"]
            text = ctx.output_of(pod, container)
            if text is not None:
                (logs / f"{name}_{container}.log").write_text(text)
            if status.get("restartCount"):
                previous = ctx.output_of(pod, container, previous=True)
                if previous is not None:
                    (logs / f"{name}_{container}.previous.log").write_text(previous)
    return directory
