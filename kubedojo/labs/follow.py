"""Following a submission while it runs: its Jobs to their end, its pods (phases and log lines for the
live view) and the namespace's events, each through the client's one watch loop, and what keeps it
from finishing (:mod:`kubedojo.labs.stuck`) the moment the cluster reports it.
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
from .objects import job_finished
from .stuck import Stuck, diagnose

__all__ = ["FollowReporter", "Followed", "follow_jobs"]

Obj = dict[str, Any]


class FollowReporter(Protocol):
    def pod(self, name: str, phase: str, detail: str) -> None: ...
    def log(self, pod: str, line: str) -> None: ...


@dataclass(frozen=True)
class Followed:
    finished: bool
    """Every Job reached Complete or Failed."""
    stuck: Stuck | None = None
    """Why they could not finish, when that was recognised first."""


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


@dataclass
class _State:
    """What the three watches have seen, keyed by uid; the verdict once there is one."""

    names: set[str]
    autoscaled: bool = False
    until_running: bool = False
    """Done once every Job has a running pod (not once they finished)."""
    jobs: dict[str, Obj] = field(default_factory=dict)
    pods: dict[str, Obj] = field(default_factory=dict)
    events: dict[str, Obj] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: threading.Event = field(default_factory=threading.Event)
    verdict: Followed | None = None
    error: BaseException | None = None
    """What broke the Job watch (a refused list, an unreachable server): the caller raises it."""

    def update(self, table: dict[str, Obj], event: WatchEvent) -> None:
        with self.lock:
            if event.type == "LISTED":
                table.clear()
            for obj in event.objects:
                uid = str(obj["metadata"].get("uid") or obj["metadata"].get("name"))
                if event.type == "DELETED":
                    table.pop(uid, None)
                else:
                    table[uid] = obj
            self._judge()

    def judge(self) -> None:
        """Judge again without news (a cause that counts only once it has lasted)."""
        with self.lock:
            self._judge()

    def _judge(self) -> None:
        if self.done.is_set():
            return
        mine = [j for j in self.jobs.values() if j["metadata"]["name"] in self.names]
        finished = {j["metadata"]["name"] for j in mine if job_finished(j) is not None}
        if self.until_running:
            uids = {j["metadata"].get("uid") for j in mine}
            finished |= {
                str((p["metadata"].get("labels") or {}).get("batch.kubernetes.io/job-name"))
                for p in self.pods.values()
                if (p.get("status") or {}).get("phase") == "Running"
                and any(r.get("uid") in uids for r in p["metadata"].get("ownerReferences") or [])
            }
        if finished >= self.names:
            self.verdict = Followed(True)
            self.done.set()
            return
        # Only this attempt's objects: events about older objects of the same names do not count.
        uids = {o["metadata"].get("uid") for o in [*mine, *self.pods.values()]}
        events = [e for e in self.events.values() if (e.get("involvedObject") or {}).get("uid") in uids]
        stuck = diagnose(mine, self.pods.values(), events, autoscaled=self.autoscaled)
        if stuck is not None:
            self.verdict = Followed(False, stuck)
            self.done.set()


def follow_jobs(
    client: KubeAPI,
    namespace: str,
    jobs: Iterable[str],
    timeout: float,
    reporter: FollowReporter,
    container_of: Callable[[Obj], str | None] = lambda pod: None,
    autoscaled: bool = False,
    until_running: bool = False,
) -> Followed:
    """Watch until every named Job has finished, or something keeps them from it, or ``timeout``
    seconds pass (then ``Followed(False)``); meanwhile report pods' phases and the log lines of
    each pod's container ``container_of(pod)`` (None: its only container). ``autoscaled``: the
    cluster autoscaler may add a node for a pod that cannot be placed (:func:`~.stuck.diagnose`).
    ``until_running``: done once every Job's pod runs (a lab graded while they run)."""
    state = _State(set(jobs), autoscaled, until_running)
    if not state.names:
        return Followed(True)
    stop = threading.Event()
    following: set[str] = set()
    seen: dict[str, tuple[str, str]] = {}

    def on_pods(event: WatchEvent) -> None:
        state.update(state.pods, event)
        for pod in event.present:
            labels = pod["metadata"].get("labels") or {}
            if labels.get("batch.kubernetes.io/job-name") not in state.names:
                continue
            name = pod["metadata"]["name"]
            shown = (str((pod.get("status") or {}).get("phase")), _pod_detail(pod))
            if seen.get(name) != shown:
                seen[name] = shown
                reporter.pod(name, *shown)
            statuses = (pod.get("status") or {}).get("containerStatuses") or []
            if any("running" in (s.get("state") or {}) for s in statuses) and name not in following:
                following.add(name)
                container = container_of(pod)
                _thread(functools.partial(_follow_log, client, namespace, name, container, stop, reporter))

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

    _thread(watching("Job", lambda e: state.update(state.jobs, e), essential=True))
    _thread(watching("Pod", on_pods))
    _thread(watching("Event", lambda e: state.update(state.events, e)))
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
) -> None:
    with contextlib.suppress(Exception):
        for line in client.follow_log(namespace, pod, container):
            if stop.is_set():
                break
            reporter.log(pod, line)
