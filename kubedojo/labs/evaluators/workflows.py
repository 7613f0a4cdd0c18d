"""Evaluators of the Argo Workflow check kinds: the shape of a DAG or of steps (static), and, once the
Workflow is final, its phase, its nodes' phases, their order and overlap in time, the parameters
passed between them and its exit handler (runtime). A failure's found text names the nodes and their
phases and messages; the evidence keeps the whole node tree (:mod:`kubedojo.labs.evidence`)."""

from __future__ import annotations

import itertools
import re
from typing import Any

from ..context import GradingContext, StoredFile
from ..definition import (
    ArtifactCheck,
    ExitHandlerCheck,
    NodeOrderCheck,
    NodeParameterCheck,
    NodesOverlapCheck,
    WorkflowGraphCheck,
    WorkflowNodeCheck,
    WorkflowPhaseCheck,
)
from ..results import Outcome
from ..workflows import (
    NODE_ID_ANNOTATION,
    exit_handler,
    node_finished,
    node_parameter,
    node_started,
    nodes_named,
    program_output,
    summary,
    workflow_nodes,
)
from ..workloads import workflow_finished
from .registry import evaluates
from .static import missing

__all__ = ["template_edges"]

_ARTIFACT_BUCKET = "argo-artifacts"
"""Where an artifact is stored when its node does not name the bucket: the namespaces' artifact
repository (kubedojo/addons/s3accounts.py)."""

Obj = dict[str, Any]

_DEPENDS_NAME = re.compile(r"([A-Za-z0-9][A-Za-z0-9_-]*)(?:\.[A-Za-z]+)?")


def template_edges(template: Obj) -> set[tuple[str, str]] | None:
    """The dependencies ``(before, after)`` a DAG or steps template declares; None for another kind
    of template. A DAG task's ``depends`` expression counts every task it names (``A && (B.Failed ||
    C)`` depends on A, B and C)."""
    if isinstance(template.get("dag"), dict):
        edges = set()
        for task in template["dag"].get("tasks") or []:
            name = str(task.get("name"))
            before = [str(d) for d in task.get("dependencies") or []]
            before += _DEPENDS_NAME.findall(str(task.get("depends") or ""))
            edges |= {(b, name) for b in before}
        return edges
    if isinstance(template.get("steps"), list):
        groups = [[str(step.get("name")) for step in group or []] for group in template["steps"]]
        return {(a, b) for first, then in itertools.pairwise(groups) for a in first for b in then}
    return None


@evaluates(WorkflowGraphCheck)
def _workflow_graph(ctx: GradingContext, check: WorkflowGraphCheck) -> Outcome:
    wanted = {tuple(edge) for edge in check.edges}
    what = f"template {check.template}: " + ", ".join(f"{a} → {b}" for a, b in sorted(wanted))
    objs = ctx.submitted(check.object)
    if not objs:
        return missing(ctx, check.object, what)
    for obj in objs:
        templates = {str(t.get("name")): t for t in (obj.get("spec") or {}).get("templates") or []}
        template = templates.get(check.template)
        edges = None if template is None else template_edges(template)
        if edges is None:
            return Outcome.failed(
                what,
                f"no DAG or steps template named {check.template}"
                f" (templates: {', '.join(templates) or 'none'})",
                "no-template",
            )
        if edges != wanted:
            extra = ", ".join(f"{a} → {b}" for a, b in sorted(edges - wanted))
            lacking = ", ".join(f"{a} → {b}" for a, b in sorted(wanted - edges))
            found = "; ".join(
                part
                for part in (f"missing {lacking}" if lacking else "", f"extra {extra}" if extra else "")
                if part
            )
            return Outcome.failed(what, found, "edges")
    return Outcome.passed(what, "as drawn")


def _final(ctx: GradingContext, check: Any, what: str) -> list[Obj] | Outcome:
    return ctx.finished_workflows(check.workflow, what)


