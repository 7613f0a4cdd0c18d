"""One read of the cluster state a lab is graded from: a list per kind, logs on demand.

Grading reads the cluster once per kind (Jobs, Pods, Nodes and, when the lab uses them, claims and
ConfigMaps) whatever the number of checks; Events only when something asks for them (the evidence
of a failure, the unschedulable check: most gradings do not); a log only when a check needs it and
the run did not report its output, once per container, and never for a pod on a simulated node
(nothing there writes a log). So the number of API requests per grading is fixed by the lab, not by
checks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..client.kubeapi import KubeAPI
from ..clusterstatus import node_simulated
from ..errors import ApiError, Forbidden

__all__ = [
    "ON_DEMAND",
    "OPTIONAL",
    "ClusterSnapshot",
    "SharedList",
    "WouldWait",
    "snapshot_kinds",
    "take_snapshot",
]

ALWAYS = ("Job", "Pod", "Event", "Node", "PodMetrics")
ON_DEMAND = frozenset({"Event", "PodMetrics"})
"""Kinds listed only when a check or the evidence first asks for them."""
OPTIONAL = frozenset({"PodMetrics"})
"""Kinds a cluster may not serve (metrics-server's, without it): a refused list reads as empty."""
NEVER = frozenset({"Secret"})
"""Kinds a snapshot never reads, even when a lab's submission may contain them (evidence is saved)."""


class WouldWait(Exception):
    """Raised in a grading that may not wait (``ClusterSnapshot.waits`` False) when a check asks for
    what only a request per pod or volume gives: a log, or the files on a volume. The class grading
    grades everyone in one thread without waiting first, then again, concurrently, those that
    asked."""


@dataclass
class ClusterSnapshot:
    namespace: str
    taken_at: datetime
    objects: dict[str, list[dict[str, Any]]]
    client: KubeAPI | None = None
    hidden: frozenset[str] = frozenset()
    """Kinds this identity may not list (a participant cannot list Nodes)."""
    on_demand: dict[str, Callable[[], list[dict[str, Any]]]] = field(default_factory=dict)
    """Kinds read when first asked for (:data:`ON_DEMAND`), by these functions."""
    waits: bool = True
    """False: a log or a volume's files are not read but :class:`WouldWait` raised."""
    _logs: dict[tuple[str, str | None, bool], str | None] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        if kind not in self.objects and kind in self.on_demand:
            self.objects[kind] = self.on_demand[kind]()
        return self.objects.get(kind, [])

    def log(self, pod: str, container: str | None = None, previous: bool = False) -> str | None:
        key = (pod, container, previous)
        if key not in self._logs:
            if not self.waits:
                raise WouldWait(f"the log of {pod}")
            self._logs[key] = (
                None if self.client is None else self.client.pod_log(self.namespace, pod, container, previous)
            )
        return self._logs[key]

    def simulated_nodes(self) -> frozenset[str]:
        """The nodes kwok simulates (:func:`~kubedojo.clusterstatus.node_simulated`): no kubelet,
        no logs there."""
        return frozenset(n["metadata"]["name"] for n in self.of_kind("Node") if node_simulated(n))


class SharedList:
    """One list of a kind across every namespace, made the first time any namespace asks for its
    part (thread-safe), for the grading of a whole class."""

    def __init__(self, client: KubeAPI, kind: str, namespaces: Iterable[str]) -> None:
        self.client, self.kind = client, kind
        self.namespaces = set(namespaces)
        self._lock = threading.Lock()
        self._parts: dict[str, list[dict[str, Any]]] | None = None

    def part(self, namespace: str) -> Callable[[], list[dict[str, Any]]]:
        return lambda: self._read().get(namespace, [])

    def _read(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            if self._parts is None:
                parts: dict[str, list[dict[str, Any]]] = {}
                try:
                    listed = self.client.list(self.kind)
                except ApiError:
                    if self.kind not in OPTIONAL:
                        raise
                    listed = []
                for obj in listed:
                    namespace = (obj.get("metadata") or {}).get("namespace")
                    if namespace in self.namespaces:
                        parts.setdefault(namespace, []).append(obj)
                self._parts = parts
            return self._parts


def snapshot_kinds(kinds: Iterable[str]) -> list[str]:
    """The kinds a grading reads: always Jobs, Pods, Events, Nodes and pod metrics (Events and pod
    metrics only when asked for), then ``kinds`` (a lab's, or every lab's of a class) in order,
    never Secrets."""
    return list(dict.fromkeys([*ALWAYS, *(k for k in kinds if k not in NEVER)]))


def take_snapshot(client: KubeAPI, namespace: str, kinds: Iterable[str] = ()) -> ClusterSnapshot:
    wanted = snapshot_kinds(kinds)
    objects: dict[str, list[dict[str, Any]]] = {}
    hidden = set()
    for kind in wanted:
        if kind in ON_DEMAND:
            continue
        try:
            objects[kind] = client.list(kind, namespace)
        except Forbidden:
            hidden.add(kind)

    def reader(kind: str) -> Callable[[], list[dict[str, Any]]]:
        def read() -> list[dict[str, Any]]:
            try:
                return client.list(kind, namespace)
            except Forbidden:
                return []
            except ApiError:
                if kind in OPTIONAL:
                    return []
                raise

        return read

    on_demand = {kind: reader(kind) for kind in wanted if kind in ON_DEMAND}
    return ClusterSnapshot(namespace, datetime.now(UTC), objects, client, frozenset(hidden), on_demand)
