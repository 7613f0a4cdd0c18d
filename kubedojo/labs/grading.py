"""Grading: every check of a lab against a submission and a cluster snapshot.

All checks run (never stopping at the first failure); each answers passed, failed or pending
(no verdict yet: the Job still runs, or nothing was submitted yet). Grading only reads: given the same
cluster it gives the same answer however often it runs. Runtime checks consider only objects created
after the lab started, and only pods that their Job owns.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from ..errors import ConfigError
from .definition import (
    Check,
    ConcurrencyCheck,
    CountCheck,
    FieldCheck,
    FileOnVolumeCheck,
    JobConditionCheck,
    LabDefinition,
    LimitsCheck,
    LogContainsCheck,
    LogMetricCheck,
    MountCheck,
    NodeHealthyCheck,
    PythonCheck,
    QosClassCheck,
    Select,
    StringsCheck,
    TerminatedCheck,
    UnschedulableCheck,
)
from .jsonpath import select
from .objects import condition, container_states, created_at, job_finished, owned_by, parse_time, pod_spec
from .quantity import parse_quantity, same_quantity
from .results import CheckResult, LabResult, Outcome
from .snapshot import ClusterSnapshot

__all__ = ["FileInfo", "FileReader", "GradingContext", "grade"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class FileInfo:
    name: str
    size: int
    mtime: float
    npz_arrays: int | None = None


class FileReader(Protocol):
    def list_files(
        self, namespace: str, *, claim: str | None, host_path: str | None, node: str | None
    ) -> list[FileInfo]: ...


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


class GradingContext:
    """What checks see. Also what a lab's Python checks (``labs/<id>/checks.py``) are given."""

    def __init__(
        self,
        lab: LabDefinition,
        snapshot: ClusterSnapshot,
        started_at: datetime,
        submission: list[dict[str, Any]] | None = None,
        reader: FileReader | None = None,
    ) -> None:
        self.lab = lab
        self.snapshot = snapshot
        self.started_at = started_at.replace(microsecond=0)
        self.submission = submission
        self.reader = reader
        self._files: dict[tuple[str | None, str | None, str | None], list[FileInfo]] = {}

    def files(self, claim: str | None, host_path: str | None, node: str | None) -> list[FileInfo]:
        """What a volume holds, read once per grading (None reader: nothing can be read)."""
        key = (claim, host_path, node)
        if key not in self._files:
            assert self.reader is not None
            self._files[key] = self.reader.list_files(
                self.snapshot.namespace, claim=claim, host_path=host_path, node=node
            )
        return self._files[key]

    # -- objects -----------------------------------------------------------------------------

    def fresh(self, obj: dict[str, Any]) -> bool:
        when = created_at(obj)
        return when is not None and when >= self.started_at

    def submitted(self, sel: Select) -> list[dict[str, Any]]:
        """The objects static checks look at: the manifest's (lab.run) or the live ones created since
        the lab started (lab.check)."""
        if self.submission is not None:
            return [o for o in self.submission if sel.matches(o)]
        return [o for o in self.snapshot.of_kind(sel.kind) if sel.matches(o) and self.fresh(o)]

    def jobs(self, sel: Select) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(Jobs created since the lab started, older ones) that ``sel`` selects."""
        found = [j for j in self.snapshot.of_kind("Job") if sel.matches(j)]
        return [j for j in found if self.fresh(j)], [j for j in found if not self.fresh(j)]

    def pods_of(self, job: dict[str, Any]) -> list[dict[str, Any]]:
        pods = [p for p in self.snapshot.of_kind("Pod") if owned_by(p, job)]
        return sorted(pods, key=lambda p: (p.get("metadata") or {}).get("creationTimestamp") or "")

    def log_of(self, job: dict[str, Any], container: str | None = None) -> str:
        """The logs of the Job's pods, oldest first, control characters removed."""
        parts = []
        for pod in self.pods_of(job):
            name = pod["metadata"]["name"]
            text = self.snapshot.log(name, container or _first_container(pod))
            if text:
                parts.append(text)
        return _CONTROL.sub("", "\n".join(parts).replace("\r", "\n"))

    def finished_jobs(self, sel: Select, what: str) -> tuple[list[dict[str, Any]] | None, Outcome | None]:
        """The selected Jobs when all have finished; otherwise the pending/failed outcome to give."""
        fresh, stale = self.jobs(sel)
        if not fresh:
            if stale:
                return None, Outcome.failed(
                    what,
                    f"{sel.describe()} was created before the lab started; "
                    "reset the lab ('invoke lab.reset') and submit again",
                )
            return None, Outcome.pending(what, f"no {sel.describe()} yet")
        running = [j["metadata"]["name"] for j in fresh if job_finished(j) is None]
        if running:
            return None, Outcome.pending(what, f"still running: {', '.join(running)}")
        return fresh, None


