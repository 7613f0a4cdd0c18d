"""Evaluators of the runtime check kinds: on what ran on the cluster (Jobs, their pods, logs, events,
nodes, files on volumes). A check has no verdict (pending) until every Job it selects has finished."""

from __future__ import annotations

import posixpath
import re
from datetime import datetime
from typing import Any

from ..context import GradingContext
from ..definition import (
    ConcurrencyCheck,
    FileOnVolumeCheck,
    JobConditionCheck,
    LogContainsCheck,
    LogMetricCheck,
    NodeHealthyCheck,
    QosClassCheck,
    TerminatedCheck,
    UnschedulableCheck,
)
from ..objects import condition, container_states, job_finished, parse_time, pod_spec
from ..results import Outcome
from .registry import evaluates

__all__: list[str] = []  # the evaluators register themselves; nothing to import


@evaluates(JobConditionCheck)
def _job_condition(ctx: GradingContext, check: JobConditionCheck) -> Outcome:
    what = f"{check.job.describe()}: {check.type}" + (f" ({check.reason})" if check.reason else "")
    # Completion is the lab's work done, so only the lab's code may earn it; a failure (a deadline, a
    # retry limit) is the cluster's behaviour, whatever ran.
    jobs = ctx.finished_jobs(check.job, what, real_run=check.type == "Complete", simulated=check.simulated)
    if isinstance(jobs, Outcome):
        return jobs
    for job in jobs:
        final = job_finished(job) or {}
        name = job["metadata"]["name"]
        if final.get("type") != check.type or (check.reason and final.get("reason") != check.reason):
            reason = f": {final.get('reason')}" if final.get("reason") else ""
            message = f" — {final.get('message')}" if final.get("message") else ""
            return Outcome.failed(what, f"{name}: {final.get('type')}{reason}{message}", "outcome")
    final = job_finished(jobs[0]) or {}
    found = f"{final.get('type')}" + (f" ({final.get('reason')})" if final.get("reason") else "")
    simulated = sorted({n for job in jobs if ctx.ran_simulated(job) for n in ctx.nodes_of(job)})
    if simulated:
        found += f", on simulated node {', '.join(simulated)}: kwok ended it, no program ran"
    return Outcome.passed(what, found)


@evaluates(TerminatedCheck)
def _terminated(ctx: GradingContext, check: TerminatedCheck) -> Outcome:
    what = f"a container terminated with {check.reason}" + (
        f", exit code {check.exit_code}" if check.exit_code is not None else ""
    )
    if check.job.name is None:
        what = f"every Job: {what}"
    jobs = ctx.finished_jobs(check.job, what, simulated=check.simulated)
    if isinstance(jobs, Outcome):
        return jobs
    found = ""
    for job in jobs:
        seen = [state for pod in ctx.pods_of(job) for state in _terminations(ctx, pod, check.container)]
        matching = [s for s in seen if s.get("reason") == check.reason]
        good = [s for s in matching if check.exit_code in (None, s.get("exitCode"))]
        if good:
            found = _termination(good[0])
            continue
        return _not_terminated(ctx, job, what, seen, "exit-code" if matching else "")
    return Outcome.passed(what, found if len(jobs) == 1 else f"{len(jobs)} Jobs: {found}")


def _terminations(ctx: GradingContext, pod: dict[str, Any], container: str | None) -> list[dict[str, Any]]:
    """How the lab's container (or ``container``) of ``pod`` ended, this instance and the previous."""
    wanted = container or (ctx.container(pod) or {}).get("name")
    return [state for name, state in container_states(pod) if name == wanted]


def _termination(state: dict[str, Any]) -> str:
    return f"{state.get('reason')} (exit code {state.get('exitCode')})"


def _not_terminated(
    ctx: GradingContext, job: dict[str, Any], what: str, seen: list[dict[str, Any]], cause: str
) -> Outcome:
    name = job["metadata"]["name"]
    if seen:
        shown = ", ".join(dict.fromkeys(_termination(s) for s in seen))
        ended = "completed" if all(s.get("exitCode") == 0 for s in seen) else "crashed"
        return Outcome.failed(what, f"{name}: {shown}", cause or ended)
    if not ctx.pods_of(job) and pod_spec(job).get("restartPolicy") == "OnFailure":
        return Outcome.failed(
            what,
            f"{name}: its pods are gone",
            "pod-deleted",
            "with restartPolicy OnFailure the pods of a failed Job are deleted, and with them how its "
            "container ended; use restartPolicy Never to keep them",
        )
    return Outcome.failed(
        what,
        f"{name}: the lab's container never terminated (no pod ran it to an end)",
        "no-termination",
        f"look at why {name}'s pod did not run: kubectl describe pod -l batch.kubernetes.io/job-name={name}",
    )


