"""One read of the cluster state a lab is graded from: a list per kind, logs on demand.

Grading reads the cluster once per kind (Jobs, Pods, Events, Nodes and, when the lab uses them,
claims and ConfigMaps) whatever the number of checks, and reads a log only when a check needs it,
once per container. So the number of API requests per grading is fixed by the lab, not by checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..client.kubeapi import KubeAPI
from ..errors import Forbidden

__all__ = ["ClusterSnapshot", "snapshot_kinds", "take_snapshot"]

ALWAYS = ("Job", "Pod", "Event", "Node")
NEVER = frozenset({"Secret"})
"""Kinds a snapshot never reads, even when a lab's submission may contain them (evidence is saved)."""


@dataclass
class ClusterSnapshot:
    namespace: str
    taken_at: datetime
    objects: dict[str, list[dict[str, Any]]]
    client: KubeAPI | None = None
    hidden: frozenset[str] = frozenset()
    """Kinds this identity may not list (a participant cannot list Nodes)."""
    _logs: dict[tuple[str, str | None, bool], str | None] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return self.objects.get(kind, [])

    def log(self, pod: str, container: str | None = None, previous: bool = False) -> str | None:
        key = (pod, container, previous)
        if key not in self._logs:
            self._logs[key] = (
                None if self.client is None else self.client.pod_log(self.namespace, pod, container, previous)
            )
        return self._logs[key]


def snapshot_kinds(kinds: Iterable[str]) -> list[str]:
    """The kinds a grading reads: always Jobs, Pods, Events and Nodes, then ``kinds`` (a lab's, or
    every lab's of a class) in order, never Secrets."""
    return list(dict.fromkeys([*ALWAYS, *(k for k in kinds if k not in NEVER)]))


def take_snapshot(client: KubeAPI, namespace: str, kinds: Iterable[str] = ()) -> ClusterSnapshot:
    wanted = snapshot_kinds(kinds)
    objects: dict[str, list[dict[str, Any]]] = {}
    hidden = set()
    for kind in wanted:
        try:
            objects[kind] = client.list(kind, namespace)
        except Forbidden:
            hidden.add(kind)
    return ClusterSnapshot(namespace, datetime.now(UTC), objects, client, frozenset(hidden))