def _first_container(pod: dict[str, Any]) -> str | None:
    containers = (pod.get("spec") or {}).get("containers") or []
    return str(containers[0]["name"]) if containers else None


# -- static checks ----------------------------------------------------------------------------


def _missing(ctx: GradingContext, sel: Select, what: str) -> Outcome:
    if ctx.submission is not None:
        return Outcome.failed(what, f"the manifest has no {sel.describe()}")
    return Outcome.pending(what, f"no {sel.describe()} submitted since the lab started")


def _field(ctx: GradingContext, check: FieldCheck) -> Outcome:
    objs = ctx.submitted(check.object)
    if check.present is not None:
        what = f"{check.path} {'set' if check.present else 'not set'}"
    elif check.equals is not None:
        what = f"{check.path} = {_show(check.equals)}"
    elif check.one_of is not None:
        what = f"{check.path} one of {', '.join(_show(v) for v in check.one_of)}"
    elif check.quantity is not None:
        what = f"{check.path} = {check.quantity}"
    else:
        bounds = [
            f">= {check.min:g}" if check.min is not None else "",
            f"<= {check.max:g}" if check.max is not None else "",
        ]
        what = f"{check.path} {' and '.join(b for b in bounds if b)}"
    if not objs:
        return _missing(ctx, check.object, what)
    for obj in objs:
        values = select(obj, check.path)
        label = obj["metadata"].get("name") or obj["metadata"].get("generateName")
        if check.present is not None:
            if bool(values) != check.present:
                shown = "not set" if not values else f"set to {_show(values[0])}"
                return Outcome.failed(what, f"{label}: {check.path} is {shown}")
            continue
        if not values:
            return Outcome.failed(what, f"{label}: {check.path} is not set")
        for value in values:
            ok = True
            if check.equals is not None:
                ok = value == check.equals and type(value) is type(check.equals)
            elif check.one_of is not None:
                ok = value in check.one_of
            elif check.quantity is not None:
                ok = same_quantity(value, check.quantity)
            else:
                try:
                    number = float(parse_quantity(value))
                except ValueError:
                    ok = False
                else:
                    ok = (check.min is None or number >= check.min) and (
                        check.max is None or number <= check.max
                    )
            if not ok:
                return Outcome.failed(what, f"{label}: {check.path} = {_show(value)}")
    shown = _show(select(objs[0], check.path)[0]) if select(objs[0], check.path) else "not set"
    return Outcome.passed(what, f"{check.path} = {shown}" if check.present is not False else "not set")


def _strings(ctx: GradingContext, check: StringsCheck) -> Outcome:
    what = f"{check.path}: " + (f"{check.length} strings" if check.length else "strings only")
    objs = ctx.submitted(check.object)
    if not objs:
        return _missing(ctx, check.object, what)
    for obj in objs:
        label = obj["metadata"].get("name") or obj["metadata"].get("generateName")
        lists = select(obj, check.path)
        if not lists or not isinstance(lists[0], list):
            return Outcome.failed(what, f"{label}: {check.path} is not a list")
        for items in lists:
            bad = [v for v in items if not isinstance(v, str)]
            if bad:
                return Outcome.failed(
                    what, f"{label}: {', '.join(f'{v!r} ({type(v).__name__})' for v in bad)} in {items!r}"
                )
            if check.length is not None and len(items) != check.length:
                return Outcome.failed(what, f"{label}: {len(items)} items: {items!r}")
    return Outcome.passed(what, repr(select(objs[0], check.path)[0]))


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pod_spec(obj).get("containers") or [])