def _named(workflow: Obj, name: str, what: str) -> list[Obj] | Outcome:
    nodes = nodes_named(workflow, name)
    if nodes:
        return nodes
    ran = [
        str(n.get("displayName"))
        for n in workflow_nodes(workflow)
        if n.get("type") not in ("StepGroup", "TaskGroup", "Steps", "DAG")
    ]
    title = workflow["metadata"]["name"]
    if not ran:
        final = workflow_finished(workflow) or {}
        why = f": {final.get('message')}" if final.get("message") else ""
        return Outcome.failed(
            what,
            f"{title} ran no step ({final.get('type')}{why})",
            "no-node",
            f"fix what Argo's controller says ('kubectl get workflow {title} -o yaml': status.message), then"
            " submit again",
        )
    return Outcome.failed(
        what,
        f"{title} has no node {name} (nodes: {', '.join(ran)})",
        "no-node",
        f"name the step or DAG task {name}, as the lab asks",
    )


@evaluates(WorkflowPhaseCheck)
def _workflow_phase(ctx: GradingContext, check: WorkflowPhaseCheck) -> Outcome:
    what = f"{check.workflow.describe()}: {check.equals}"
    workflows = _final(ctx, check, what)
    if isinstance(workflows, Outcome):
        return workflows
    for workflow in workflows:
        final = workflow_finished(workflow) or {}
        if final.get("type") != check.equals:
            failing = [n for n in workflow_nodes(workflow) if n.get("phase") in ("Failed", "Error")]
            detail = f": {final.get('message')}" if final.get("message") else ""
            nodes = f"; {summary(failing)}" if failing else ""
            return Outcome.failed(
                what, f"{workflow['metadata']['name']}: {final.get('type')}{detail}{nodes}", "outcome"
            )
    return Outcome.passed(what, check.equals)


@evaluates(WorkflowNodeCheck)
def _workflow_node(ctx: GradingContext, check: WorkflowNodeCheck) -> Outcome:
    what = f"node {check.node}: {check.equals}" + (f", {check.count} of them" if check.count else "")
    workflows = _final(ctx, check, what)
    if isinstance(workflows, Outcome):
        return workflows
    shown = ""
    for workflow in workflows:
        nodes = _named(workflow, check.node, what)
        if isinstance(nodes, Outcome):
            return nodes
        wrong = [n for n in nodes if n.get("phase") != check.equals]
        if wrong:
            return Outcome.failed(what, summary(wrong), "node-phase")
        if check.count is not None and len(nodes) != check.count:
            return Outcome.failed(what, f"{len(nodes)} ran: {summary(nodes)}", "items")
        shown = summary(nodes, limit=3)
    return Outcome.passed(what, shown)


@evaluates(NodeOrderCheck)
def _node_order(ctx: GradingContext, check: NodeOrderCheck) -> Outcome:
    what = f"{check.then} started after {check.first} finished"
    workflows = _final(ctx, check, what)
    if isinstance(workflows, Outcome):
        return workflows
    for workflow in workflows:
        first, then = _named(workflow, check.first, what), _named(workflow, check.then, what)
        if isinstance(first, Outcome):
            return first
        if isinstance(then, Outcome):
            return then
        ended = [node_finished(n) for n in first]
        began = [node_started(n) for n in then]
        if None in ended or None in began:
            return Outcome.failed(what, f"{summary(first + then)}: not all ran", "order")
        last_end, first_start = max(e for e in ended if e), min(b for b in began if b)
        if first_start < last_end:
            late = (last_end - first_start).total_seconds()
            return Outcome.failed(
                what, f"{check.then} started {late:.0f} s before {check.first} finished", "order"
            )
        gap = (first_start - last_end).total_seconds()
        found = f"{gap:.0f} s after"
    return Outcome.passed(what, found)


