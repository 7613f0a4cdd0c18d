"""Grading a whole class: one list per kind across all namespaces, then every participant and lab
graded concurrently from that one snapshot (Events, logs and reader pods on demand, in parallel).

The number of list requests depends on the kinds the labs use, not on the number of participants or
checks. The lab scripts report their output in the termination message, read with the pod list, so
logs are read only for runs that could not report (killed for memory, output too long): no request
per pod for a class whose runs ended normally.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from ..client.kubeapi import KubeAPI
from ..gcpause import collector_paused
from ..labels import LAB_LABEL
from ..labs.definition import LabDefinition
from ..labs.grading import FileReader, GradingContext
from ..labs.integrity import LabImages
from ..labs.recording import grade_for_record, record
from ..labs.records import ResultStore
from ..labs.results import CheckResult, LabResult
from ..labs.session import start_of
from ..labs.snapshot import ON_DEMAND, ClusterSnapshot, SharedList, WouldWait, snapshot_kinds

__all__ = ["ClassGrades", "grade_class"]


@dataclass
class ClassGrades:
    results: list[LabResult]
    requests: int
    seconds: float


def _not_started(lab: LabDefinition, participant: str, namespace: str, now: datetime) -> LabResult:
    checks = [
        CheckResult(c.id, c.title, "runtime", "pending", c.points, 0, c.title, "the lab was not started", "")
        for c in lab.checks
    ]
    return LabResult(lab.id, lab.title, participant, namespace, "", now.isoformat(timespec="seconds"), checks)


def grade_class(
    client: KubeAPI,
    labs: list[LabDefinition],
    participants: dict[str, str],
    store: ResultStore,
    reader: FileReader | None = None,
    workers: int = 16,
    progress: Callable[[int, int], None] | None = None,
    digests: Callable[[LabDefinition], LabImages] | None = None,
    writers: int = 4,
) -> ClassGrades:
    """Grade every participant (name → namespace) for every lab; write a record for each.

    ``digests`` gives each lab's image digests (read once per lab): with them only runs of the labs'
    own code earn credit; None only in tests of check logic.

    Everyone is graded first in this thread, without waiting for anything (the checks are Python:
    threads would only contend for the interpreter); those whose checks need a log or a volume's
    files (:class:`~kubedojo.labs.snapshot.WouldWait`) are graded again afterwards by ``workers``
    threads, which wait for those reads side by side. ``writers`` threads keep the results
    (evidence, records) meanwhile: creating a thousand files is mostly waiting on the file system,
    which threads overlap."""
    with collector_paused():  # millions of small objects from the lists (see :mod:`kubedojo.gcpause`)
        return _grade_class(client, labs, participants, store, reader, workers, progress, digests, writers)


def _grade_class(
    client: KubeAPI,
    labs: list[LabDefinition],
    participants: dict[str, str],
    store: ResultStore,
    reader: FileReader | None,
    workers: int,
    progress: Callable[[int, int], None] | None,
    digests: Callable[[LabDefinition], LabImages] | None,
    writers: int,
) -> ClassGrades:
    began, requests = time.monotonic(), client.requests
    images = {lab.id: digests(lab) for lab in labs} if digests is not None else {}
    kinds = snapshot_kinds(k for lab in labs for k in lab.graded_kinds)
    wanted = set(participants.values())
    per_ns: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    on_demand = {kind: SharedList(client, kind, wanted) for kind in kinds if kind in ON_DEMAND}
    # One list per kind, read side by side (the API server encodes one while the next is asked
    # for), from its watch cache: a class's thousands of objects are not read from etcd again, at
    # the cost of a snapshot that may be a moment behind it (a run that ended in that moment is
    # still running in this grading; the next one sees it). The start records are ConfigMaps, so
    # they come with that list when the labs read it.
    reads: dict[str, Callable[[], list[dict[str, Any]]]] = {
        kind: partial(client.list, kind, from_cache=True) for kind in kinds if kind not in on_demand
    }
    if "ConfigMap" not in reads:
        reads["start records"] = partial(client.list, "ConfigMap", label_selector=LAB_LABEL, from_cache=True)
    with ThreadPoolExecutor(max_workers=len(reads)) as pool:
        listed = dict(zip(reads, pool.map(lambda read: read(), reads.values()), strict=True))
    nodes = listed.pop("Node", [])
    records = listed.pop("start records", None)
    for kind, objects in listed.items():
        for obj in objects:
            ns = (obj.get("metadata") or {}).get("namespace")
            if ns in wanted:
                per_ns[ns][kind].append(obj)
    starts: dict[tuple[str, str], datetime] = {}
    for cm in listed.get("ConfigMap", []) if records is None else records:
        meta = cm.get("metadata") or {}
        lab_id = (meta.get("labels") or {}).get(LAB_LABEL)
        when = start_of(cm)
        if lab_id and meta.get("namespace") in wanted and when is not None:
            starts[(meta["namespace"], lab_id)] = when
    taken = datetime.now(UTC)

    own_kinds = [kind for kind in kinds if kind != "Node" and kind not in on_demand]

    def one(job: tuple[str, str, LabDefinition], waits: bool) -> Future[LabResult]:
        """Grade one participant's lab (:class:`WouldWait` if it must wait and may not); keeping
        the result is handed to the writers."""
        participant, namespace, lab = job
        started = starts.get((namespace, lab.id))
        if started is None:
            return writing.submit(_written, store, _not_started(lab, participant, namespace, taken))
        objects = {kind: per_ns[namespace][kind] for kind in own_kinds}
        parts = {kind: shared.part(namespace) for kind, shared in on_demand.items()}
        snapshot = ClusterSnapshot(
            namespace, taken, {**objects, "Node": nodes}, client, on_demand=parts, waits=waits
        )
        ctx = GradingContext(lab, snapshot, started, reader=reader, images=images.get(lab.id))
        return writing.submit(_recorded, ctx, grade_for_record(ctx, participant, store), store)

    jobs = [(p, ns, lab) for p, ns in sorted(participants.items()) for lab in labs]
    results: list[LabResult] = []
    with ThreadPoolExecutor(max_workers=max(1, writers)) as writing:
        kept: list[Future[LabResult] | None] = []
        for job in jobs:
            try:
                kept.append(one(job, waits=False))
            except WouldWait:
                kept.append(None)
        later = [i for i, future in enumerate(kept) if future is None]
        if later:
            with ThreadPoolExecutor(max_workers=max(1, min(workers, len(later)))) as grading:
                graded = grading.map(lambda i: one(jobs[i], waits=True), later)
                for i, regraded in zip(later, graded, strict=True):
                    kept[i] = regraded
        for pending in kept:
            assert pending is not None
            results.append(pending.result())
            if progress is not None:
                progress(len(results), len(jobs))
    return ClassGrades(results, client.requests - requests, time.monotonic() - began)


def by_participant(results: Iterable[LabResult]) -> dict[str, dict[str, LabResult]]:
    table: dict[str, dict[str, LabResult]] = defaultdict(dict)
    for result in results:
        table[result.participant][result.lab] = result
    return dict(table)


def _written(store: ResultStore, result: LabResult) -> LabResult:
    store.write(result)  # numbered as the next attempt
    return result


def _recorded(ctx: GradingContext, result: LabResult, store: ResultStore) -> LabResult:
    ctx.snapshot.waits = True  # a writer thread: the evidence may read the logs of a failure
    return record(ctx, result, store)