def _limits(ctx: GradingContext, check: LimitsCheck) -> Outcome:
    what = (
        "limits" + (f" for {', '.join(check.require)}" if check.require else "") + ", none below its request"
    )
    objs = ctx.submitted(check.object)
    if not objs:
        return _missing(ctx, check.object, what)
    for obj in objs:
        for container in _containers(obj):
            resources = container.get("resources") or {}
            limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
            name = container.get("name")
            for key in check.require:
                if key not in limits:
                    return Outcome.failed(what, f"container {name}: no {key} limit")
            for key, request in requests.items():
                if key in limits:
                    try:
                        if parse_quantity(limits[key]) < parse_quantity(request):
                            return Outcome.failed(
                                what,
                                f"container {name}: {key} limit {limits[key]} is below its request {request}",
                            )
                    except ValueError as exc:
                        return Outcome.failed(what, f"container {name}: {exc}")
    first = (_containers(objs[0]) or [{}])[0].get("resources") or {}
    return Outcome.passed(what, f"requests {first.get('requests', {})}, limits {first.get('limits', {})}")


def _mount(ctx: GradingContext, check: MountCheck) -> Outcome:
    if check.claim is not None:
        source, key, wanted = "claim", ("persistentVolumeClaim", "claimName"), check.claim
    elif check.config_map is not None:
        source, key, wanted = "ConfigMap", ("configMap", "name"), check.config_map
    else:
        source, key, wanted = "host path", ("hostPath", "path"), str(check.host_path)
    what = f"{source} {wanted} mounted at {check.mount_path}"
    objs = ctx.submitted(check.object)
    if not objs:
        return _missing(ctx, check.object, what)
    for obj in objs:
        spec = pod_spec(obj)
        volumes = [
            v.get("name") for v in spec.get("volumes") or [] if (v.get(key[0]) or {}).get(key[1]) == wanted
        ]
        if not volumes:
            found = [
                f"{v.get('name')} ({', '.join(k for k in v if k != 'name')})"
                for v in spec.get("volumes") or []
            ]
            return Outcome.failed(
                what, f"no volume from {source} {wanted}; volumes: {', '.join(found) or 'none'}"
            )
        mounts = [
            m
            for c in spec.get("containers") or []
            for m in c.get("volumeMounts") or []
            if m.get("name") in volumes
        ]
        if not any(str(m.get("mountPath", "")).rstrip("/") == check.mount_path.rstrip("/") for m in mounts):
            where = ", ".join(str(m.get("mountPath")) for m in mounts) or "not mounted at all"
            return Outcome.failed(what, f"volume {volumes[0]} is mounted at: {where}")
    return Outcome.passed(what, what)


def _count(ctx: GradingContext, check: CountCheck) -> Outcome:
    objs = ctx.submitted(check.object)
    what = (
        f"{check.equals if check.equals is not None else f'at least {check.min}'} {check.object.describe()}"
    )
    names = [o["metadata"].get("name") or o["metadata"].get("generateName") for o in objs]
    found = f"{len(objs)}" + (
        f": {', '.join(names[:10])}" + (" …" if len(names) > 10 else "") if names else ""
    )
    if not objs and ctx.submission is None:
        return Outcome.pending(what, "none submitted since the lab started")
    ok = (check.equals is None or len(objs) == check.equals) and (check.min is None or len(objs) >= check.min)
    return Outcome("passed" if ok else "failed", what, found)


# -- runtime checks ---------------------------------------------------------------------------