@evaluates(NodesOverlapCheck)
def _nodes_overlap(ctx: GradingContext, check: NodesOverlapCheck) -> Outcome:
    what = f"{' and '.join(check.nodes)} ran at the same time"
    workflows = _final(ctx, check, what)
    if isinstance(workflows, Outcome):
        return workflows
    for workflow in workflows:
        nodes: list[Obj] = []
        for name in check.nodes:
            found = _named(workflow, name, what)
            if isinstance(found, Outcome):
                return found
            nodes += found
        if len(nodes) < 2:
            return Outcome.failed(what, f"only {summary(nodes)} ran", "sequential")
        starts = [node_started(n) for n in nodes]
        ends = [node_finished(n) for n in nodes]
        if None in starts or None in ends:
            return Outcome.failed(what, f"{summary(nodes)}: not all ran", "sequential")
        latest_start, earliest_end = max(s for s in starts if s), min(e for e in ends if e)
        if latest_start >= earliest_end:
            apart = (latest_start - earliest_end).total_seconds()
            return Outcome.failed(
                what, f"one after the other: the last began {apart:.0f} s after the first ended", "sequential"
            )
        together = (earliest_end - latest_start).total_seconds()
    return Outcome.passed(what, f"{len(nodes)} nodes together for {together:.0f} s")


@evaluates(NodeParameterCheck)
def _node_parameter(ctx: GradingContext, check: NodeParameterCheck) -> Outcome:
    source = check.from_
    if source is not None:
        what = f"{check.node}'s {check.side} {check.parameter} = {source.node}'s output {source.parameter}"
    elif check.equals is not None:
        what = f"{check.node}'s {check.side} {check.parameter} = {check.equals!r}"
    else:
        what = f"{check.node}'s {check.side} {check.parameter} matches /{check.pattern}/"
    workflows = _final(ctx, check, what)
    if isinstance(workflows, Outcome):
        return workflows
    for workflow in workflows:
        nodes = _named(workflow, check.node, what)
        if isinstance(nodes, Outcome):
            return nodes
        expected = check.equals
        if source is not None:
            origins = _named(workflow, source.node, what)
            if isinstance(origins, Outcome):
                return origins
            expected = node_parameter(origins[0], source.parameter, "outputs")
            if expected is None:
                return Outcome.failed(
                    what, f"{source.node} has no output parameter {source.parameter}", "no-parameter"
                )
        for node in nodes:
            value = node_parameter(node, check.parameter, check.side)
            shown = node.get("displayName")
            if value is None:
                return Outcome.failed(
                    what, f"{shown} has no {check.side} parameter {check.parameter}", "no-parameter"
                )
            if check.pattern is not None and not re.search(check.pattern, value):
                return Outcome.failed(what, f"{shown}: {value!r}", "value")
            if check.pattern is None and value != expected:
                return Outcome.failed(what, f"{shown}: {value!r}, not {expected!r}", "value")
    return Outcome.passed(what, repr(value))


@evaluates(ExitHandlerCheck)
def _exit_handler(ctx: GradingContext, check: ExitHandlerCheck) -> Outcome:
    what = "the exit handler ran and saw how the Workflow ended"
    workflows = _final(ctx, check, what)
    if isinstance(workflows, Outcome):
        return workflows
    for workflow in workflows:
        handler = exit_handler(workflow)
        name = workflow["metadata"]["name"]
        if handler is None:
            return Outcome.failed(what, f"{name} ran no exit handler", "no-handler")
        if handler.get("phase") != "Succeeded":
            return Outcome.failed(what, summary([handler]), "handler-failed")
        phase = str((workflow_finished(workflow) or {}).get("type"))
        if not _saw(ctx, workflow, handler, phase):
            return Outcome.failed(
                what, f"the exit handler of {name} ({phase}) did not print or receive {phase!r}", "not-seen"
            )
    return Outcome.passed(what, f"it reported {phase}")


