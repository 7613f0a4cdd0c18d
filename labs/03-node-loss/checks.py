"""Python check of 03-node-loss: the Job's pod was lost with its node and the Job started it again on
another node. A node is lost when it is gone, or marked out of service (a ``NoExecute`` taint such as
``node.kubernetes.io/out-of-service``, which removes its pods at once). Evidence: the scheduler's
``Scheduled`` events for the Job's pods (they outlive the pods), the nodes now, and the pod that
finished the Job."""

from __future__ import annotations

import re
from typing import Any

from kubedojo.labs import GradingContext, Outcome, Select, job_finished

_ASSIGNED = re.compile(r"Successfully assigned \S+/(\S+) to (\S+)")


def _out_of_service(node: dict[str, Any]) -> bool:
    return any(t.get("effect") == "NoExecute" for t in (node.get("spec") or {}).get("taints") or [])


def rescheduled_elsewhere(ctx: GradingContext, job: str) -> Outcome:
    what = "the pod was lost with its node, and the Job ran it again on another node"
    fresh, _ = ctx.jobs(Select(kind="Job", name=job))
    if not fresh:
        return Outcome.pending(what, f"no Job {job} since the lab started")
    if job_finished(fresh[0]) is None:
        return Outcome.pending(what, f"{job} still runs")
    hidden = ctx.nodes_hidden(what)
    if hidden is not None:
        return hidden
    placed: dict[str, str] = {}
    for event in ctx.snapshot.of_kind("Event"):
        found = _ASSIGNED.search(str(event.get("message") or ""))
        if event.get("reason") == "Scheduled" and found and found.group(1).startswith(f"{job}-"):
            placed[found.group(1)] = found.group(2)
    nodes = {n["metadata"]["name"]: n for n in ctx.snapshot.of_kind("Node")}
    lost = sorted({node for node in placed.values() if node not in nodes or _out_of_service(nodes[node])})
    if not lost:
        shown = ", ".join(f"{pod} on {node}" for pod, node in sorted(placed.items())) or "no pod scheduled"
        return Outcome.failed(
            what,
            f"no node its pods ran on was lost ({shown})",
            "no-node-lost",
            "while the pod runs, mark its node out of service: "
            "kubectl taint node NODE node.kubernetes.io/out-of-service=nodeshutdown:NoExecute",
        )
    finishers = [p for p in ctx.pods_of(fresh[0]) if (p.get("status") or {}).get("phase") == "Succeeded"]
    elsewhere = [p for p in finishers if p["spec"].get("nodeName") not in lost]
    if not elsewhere:
        return Outcome.failed(
            what, f"lost {', '.join(lost)}, but no pod of {job} completed on another node", "not-replaced"
        )
    pod = elsewhere[0]
    return Outcome.passed(
        what, f"lost with {', '.join(lost)}; {pod['metadata']['name']} completed on {pod['spec']['nodeName']}"
    )