def _job_condition(ctx: GradingContext, check: JobConditionCheck) -> Outcome:
    what = f"{check.job.describe()}: {check.type}" + (f" ({check.reason})" if check.reason else "")
    jobs, early = ctx.finished_jobs(check.job, what)
    if jobs is None:
        return early  # type: ignore[return-value]
    for job in jobs:
        final = job_finished(job) or {}
        name = job["metadata"]["name"]
        if final.get("type") != check.type or (check.reason and final.get("reason") != check.reason):
            reason = f": {final.get('reason')}" if final.get("reason") else ""
            message = f" — {final.get('message')}" if final.get("message") else ""
            return Outcome.failed(what, f"{name}: {final.get('type')}{reason}{message}")
    final = job_finished(jobs[0]) or {}
    return Outcome.passed(
        what, f"{final.get('type')}" + (f" ({final.get('reason')})" if final.get("reason") else "")
    )


def _terminated(ctx: GradingContext, check: TerminatedCheck) -> Outcome:
    what = f"a container terminated with {check.reason}" + (
        f", exit code {check.exit_code}" if check.exit_code is not None else ""
    )
    if check.job.name is None:
        what = f"every Job: {what}"
    jobs, early = ctx.finished_jobs(check.job, what)
    if jobs is None:
        return early  # type: ignore[return-value]
    found = ""
    for job in jobs:
        seen = []
        for pod in ctx.pods_of(job):
            for name, state in container_states(pod):
                if check.container and name != check.container:
                    continue
                seen.append(f"{state.get('reason')} (exit code {state.get('exitCode')})")
                if state.get("reason") == check.reason and check.exit_code in (None, state.get("exitCode")):
                    found = seen[-1]
                    break
            else:
                continue
            break
        else:
            shown = ", ".join(dict.fromkeys(seen)) or "no container terminated"
            return Outcome.failed(what, f"{job['metadata']['name']}: {shown}")
    return Outcome.passed(what, found if len(jobs) == 1 else f"{len(jobs)} Jobs: {found}")


def _log_metric(ctx: GradingContext, check: LogMetricCheck) -> Outcome:
    bounds = [
        f">= {check.min:g}" if check.min is not None else "",
        f"<= {check.max:g}" if check.max is not None else "",
    ]
    what = f"log /{check.pattern}/ " + " and ".join(b for b in bounds if b)
    jobs, early = ctx.finished_jobs(check.job, what)
    if jobs is None:
        return early  # type: ignore[return-value]
    for job in jobs:
        matches = re.findall(check.pattern, ctx.log_of(job, check.container), re.MULTILINE)
        if not matches:
            return Outcome.failed(what, f"{job['metadata']['name']}: no such line in the log")
        last = matches[-1][0] if isinstance(matches[-1], tuple) else matches[-1]
        try:
            value = float(last)
        except ValueError:
            return Outcome.failed(what, f"{job['metadata']['name']}: {last!r} is not a number")
        if (check.min is not None and not value >= check.min) or (
            check.max is not None and not value <= check.max
        ):
            return Outcome.failed(what, f"{job['metadata']['name']}: {value:g}")
    return Outcome.passed(what, f"{value:g}")


def _log_contains(ctx: GradingContext, check: LogContainsCheck) -> Outcome:
    what = f"log matches /{check.pattern}/"
    jobs, early = ctx.finished_jobs(check.job, what)
    if jobs is None:
        return early  # type: ignore[return-value]
    for job in jobs:
        log = ctx.log_of(job, check.container)
        if not re.search(check.pattern, log, re.MULTILINE):
            tail = next((ln for ln in reversed(log.splitlines()) if ln.strip()), "(empty log)")
            return Outcome.failed(what, f"{job['metadata']['name']}: not in the log; last line: {tail[:160]}")
    return Outcome.passed(what, "found")