def _saw(ctx: GradingContext, workflow: Obj, handler: Obj, phase: str) -> bool:
    """Whether the exit handler (or a node under it) was given ``phase`` as a parameter, or printed it."""
    under = _below(workflow, handler)
    given = [
        str(p.get("value"))
        for node in under
        for p in (node.get("inputs") or {}).get("parameters") or []
        if "value" in p
    ]
    if phase in given:
        return True
    word = re.compile(rf"\b{re.escape(phase)}\b")
    ids = {str(n.get("id")) for n in under if n.get("type") == "Pod"}
    for pod in ctx.pods_of(workflow):
        node_id = ((pod.get("metadata") or {}).get("annotations") or {}).get(NODE_ID_ANNOTATION)
        if node_id in ids and word.search(program_output(ctx.output_of(pod, "main") or "")):
            return True
    return False


def _below(workflow: Obj, top: Obj) -> list[Obj]:
    """``top`` and every node under it."""
    by_id = {str(n.get("id")): n for n in workflow_nodes(workflow)}
    found, todo = [], [str(top.get("id"))]
    while todo:
        node = by_id.get(todo.pop())
        if node is not None and node not in found:
            found.append(node)
            todo += [str(c) for c in node.get("children") or []]
    return found


@evaluates(ArtifactCheck)
def _artifact(ctx: GradingContext, check: ArtifactCheck) -> Outcome:
    expected = []
    if check.npz_keys:
        expected.append(f"arrays {', '.join(check.npz_keys)}")
    if check.contains:
        expected.append(f"text like /{check.contains}/")
    what = f"{check.node}'s output artifact {check.artifact} in the artifact repository" + (
        f", holding {' and '.join(expected)}" if expected else ""
    )
    workflows = _final(ctx, check, what)
    if isinstance(workflows, Outcome):
        return workflows
    if ctx.reader is None:
        return Outcome.pending(what, "the artifact repository is read only when grading against a cluster")
    found = ""
    for workflow in workflows:
        nodes = _named(workflow, check.node, what)
        if isinstance(nodes, Outcome):
            return nodes
        for node in nodes:
            shown = node.get("displayName")
            artifacts = {a.get("name"): a for a in (node.get("outputs") or {}).get("artifacts") or []}
            if check.artifact not in artifacts:
                names = ", ".join(str(n) for n in artifacts) or "none"
                return Outcome.failed(
                    what, f"{shown} has no output artifact {check.artifact} (it has: {names})", "no-artifact"
                )
            location = artifacts[check.artifact].get("s3") or {}
            if not location.get("key"):
                return Outcome.failed(
                    what,
                    f"{shown}'s {check.artifact} was not kept in an S3 artifact repository",
                    "not-stored",
                    "keep artifacts in the namespace's repository (the ConfigMap artifact-repositories):"
                    " do not set another repository in the Workflow",
                )
            bucket, key = str(location.get("bucket") or _ARTIFACT_BUCKET), str(location["key"])
            files = ctx.stored_object(bucket, key)
            if files is None:
                return Outcome.failed(what, f"the artifact repository has no {bucket}/{key}", "not-stored")
            outcome = _artifact_content(check, what, f"{bucket}/{key}", files)
            if outcome is not None:
                return outcome
            found = f"{bucket}/{key}: " + ", ".join(f"{f.name} ({f.size} bytes)" for f in files[:3])
    return Outcome.passed(what, found)


def _artifact_content(check: ArtifactCheck, what: str, where: str, files: list[StoredFile]) -> Outcome | None:
    """The failure when the stored files do not hold what the check expects, else None."""
    big = [f for f in files if f.size >= check.min_size]
    if not big:
        return Outcome.failed(
            what, f"{where} holds {len(files)} files, none of {check.min_size}+ bytes", "content"
        )
    if check.npz_keys:
        wanted = set(check.npz_keys)
        if not any(set(f.npz_keys or ()) >= wanted for f in big):
            held = "; ".join(f"{f.name}: {', '.join(f.npz_keys or ()) or 'no arrays'}" for f in big[:3])
            return Outcome.failed(what, f"{where} holds {held}", "content")
    if check.contains and not any(f.text is not None and re.search(check.contains, f.text) for f in big):
        return Outcome.failed(what, f"{where}: no file with text like /{check.contains}/", "content")
    return None