@evaluates(LogMetricCheck)
def _log_metric(ctx: GradingContext, check: LogMetricCheck) -> Outcome:
    bounds = [
        f">= {check.min:g}" if check.min is not None else "",
        f"<= {check.max:g}" if check.max is not None else "",
    ]
    what = f"log /{check.pattern}/ " + " and ".join(b for b in bounds if b)
    jobs = ctx.finished_jobs(check.job, what, simulated=check.simulated)
    if isinstance(jobs, Outcome):
        return jobs
    for job in jobs:
        matches = re.findall(check.pattern, ctx.log_of(job, check.container), re.MULTILINE)
        if not matches:
            return Outcome.failed(what, f"{job['metadata']['name']}: no such line in the log", "no-line")
        last = matches[-1][0] if isinstance(matches[-1], tuple) else matches[-1]
        try:
            value = float(last)
        except ValueError:
            return Outcome.failed(
                what, f"{job['metadata']['name']}: {last!r} is not a number", "not-a-number"
            )
        if (check.min is not None and not value >= check.min) or (
            check.max is not None and not value <= check.max
        ):
            return Outcome.failed(what, f"{job['metadata']['name']}: {value:g}", "out-of-range")
    return Outcome.passed(what, f"{value:g}")


@evaluates(LogContainsCheck)
def _log_contains(ctx: GradingContext, check: LogContainsCheck) -> Outcome:
    what = f"log matches /{check.pattern}/"
    jobs = ctx.finished_jobs(check.job, what, simulated=check.simulated)
    if isinstance(jobs, Outcome):
        return jobs
    for job in jobs:
        log = ctx.log_of(job, check.container)
        if not re.search(check.pattern, log, re.MULTILINE):
            tail = next((ln for ln in reversed(log.splitlines()) if ln.strip()), "(empty log)")
            found = f"{job['metadata']['name']}: not in the log; last line: {tail[:160]}"
            return Outcome.failed(what, found, "no-match")
    return Outcome.passed(what, "found")


@evaluates(FileOnVolumeCheck)
def _file_on_volume(ctx: GradingContext, check: FileOnVolumeCheck) -> Outcome:
    where = f"claim {check.claim}" if check.claim else f"{check.host_path}"
    where += " on the node the pod ran on" if check.host_path or check.on_node else ""
    what = f"a file like /{check.pattern}/ ({check.min_size}+ bytes, written since the start) in {where}"
    if check.npz_arrays is not None:
        what += f", holding {check.npz_arrays} arrays"
    if check.count > 1:
        what = f"{check.count} files: {what}"
    jobs = (
        ctx.finished_workflows(check.job, what)
        if check.job.kind == "Workflow"
        else ctx.finished_jobs(check.job, what, simulated=check.simulated)
    )
    if isinstance(jobs, Outcome):
        return jobs
    if ctx.reader is None:
        return Outcome.pending(what, "files on volumes are read only when grading against a cluster")
    node = None
    if check.host_path or check.on_node:
        nodes = [p["spec"].get("nodeName") for j in jobs for p in ctx.pods_of(j) if p["spec"].get("nodeName")]
        if not nodes:
            return Outcome.failed(what, "the Job's pod never ran on a node", "no-pod")
        node = nodes[-1]
    files = ctx.files(check.claim, check.host_path, node)
    if not check.subdirectories:
        files = [f for f in files if "/" not in f.name]
    named = [f for f in files if re.search(check.pattern, posixpath.basename(f.name))]
    if not named:
        shown = ", ".join(f.name for f in files[:8]) or "nothing"
        return Outcome.failed(what, f"no such file; {where} holds: {shown}", "no-file")
    start = ctx.started_at.timestamp()
    fresh = [f for f in named if f.mtime >= start]
    if not fresh:
        return Outcome.failed(
            what,
            f"only files from before the lab started: {', '.join(f.name for f in named[:5])}",
            "old-file",
        )
    good = [f for f in fresh if f.size >= check.min_size]
    if not good:
        return Outcome.failed(what, f"{fresh[0].name} is {fresh[0].size} bytes", "small")
    if check.npz_arrays is not None:
        good = [f for f in good if f.npz_arrays == check.npz_arrays]
        if not good:
            return Outcome.failed(what, f"{fresh[0].name} holds {fresh[0].npz_arrays} arrays", "arrays")
    if ctx.images is not None:
        # The file must be the one the lab's code wrote: the SHA-256 its run reported.
        reported = set().union(*(ctx.reported_files(j) for j in jobs))
        written = [f for f in good if f.sha256 is not None and f.sha256 in reported]
        if not written:
            return Outcome.failed(
                what,
                f"{good[-1].name} is not a file the lab's code wrote (not a SHA-256 its run reported)",
                "not-written-by-lab",
                "let the lab's script write the file itself, into the mounted volume; do not replace it",
            )
        good = written
    if len(good) < check.count:
        shown = ", ".join(f.name for f in good) or "none"
        return Outcome.failed(what, f"{len(good)} such files: {shown}", "too-few")
    if check.count > 1:
        return Outcome.passed(what, ", ".join(f"{f.name} ({f.size} bytes)" for f in good[-check.count :]))
    return Outcome.passed(what, f"{good[-1].name} ({good[-1].size} bytes)")