def _file_on_volume(ctx: GradingContext, check: FileOnVolumeCheck) -> Outcome:
    where = f"claim {check.claim}" if check.claim else f"{check.host_path} on the node the pod ran on"
    what = f"a file like /{check.pattern}/ ({check.min_size}+ bytes, written since the start) in {where}"
    if check.npz_arrays is not None:
        what += f", holding {check.npz_arrays} arrays"
    jobs, early = ctx.finished_jobs(check.job, what)
    if jobs is None:
        return early  # type: ignore[return-value]
    if ctx.reader is None:
        return Outcome.pending(what, "files on volumes are read only when grading against a cluster")
    node = None
    if check.host_path:
        nodes = [p["spec"].get("nodeName") for j in jobs for p in ctx.pods_of(j) if p["spec"].get("nodeName")]
        if not nodes:
            return Outcome.failed(what, "the Job's pod never ran on a node")
        node = nodes[-1]
    files = ctx.files(check.claim, check.host_path, node)
    named = [f for f in files if re.search(check.pattern, f.name)]
    if not named:
        shown = ", ".join(f.name for f in files[:8]) or "nothing"
        return Outcome.failed(what, f"no such file; {where} holds: {shown}")
    start = ctx.started_at.timestamp()
    fresh = [f for f in named if f.mtime >= start]
    if not fresh:
        return Outcome.failed(
            what, f"only files from before the lab started: {', '.join(f.name for f in named[:5])}"
        )
    good = [f for f in fresh if f.size >= check.min_size]
    if not good:
        return Outcome.failed(what, f"{fresh[0].name} is {fresh[0].size} bytes")
    if check.npz_arrays is not None:
        good = [f for f in good if f.npz_arrays == check.npz_arrays]
        if not good:
            return Outcome.failed(what, f"{fresh[0].name} holds {fresh[0].npz_arrays} arrays")
    return Outcome.passed(what, f"{good[-1].name} ({good[-1].size} bytes)")


def _intervals(ctx: GradingContext, jobs: list[dict[str, Any]]) -> list[tuple[datetime, datetime]]:
    spans = []
    for job in jobs:
        for pod in ctx.pods_of(job):
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                for key in ("state", "lastState"):
                    term = (status.get(key) or {}).get("terminated") or {}
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


def _concurrency(ctx: GradingContext, check: ConcurrencyCheck) -> Outcome:
    parts = [f"at least {check.min}"] + ([f"at most {check.max}"] if check.max is not None else [])
    if check.below_total:
        parts.append("fewer than all at once")
    what = f"pods of {check.jobs.describe()} running at the same time: {', '.join(parts)}"
    jobs, early = ctx.finished_jobs(check.jobs, what)
    if jobs is None:
        return early  # type: ignore[return-value]
    peak = _peak(_intervals(ctx, jobs))
    found = f"at most {peak} of {len(jobs)} ran at once"
    ok = peak >= check.min and (check.max is None or peak <= check.max)
    ok = ok and (not check.below_total or peak < len(jobs))
    return Outcome("passed" if ok else "failed", what, found)


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
    jobs, early = ctx.finished_jobs(check.jobs, what)
    if jobs is None:
        return early  # type: ignore[return-value]
    return Outcome.failed(what, f"every pod of the {len(jobs)} Jobs was scheduled at once")


def _qos(ctx: GradingContext, check: QosClassCheck) -> Outcome:
    what = f"QoS class {check.equals}"
    fresh, _ = ctx.jobs(check.job)
    pods = [p for j in fresh for p in ctx.pods_of(j) if (p.get("status") or {}).get("qosClass")]
    if not pods:
        _jobs, early = ctx.finished_jobs(check.job, what)
        return early or Outcome.failed(what, "the Job has no pod")
    classes = sorted({str(p["status"]["qosClass"]) for p in pods})
    ok = classes == [check.equals]
    return Outcome("passed" if ok else "failed", what, ", ".join(classes))


