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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from ..client.kubeapi import KubeAPI
from ..labels import LAB_LABEL
from ..labs.definition import LabDefinition
from ..labs.grading import FileReader, GradingContext
from ..labs.integrity import LabImages
from ..labs.recording import grade_and_record
from ..labs.records import ResultStore
from ..labs.results import CheckResult, LabResult
from ..labs.session import start_of
from ..labs.snapshot import ON_DEMAND, ClusterSnapshot, SharedList, snapshot_kinds

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
) -> ClassGrades:
    """Grade every participant (name → namespace) for every lab; write a record for each.

    ``digests`` gives each lab's image digests (read once per lab): with them only runs of the labs'
    own code earn credit; None only in tests of check logic."""
    began, requests = time.monotonic(), client.requests
    images = {lab.id: digests(lab) for lab in labs} if digests is not None else {}
    kinds = snapshot_kinds(k for lab in labs for k in lab.kinds)
    wanted = set(participants.values())
    per_ns: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    on_demand = {kind: SharedList(client, kind, wanted) for kind in kinds if kind in ON_DEMAND}
    # One list per kind, read side by side (the API server encodes one while the next is asked
    # for); the start records are ConfigMaps, so they come with that list when the labs read it.
    reads: dict[str, Callable[[], list[dict[str, Any]]]] = {
        kind: (client.nodes if kind == "Node" else partial(client.list, kind))
        for kind in kinds
        if kind not in on_demand
    }
    if "ConfigMap" not in reads:
        reads["start records"] = partial(client.list, "ConfigMap", label_selector=LAB_LABEL)
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

    def one(job: tuple[str, str, LabDefinition]) -> LabResult:
        participant, namespace, lab = job
        started = starts.get((namespace, lab.id))
        if started is None:
            result = _not_started(lab, participant, namespace, taken)
            result.attempt = store.next_attempt(participant, lab.id)
            store.write(result)
        else:
            objects = {
                kind: per_ns[namespace][kind] for kind in kinds if kind != "Node" and kind not in on_demand
            }
            parts = {kind: shared.part(namespace) for kind, shared in on_demand.items()}
            snapshot = ClusterSnapshot(namespace, taken, {**objects, "Node": nodes}, client, on_demand=parts)
            ctx = GradingContext(lab, snapshot, started, reader=reader, images=images.get(lab.id))
            result = grade_and_record(ctx, participant, store)
        return result

    jobs = [(p, ns, lab) for p, ns in sorted(participants.items()) for lab in labs]
    results: list[LabResult] = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for result in pool.map(one, jobs):
            results.append(result)
            if progress is not None:
                progress(len(results), len(jobs))
    return ClassGrades(results, client.requests - requests, time.monotonic() - began)


def by_participant(results: Iterable[LabResult]) -> dict[str, dict[str, LabResult]]:
    table: dict[str, dict[str, LabResult]] = defaultdict(dict)
    for result in results:
        table[result.participant][result.lab] = result
    return dict(table)
