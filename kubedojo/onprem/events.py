"""What a playbook run is doing, from ansible-runner's events.

:class:`PlaybookProgress` is fed every event (on ansible-runner's thread) and can be read at any time
(by a display on another thread): tasks started, the current task, per-host counts, and the
failures that matter. kubespray has many tasks that may fail on purpose (``ignore_errors``) and
blocks that rescue failures; neither is reported as a failure. Unreachable hosts are.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = ["HostTally", "PlaybookProgress", "ProgressSnapshot", "TaskFailure", "result_message"]


@dataclass(frozen=True)
class HostTally:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0

    @property
    def healthy(self) -> bool:
        return not self.failed and not self.unreachable


@dataclass(frozen=True)
class TaskFailure:
    host: str
    task: str
    message: str
    unreachable: bool = False

    def describe(self) -> str:
        what = "unreachable" if self.unreachable else "failed"
        return f"{self.host} {what} at '{self.task}': {self.message}"


@dataclass(frozen=True)
class ProgressSnapshot:
    playbook: str
    play: str
    task: str
    tasks_started: int
    hosts: Mapping[str, HostTally]
    failures: tuple[TaskFailure, ...]
    seconds: float
    finished: bool

    @property
    def hosts_failed(self) -> list[str]:
        return sorted(h for h, t in self.hosts.items() if not t.healthy)


_GENERIC = ("non-zero return code", "MODULE FAILURE", "MODULE FAILURE\nSee stdout/stderr for the exact error")


def _last_line(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    lines = [ln.strip() for ln in value.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


def result_message(result: Mapping[str, Any]) -> str:
    """The one line that explains a module's result: its ``msg`` unless that is generic, else the
    last line of what the command said."""
    for item in result.get("results") or []:
        if isinstance(item, Mapping) and item.get("failed"):
            return result_message(item)
    msg = result.get("msg")
    if isinstance(msg, str) and msg.strip() and msg.strip() not in _GENERIC:
        return " ".join(msg.split())[:500]
    said = next(
        (
            line
            for key in ("stderr", "module_stderr", "stdout", "module_stdout")
            if (line := _last_line(result.get(key)))
        ),
        "",
    )
    rc = result.get("rc")
    if said:
        return f"{said} (exit code {rc})" if isinstance(rc, int) and rc else said
    if isinstance(msg, str) and msg.strip():
        return msg.strip()
    return f"exit code {rc}" if rc is not None else "no message"


def _task_name(data: Mapping[str, Any]) -> str:
    task = str(data.get("task") or data.get("name") or "?")
    role = data.get("role")
    return f"{role} : {task}" if role and not task.startswith(f"{role} :") else task


@dataclass
class _State:
    playbook: str = ""
    play: str = ""
    task: str = ""
    tasks_started: int = 0
    hosts: dict[str, HostTally] = field(default_factory=dict)
    failures: list[TaskFailure] = field(default_factory=list)
    recap: dict[str, HostTally] | None = None
    results: dict[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)


class PlaybookProgress:
    """Folds events into a state that a display can read while the run goes on."""

    def __init__(self, playbook: str, keep_results_of: tuple[str, ...] = ()) -> None:
        self._lock = threading.Lock()
        self._state = _State(playbook=playbook)
        self._started = time.monotonic()
        self._finished: float | None = None
        self._keep = keep_results_of

    def feed(self, event: Mapping[str, Any]) -> None:
        name = str(event.get("event", ""))
        data: Mapping[str, Any] = event.get("event_data") or {}
        with self._lock:
            state = self._state
            if name == "playbook_on_play_start":
                state.play = str(data.get("play") or data.get("name") or "")
            elif name == "playbook_on_task_start":
                state.task = _task_name(data)
                state.tasks_started += 1
            elif name in ("runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable"):
                self._host_result(state, name, data, event)
            elif name == "playbook_on_stats":
                state.recap = _recap(data)
                self._finished = time.monotonic()

    def _host_result(
        self, state: _State, name: str, data: Mapping[str, Any], event: Mapping[str, Any]
    ) -> None:
        host = str(data.get("host") or "?")
        tally = state.hosts.get(host, HostTally())
        result: Mapping[str, Any] = data.get("res") or {}
        task = _task_name(data)
        if name == "runner_on_ok":
            tally = replace(tally, ok=tally.ok + 1, changed=tally.changed + bool(result.get("changed")))
        elif name == "runner_on_skipped":
            tally = replace(tally, skipped=tally.skipped + 1)
        elif name == "runner_on_unreachable":
            tally = replace(tally, unreachable=tally.unreachable + 1)
            state.failures.append(TaskFailure(host, task, result_message(result), unreachable=True))
        elif data.get("ignore_errors"):
            tally = replace(tally, ignored=tally.ignored + 1)
        else:
            tally = replace(tally, failed=tally.failed + 1)
            state.failures.append(TaskFailure(host, task, result_message(result)))
        state.hosts[host] = tally
        if str(data.get("task")) in self._keep:
            state.results[(host, str(data.get("task")))] = {
                "event": name,
                "res": result,
                "start": data.get("start"),
                "end": data.get("end"),
                "created": event.get("created"),
            }

    def snapshot(self) -> ProgressSnapshot:
        with self._lock:
            state = self._state
            hosts = dict(state.recap if state.recap is not None else state.hosts)
            failures = tuple(
                f for f in state.failures if f.host not in hosts or not hosts[f.host].healthy or f.unreachable
            )
            end = self._finished if self._finished is not None else time.monotonic()
            return ProgressSnapshot(
                playbook=state.playbook,
                play=state.play,
                task=state.task,
                tasks_started=state.tasks_started,
                hosts=hosts,
                failures=failures,
                seconds=end - self._started,
                finished=state.recap is not None,
            )

    def result(self, host: str, task: str) -> Mapping[str, Any] | None:
        """The kept result of a task on a host (tasks named in ``keep_results_of``)."""
        with self._lock:
            return self._state.results.get((host, task))


def _recap(data: Mapping[str, Any]) -> dict[str, HostTally]:
    """Per-host counts from ``playbook_on_stats``; a failure a block rescued is not a failure."""
    keys = {
        "ok": "ok",
        "changed": "changed",
        "failures": "failed",
        "dark": "unreachable",
        "skipped": "skipped",
        "rescued": "rescued",
        "ignored": "ignored",
    }
    hosts: set[str] = set()
    for key in keys:
        hosts.update((data.get(key) or {}).keys())
    recap: dict[str, HostTally] = {}
    for host in sorted(hosts):
        counts = {field_: int((data.get(key) or {}).get(host, 0)) for key, field_ in keys.items()}
        recap[host] = HostTally(**counts)
    return recap