def _node_healthy(ctx: GradingContext, check: NodeHealthyCheck) -> Outcome:
    what = "the nodes the pods ran on: Ready, no memory pressure"
    jobs, early = ctx.finished_jobs(check.jobs, what)
    if jobs is None:
        return early  # type: ignore[return-value]
    if "Node" in ctx.snapshot.hidden:
        return Outcome.pending(what, "this identity may not see nodes; the instructor's grading does")
    names = {p["spec"].get("nodeName") for j in jobs for p in ctx.pods_of(j)} - {None}
    nodes = {n["metadata"]["name"]: n for n in ctx.snapshot.of_kind("Node")}
    for name in sorted(names):
        node = nodes.get(str(name))
        if node is None:
            return Outcome.failed(what, f"node {name} is gone")
        if condition(node, "Ready") is None:
            return Outcome.failed(what, f"node {name} is not Ready")
        if condition(node, "MemoryPressure") is not None:
            return Outcome.failed(what, f"node {name} reports MemoryPressure")
    return Outcome.passed(what, ", ".join(f"{n}: Ready" for n in sorted(map(str, names))) or "no pods")


_MODULES: dict[tuple[Path, float], ModuleType] = {}


def _load_checks_module(lab: LabDefinition) -> ModuleType:
    """``labs/<id>/checks.py``, loaded once per version of the file."""
    path = lab.directory / "checks.py"
    try:
        key = (path, path.stat().st_mtime)
    except OSError:
        raise ConfigError(f"{path}: missing (the lab has python checks)") from None
    if key not in _MODULES:
        _MODULES[key] = _import_checks(lab, path)
    return _MODULES[key]


def _import_checks(lab: LabDefinition, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"kubedojo_lab_checks_{lab.id.replace('-', '_')}", path)
    if spec is None or spec.loader is None or not path.exists():
        raise ConfigError(f"{path}: missing (the lab has python checks)")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _python(ctx: GradingContext, check: PythonCheck) -> Outcome:
    module = _load_checks_module(ctx.lab)
    function = getattr(module, check.function, None)
    if not callable(function):
        raise ConfigError(f"{ctx.lab.directory / 'checks.py'}: no function {check.function!r}")
    outcome = function(ctx, **check.params)
    if not isinstance(outcome, Outcome):
        raise ConfigError(f"{ctx.lab.directory / 'checks.py'}: {check.function} must return an Outcome")
    return outcome


_EVALUATORS: dict[type, Callable[[GradingContext, Any], Outcome]] = {
    FieldCheck: _field,
    StringsCheck: _strings,
    LimitsCheck: _limits,
    MountCheck: _mount,
    CountCheck: _count,
    JobConditionCheck: _job_condition,
    TerminatedCheck: _terminated,
    LogMetricCheck: _log_metric,
    LogContainsCheck: _log_contains,
    FileOnVolumeCheck: _file_on_volume,
    ConcurrencyCheck: _concurrency,
    UnschedulableCheck: _unschedulable,
    QosClassCheck: _qos,
    NodeHealthyCheck: _node_healthy,
    PythonCheck: _python,
}


def evaluate(ctx: GradingContext, check: Check, refused: str | None = None) -> CheckResult:
    if refused is not None and check.phase == "runtime":
        outcome = Outcome.failed(check.title, f"nothing was applied: {refused}")
    else:
        outcome = _EVALUATORS[type(check)](ctx, check)
    return CheckResult(
        id=check.id,
        title=check.title,
        phase=check.phase,
        status=outcome.status,
        points=check.points,
        earned=check.points if outcome.status == "passed" else 0,
        expected=outcome.expected,
        found=outcome.found,
        hint=check.hint if outcome.status == "failed" else "",
    )


def grade(
    ctx: GradingContext, participant: str, refused: str | None = None, static_only: bool = False
) -> LabResult:
    """Evaluate every check of the lab (all of them, whatever fails)."""
    checks = ctx.lab.static_checks if static_only else ctx.lab.checks
    results = [evaluate(ctx, check, refused) for check in checks]
    return LabResult(
        lab=ctx.lab.id,
        title=ctx.lab.title,
        participant=participant,
        namespace=ctx.snapshot.namespace,
        started_at=ctx.started_at.isoformat(),
        graded_at=ctx.snapshot.taken_at.isoformat(timespec="seconds"),
        checks=results,
        refused=refused,
    )
