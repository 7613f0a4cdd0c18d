"""Following a submission while it runs: its workloads (Jobs, Workflows: :mod:`.workloads`) to their
end, a Workflow's nodes as they change, its pods (phases and log lines for the live view) and the
namespace's events and the cluster's nodes, each through the client's one watch loop, and what keeps
it from finishing (:mod:`kubedojo.labs.stuck`) the moment the cluster reports it.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..client.kubeapi import KubeAPI, WatchEvent
from .stuck import Stuck, diagnose
from .workflows import (
    NODE_ID_ANNOTATION,
    STRUCTURAL,
    executor_line,
    node_finished,
    node_started,
    workflow_nodes,
)
from .workloads import WORKLOADS, done, workload_of_pod

__all__ = ["FollowReporter", "Followed", "Ref", "follow"]

Obj = dict[str, Any]
Ref = tuple[str, str]
"""(kind, name) of a submitted workload."""


class FollowReporter(Protocol):
    def pod(self, name: str, phase: str, detail: str) -> None:
        """A pod of the submission (or a Workflow's node, as ``workflow/node``) changed phase."""
        ...

    def log(self, pod: str, line: str) -> None: ...


@dataclass(frozen=True)
class Followed:
    finished: bool
    """Every workload reached its end (a Job Complete or Failed, a Workflow Succeeded, Failed or
    Error)."""
    stuck: Stuck | None = None
    """Why one could not finish, the first such cause recognised (the others were followed on to
    their end)."""


def _pod_detail(pod: Obj) -> str:
    status = pod.get("status") or {}
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if "terminated" in state:
            ended = state["terminated"]
            return f"{ended.get('reason')} (exit code {ended.get('exitCode')})"
        if (state.get("waiting") or {}).get("reason"):
            return str(state["waiting"]["reason"])
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return f"{cond.get('reason')}: {(cond.get('message') or '')[:100]}"
    return ""


def _node_detail(node: Obj) -> str:
    started, finished = node_started(node), node_finished(node)
    took = f"{(finished - started).total_seconds():.0f} s" if started and finished else ""
    message = str(node.get("message") or "")[:100]
    return ", ".join(part for part in (took, message) if part)


@dataclass
class _State:
    """What the watches have seen, keyed by uid; the verdict once there is one."""

    names: set[Ref]
    autoscaled: bool = False
    until_running: bool = False
    """Done once every Job has a running pod (not once they finished)."""
    workloads: dict[str, dict[str, Obj]] = field(default_factory=dict)
    """Per kind, by uid."""
    pods: dict[str, Obj] = field(default_factory=dict)
    events: dict[str, Obj] = field(default_factory=dict)
    nodes: dict[str, Obj] = field(default_factory=dict)
    """The cluster's nodes (none when the watch is refused): whether a pod waiting for room fits one."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)
    stuck: dict[Ref, Stuck] = field(default_factory=dict)
    """The workloads that cannot finish, and why: the others are followed on."""
    verdict: Followed | None = None
    error: BaseException | None = None
    """What broke the Job watch (a refused list, an unreachable server): the caller raises it."""

    def update(self, table: dict[str, Obj], event: WatchEvent) -> None:
        with self.lock:
            event.apply_to(table)
            self._judge()

    def judge(self) -> None:
        """Judge again without news (a cause that counts only once it has lasted)."""
        with self.lock:
            self._judge()

    def _judge(self) -> None:
        if self.done.is_set():
            return
        mine = [w for table in self.workloads.values() for w in table.values() if _ref(w) in self.names]
        finished = {_ref(w) for w in mine if done(w, self.pods.values())}
        if self.until_running:
            uids = {w["metadata"].get("uid") for w in mine}
            finished |= {
                ref
                for p in self.pods.values()
                if (p.get("status") or {}).get("phase") == "Running"
                and any(r.get("uid") in uids for r in p["metadata"].get("ownerReferences") or [])
                and (ref := workload_of_pod(p)) is not None
            }
        if finished | set(self.stuck) >= self.names:
            first = next(iter(self.stuck.values()), None)
            self.verdict = Followed(finished >= self.names, first)
            self.done.set()
            return
        # Only this attempt's objects: events about older objects of the same names do not count.
        uids = {o["metadata"].get("uid") for o in [*mine, *self.pods.values()]}
        events = [e for e in self.events.values() if (e.get("involvedObject") or {}).get("uid") in uids]
        moving = [w for w in mine if _ref(w) not in self.stuck]
        found = diagnose(
            moving, self.pods.values(), events, autoscaled=self.autoscaled, nodes=self.nodes.values()
        )
        if found is not None:
            owners = self._owners(found, [_ref(w) for w in moving if _ref(w) not in finished])
            if not owners:  # about a workload that finished meanwhile: nothing to give up on
                return
            self.stuck.update(dict.fromkeys(owners, found))
            self._judge()  # the others may move on, or be stuck too

    def _owners(self, stuck: Stuck, unfinished: list[Ref]) -> list[Ref]:
        """The workload the stuck subject belongs to (all unfinished ones when that is unknown)."""
        kind, _, name = stuck.subject.partition("/")
        if kind == "Pod":
            pods = [p for p in self.pods.values() if p["metadata"]["name"] == name]
            owner = workload_of_pod(pods[0]) if pods else None
        else:
            owner = (kind, name)
        return [owner] if owner in unfinished else unfinished


def _ref(obj: Obj) -> Ref:
    return str(obj.get("kind")), str(obj["metadata"]["name"])


def follow(
    client: KubeAPI,
    namespace: str,
    workloads: Iterable[Ref],
    timeout: float,
    reporter: FollowReporter,
    container_of: Callable[[Obj], str | None] = lambda pod: None,
    autoscaled: bool = False,
    until_running: bool = False,
) -> Followed:
    """Watch until every named workload (kind, name) has finished, or something keeps it from it, or
    ``timeout`` seconds pass (then ``Followed(False)``); meanwhile report pods' phases (a
    Workflow's nodes as ``workflow/node``, with their phase, duration and message) and the log
    lines of each pod's container: the workload kind's (a Workflow's ``main``), else
    ``container_of(pod)`` (None: its only container). ``autoscaled``: the cluster autoscaler may
    add a node for a pod that cannot be placed (:func:`~.stuck.diagnose`). ``until_running``:
    done once every Job's pod runs (a lab graded while they run)."""
    state = _State(set(workloads), autoscaled, until_running)
    if not state.names:
        return Followed(True)
    stop = threading.Event()
    following: set[str] = set()
    seen: dict[str, tuple[str, str]] = {}

    def show(name: str, phase: str, detail: str) -> None:
        if seen.get(name) != (phase, detail):
            seen[name] = (phase, detail)
            reporter.pod(name, phase, detail)

    def row(pod: Obj) -> str:
        """The live view's row of a pod: a Workflow's node (``workflow/node``), else the pod."""
        ref = workload_of_pod(pod)
        if ref is not None and ref[0] == "Workflow":
            node_id = (pod["metadata"].get("annotations") or {}).get(NODE_ID_ANNOTATION)
            with state.lock:
                workflows = [w for w in state.workloads.get("Workflow", {}).values() if _ref(w) == ref]
            for workflow in workflows:
                nodes = (workflow.get("status") or {}).get("nodes") or {}
                if node_id in nodes:
                    return f"{ref[1]}/{nodes[node_id].get('displayName')}"
        return str(pod["metadata"]["name"])

    def on_workloads(kind: str, event: WatchEvent) -> None:
        state.update(state.workloads.setdefault(kind, {}), event)
        for obj in event.present:
            if obj.get("kind") == "Workflow" and _ref(obj) in state.names:
                for node in workflow_nodes(obj):
                    if node.get("type") not in STRUCTURAL and node.get("type") not in ("Steps", "DAG"):
                        shown = f"{obj['metadata']['name']}/{node.get('displayName')}"
                        show(shown, str(node.get("phase") or "Pending"), _node_detail(node))

    def on_pods(event: WatchEvent) -> None:
        state.update(state.pods, event)
        for pod in event.present:
            ref = workload_of_pod(pod)
            if ref not in state.names:
                continue
            name = pod["metadata"]["name"]
            if ref is not None and ref[0] != "Workflow":  # a Workflow's nodes are shown instead
                show(name, str((pod.get("status") or {}).get("phase")), _pod_detail(pod))
            statuses = (pod.get("status") or {}).get("containerStatuses") or []
            if any("running" in (s.get("state") or {}) for s in statuses) and name not in following:
                following.add(name)
                container = WORKLOADS[ref[0]].log_container if ref else None
                names = {c.get("name") for c in (pod.get("spec") or {}).get("containers") or []}
                if container not in names:  # a pod of the workload without it (Katib's suggestion service)
                    container = None
                target = functools.partial(
                    _follow_log,
                    client,
                    namespace,
                    name,
                    container or container_of(pod),
                    stop,
                    reporter,
                    row(pod),
                )
                _thread(target)

    def watching(
        kind: str, handle: Callable[[WatchEvent], None], essential: bool = False
    ) -> Callable[[], None]:
        def run() -> None:
            try:
                for event in client.watch(kind, namespace, timeout=timeout):
                    if stop.is_set():
                        return
                    handle(event)
            except Exception as exc:
                if essential:  # without the Jobs there is nothing to wait for
                    state.error = exc
                    state.done.set()
                # the pods and events only feed the live view and the diagnosis

        return run

    for kind in sorted({kind for kind, _ in state.names}):
        _thread(watching(kind, functools.partial(on_workloads, kind), essential=True))
    _thread(watching("Pod", on_pods))
    _thread(watching("Event", lambda e: state.update(state.events, e)))
    _thread(watching("Node", lambda e: state.update(state.nodes, e)))
    deadline = time.monotonic() + timeout
    try:
        while not state.done.wait(min(1.0, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                break
            state.judge()  # in memory: what the watches brought, judged again as time passes
    finally:
        stop.set()
    if state.error is not None:
        raise state.error
    return state.verdict or Followed(False)


def _thread(target: Callable[[], None]) -> None:
    threading.Thread(target=target, daemon=True).start()


def _follow_log(
    client: KubeAPI,
    namespace: str,
    pod: str,
    container: str | None,
    stop: threading.Event,
    reporter: FollowReporter,
    shown_as: str,
) -> None:
    with contextlib.suppress(Exception):
        for line in client.follow_log(namespace, pod, container):
            if stop.is_set():
                break
            if not executor_line(line):
                reporter.log(shown_as, line)
