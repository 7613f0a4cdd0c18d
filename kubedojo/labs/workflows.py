"""Reading an Argo Workflow's status as plain dicts: its nodes (steps, DAG tasks, their pods and the
exit handler), their phases and times, parameters passed between them, and the node tree shown as
evidence.

Argo's controller writes ``status.nodes``: a map from node id to ``{name, displayName, type,
templateName, phase, startedAt, finishedAt, message, children, inputs, outputs}``. A step or task is
found by its ``displayName`` (the name in the manifest); a fan-out (``withItems``, ``withParam``)
adds one node per item, named ``<name>(<index>:<item>)``; a retried step is a ``Retry`` node whose
children are the attempts. The exit handler is the node named ``<workflow>.onExit``. Each pod carries
the id of its node in the annotation :data:`NODE_ID_ANNOTATION`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from .objects import parse_time

__all__ = [
    "NODE_ID_ANNOTATION",
    "STRUCTURAL",
    "executor_line",
    "exit_handler",
    "node_finished",
    "node_parameter",
    "node_started",
    "node_tree",
    "nodes_named",
    "program_output",
    "summary",
    "workflow_nodes",
]

Obj = dict[str, Any]

NODE_ID_ANNOTATION = "workflows.argoproj.io/node-id"
STRUCTURAL = frozenset({"StepGroup", "TaskGroup"})
"""Node types that only group others (a step's parallel group, a fan-out's group)."""


_EXECUTOR = re.compile(r"^time=\S+ level=\w+ msg=.* argo=true|^Error: exit status \d+$")
"""What Argo's executor adds to a step's ``main`` log (it runs the step's program): its own log
lines, marked ``argo=true``, and its last word on a failing program."""


def executor_line(line: str) -> bool:
    """Whether a line of a step's log is Argo's executor's, not the program's."""
    return bool(_EXECUTOR.search(line.strip()))


def program_output(log: str) -> str:
    """A step's ``main`` log without the executor's lines: what the program printed."""
    return "\n".join(line for line in log.splitlines() if not executor_line(line))


def workflow_nodes(workflow: Obj) -> list[Obj]:
    """Every node of the Workflow, ordered by start (those not started last)."""
    nodes = list(((workflow.get("status") or {}).get("nodes") or {}).values())
    return sorted(
        nodes, key=lambda n: (n.get("startedAt") is None, n.get("startedAt") or "", n.get("name") or "")
    )


def _parents(nodes: Iterable[Obj]) -> dict[str, Obj]:
    by_id = {str(n.get("id")): n for n in nodes}
    return {str(child): node for node in by_id.values() for child in node.get("children") or []}


def nodes_named(workflow: Obj, name: str) -> list[Obj]:
    """The nodes of the step or DAG task ``name``: the node itself, or one per item of a fan-out;
    grouping nodes and the attempts under a ``Retry`` node (the retry node stands for them) left out."""
    nodes = workflow_nodes(workflow)
    parents = _parents(nodes)
    found = []
    for node in nodes:
        shown = str(node.get("displayName") or "")
        if shown != name and not shown.startswith(f"{name}("):
            continue
        if node.get("type") in STRUCTURAL:
            continue
        if (parents.get(str(node.get("id"))) or {}).get("type") == "Retry":
            continue
        found.append(node)
    return found


def exit_handler(workflow: Obj) -> Obj | None:
    """The exit handler's node (``spec.onExit``), once the controller has started it."""
    name = f"{(workflow.get('metadata') or {}).get('name')}.onExit"
    return next((n for n in workflow_nodes(workflow) if n.get("name") == name), None)


def node_started(node: Obj) -> datetime | None:
    return parse_time(node.get("startedAt"))


def node_finished(node: Obj) -> datetime | None:
    return parse_time(node.get("finishedAt"))


def node_parameter(node: Obj, name: str, side: str = "outputs") -> str | None:
    """The value of parameter ``name`` among the node's ``inputs`` or ``outputs``, or None."""
    for parameter in (node.get(side) or {}).get("parameters") or []:
        if parameter.get("name") == name and "value" in parameter:
            return str(parameter["value"])
    return None


def _line(node: Obj) -> str:
    shown = node.get("displayName") or node.get("name")
    line = f"{shown} [{node.get('type')}] {node.get('phase')}"
    started, finished = node_started(node), node_finished(node)
    if started and finished:
        line += f" in {(finished - started).total_seconds():.0f} s"
    if node.get("message"):
        line += f": {node['message']}"
    return line


def summary(nodes: Iterable[Obj], limit: int = 6) -> str:
    """A short account of nodes for a check's found text: ``A Succeeded, B Failed: why``."""
    shown = [_line(n).replace(f" [{n.get('type')}]", "") for n in nodes]
    more = f", and {len(shown) - limit} more" if len(shown) > limit else ""
    return ", ".join(shown[:limit]) + more


def node_tree(workflow: Obj) -> list[str]:
    """The Workflow's node tree, one line a node (name, type, phase, duration, message), indented
    under its parent; the roots are the entrypoint's node and the exit handler's."""
    nodes = workflow_nodes(workflow)
    by_id = {str(n.get("id")): n for n in nodes}
    parents = _parents(nodes)
    meta = workflow.get("metadata") or {}
    status = workflow.get("status") or {}
    lines = [f"Workflow {meta.get('name')}: {status.get('phase') or 'Pending'}"]
    if status.get("message"):
        lines[0] += f": {status['message']}"
    seen: set[str] = set()

    def walk(node_id: str, depth: int) -> None:
        if node_id in seen or node_id not in by_id:
            return
        seen.add(node_id)
        lines.append("  " * depth + _line(by_id[node_id]))
        for child in by_id[node_id].get("children") or []:
            walk(str(child), depth + 1)

    for node in nodes:
        if str(node.get("id")) not in parents:
            walk(str(node.get("id")), 1)
    return lines
