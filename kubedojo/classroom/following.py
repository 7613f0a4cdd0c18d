"""Grading a class as its work finishes: a watch on Jobs (and on Workflows, when a lab submits them)
in every namespace; when a participant's Job or Workflow finishes, the labs it belongs to are graded
for that participant at once and recorded.

This is what keeps a result that its objects do not outlive: a Job with ``ttlSecondsAfterFinished``
is graded the moment it finishes, and later gradings of the same start carry that verdict over
(:mod:`kubedojo.labs.carried`) once the Job is gone.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any

from ..client.kubeapi import KubeAPI, WatchEvent
from ..labs.context import FileReader, GradingContext
from ..labs.definition import LabDefinition
from ..labs.integrity import LabImages
from ..labs.recording import grade_and_record
from ..labs.records import ResultStore
from ..labs.results import LabResult
from ..labs.session import read_start
from ..labs.snapshot import take_snapshot
from ..labs.workloads import WORKLOADS, done, final_state

__all__ = ["follow_grades"]


def _finished_key(job: dict[str, Any]) -> tuple[str, str] | None:
    final = final_state(job)
    return None if final is None else (str(job["metadata"].get("uid")), str(final.get("type")))


def _watch_all(client: KubeAPI, kinds: list[str], duration: float) -> Iterator[WatchEvent]:
    """The events of one watch per kind (every namespace), in the order they come; ends when every
    watch has ended (after ``duration``). A watch that breaks raises here."""
    if len(kinds) == 1:
        yield from client.watch(kinds[0], timeout=duration)
        return
    events: queue.Queue[WatchEvent | BaseException | None] = queue.Queue()

    def run(kind: str) -> None:
        try:
            for event in client.watch(kind, timeout=duration):
                events.put(event)
            events.put(None)
        except BaseException as exc:  # handed to the consumer, which raises it
            events.put(exc)

    for kind in kinds:
        threading.Thread(target=run, args=(kind,), daemon=True).start()
    ended = 0
    while ended < len(kinds):
        item = events.get()
        if item is None:
            ended += 1
        elif isinstance(item, BaseException):
            raise item
        else:
            yield item


SETTLE_TIMEOUT = 60.0
"""How long a finished workload's pods may take to end before it is graded anyway (a PyTorchJob's
worker ends a moment after the master it succeeded with)."""


def _await_settled(client: KubeAPI, workload: dict[str, Any], timeout: float = SETTLE_TIMEOUT) -> None:
    """Return once the workload is :func:`~kubedojo.labs.workloads.done` (its pods ended, for a kind
    that succeeds before them), or after ``timeout``: its checks then say what still runs."""
    pods: dict[str, dict[str, Any]] = {}
    for event in client.watch("Pod", workload["metadata"]["namespace"], timeout=timeout):
        event.apply_to(pods)
        if done(workload, pods.values()):
            return


def follow_grades(
    client: KubeAPI,
    labs: list[LabDefinition],
    participants: dict[str, str],
    store: ResultStore,
    duration: float,
    reader: FileReader | None = None,
    digests: Callable[[LabDefinition], LabImages] | None = None,
) -> Iterator[LabResult]:
    """For ``duration`` seconds, grade and record each lab of a participant (name → namespace) when
    one of its Jobs or Workflows finishes; yields each result. What had finished before is not
    graded again."""
    names = {namespace: name for name, namespace in participants.items()}
    seen: set[tuple[str, str]] = set()
    kinds = sorted({"Job", *(k for lab in labs for k in lab.kinds if k in WORKLOADS)})
    for event in _watch_all(client, kinds, duration):
        jobs = [j for j in event.objects if j["metadata"].get("namespace") in names]
        if event.type == "LISTED":
            seen.update(key for j in jobs if (key := _finished_key(j)) is not None)
            continue
        if event.type == "DELETED":
            continue
        for job in jobs:
            key = _finished_key(job)
            if key is None or key in seen:
                continue
            seen.add(key)
            namespace = job["metadata"]["namespace"]
            if WORKLOADS[job["kind"]].settles_pods:
                _await_settled(client, job)
            for lab in labs:
                if not any(sel.matches(job) for sel in lab.selectors()):
                    continue
                started = read_start(client, namespace, lab.id)
                if started is None:
                    continue
                snapshot = take_snapshot(client, namespace, lab.graded_kinds)
                images = digests(lab) if digests is not None else None
                ctx = GradingContext(lab, snapshot, started, reader=reader, images=images)
                yield grade_and_record(ctx, names[namespace], store)