def _intervals(ctx: GradingContext, jobs: list[dict[str, Any]]) -> list[tuple[datetime, datetime]]:
    """When each pod's lab container ran (each instance), so a helper container does not count twice."""
    spans = []
    for job in jobs:
        for term in ctx.lab_endings(job):
            start, end = parse_time(term.get("startedAt")), parse_time(term.get("finishedAt"))
            if start and end:
                spans.append((start, end))
    return spans


def _peak(spans: list[tuple[datetime, datetime]]) -> int:
    edges = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans], key=lambda x: (x[0], x[1]))
    peak = running = 0
    for _, delta in edges:
        running += delta
        peak = max(peak, running)
    return peak


@evaluates(ConcurrencyCheck)
def _concurrency(ctx: GradingContext, check: ConcurrencyCheck) -> Outcome:
    parts = [f"at least {check.min}"] + ([f"at most {check.max}"] if check.max is not None else [])
    if check.below_total:
        parts.append("fewer than all at once")
    what = f"pods of {check.jobs.describe()} running at the same time: {', '.join(parts)}"
    jobs = ctx.finished_jobs(check.jobs, what, simulated=check.simulated)
    if isinstance(jobs, Outcome):
        return jobs
    peak = _peak(_intervals(ctx, jobs))
    found = f"at most {peak} of {len(jobs)} ran at once"
    ok = peak >= check.min and (check.max is None or peak <= check.max)
    ok = ok and (not check.below_total or peak < len(jobs))
    return Outcome("passed" if ok else "failed", what, found, "" if ok else "peak")


@evaluates(UnschedulableCheck)
def _unschedulable(ctx: GradingContext, check: UnschedulableCheck) -> Outcome:
    what = f"a pod of {check.jobs.describe()} Pending for lack of resources (FailedScheduling)"
    fresh, _ = ctx.jobs(check.jobs)
    pods = {p["metadata"]["uid"]: p for j in fresh for p in ctx.pods_of(j)}
    names = {p["metadata"]["name"] for p in pods.values()}
    for event in ctx.snapshot.of_kind("Event"):
        involved = event.get("involvedObject") or {}
        if event.get("reason") == "FailedScheduling" and (
            involved.get("uid") in pods or involved.get("name") in names
        ):
            return Outcome.passed(what, f"{involved.get('name')}: {str(event.get('message', ''))[:160]}")
    for pod in pods.values():
        scheduled = [
            c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") == "PodScheduled"
        ]
        if any(c.get("status") == "False" and c.get("reason") == "Unschedulable" for c in scheduled):
            return Outcome.passed(what, f"{pod['metadata']['name']}: Unschedulable")
    jobs = ctx.finished_jobs(check.jobs, what, real_run=False)
    if isinstance(jobs, Outcome):
        return jobs
    return Outcome.failed(what, f"every pod of the {len(jobs)} Jobs was scheduled at once", "all-scheduled")


@evaluates(QosClassCheck)
def _qos(ctx: GradingContext, check: QosClassCheck) -> Outcome:
    what = f"QoS class {check.equals}"
    fresh, _ = ctx.jobs(check.job)
    pods = [p for j in fresh for p in ctx.pods_of(j) if (p.get("status") or {}).get("qosClass")]
    if not pods:
        jobs = ctx.finished_jobs(check.job, what, real_run=False)
        return jobs if isinstance(jobs, Outcome) else Outcome.failed(what, "the Job has no pod", "no-pod")
    classes = sorted({str(p["status"]["qosClass"]) for p in pods})
    ok = classes == [check.equals]
    return Outcome("passed" if ok else "failed", what, ", ".join(classes), "" if ok else "class")


@evaluates(NodeHealthyCheck)
def _node_healthy(ctx: GradingContext, check: NodeHealthyCheck) -> Outcome:
    what = "the nodes the pods ran on: Ready, no memory pressure"
    jobs = ctx.finished_jobs(check.jobs, what, real_run=False)
    if isinstance(jobs, Outcome):
        return jobs
    hidden = ctx.nodes_hidden(what)
    if hidden is not None:
        return hidden
    names = {p["spec"].get("nodeName") for j in jobs for p in ctx.pods_of(j)} - {None}
    nodes = {n["metadata"]["name"]: n for n in ctx.snapshot.of_kind("Node")}
    for name in sorted(names):
        node = nodes.get(str(name))
        if node is None:
            return Outcome.failed(what, f"node {name} is gone", "node")
        if condition(node, "Ready") is None:
            return Outcome.failed(what, f"node {name} is not Ready", "node")
        if condition(node, "MemoryPressure") is not None:
            return Outcome.failed(what, f"node {name} reports MemoryPressure", "node")
    return Outcome.passed(what, ", ".join(f"{n}: Ready" for n in sorted(map(str, names))) or "no pods")
