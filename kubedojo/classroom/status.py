"""Who is running what: pods by phase per participant, from one list and then a watch."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from ..client.kube import KubeClient, api_exception

__all__ = ["PHASES", "follow_phases", "pod_phases"]

PHASES = ("Pending", "Running", "Succeeded", "Failed")


def _table(pods: dict[str, tuple[str, str]], participants: dict[str, str]) -> dict[str, Counter[str]]:
    by_ns = {ns: name for name, ns in participants.items()}
    table: dict[str, Counter[str]] = {name: Counter() for name in participants}
    for namespace, phase in pods.values():
        table[by_ns[namespace]][phase] += 1
    return table


def pod_phases(client: KubeClient, participants: dict[str, str]) -> dict[str, Counter[str]]:
    wanted = set(participants.values())
    pods = {
        p["metadata"]["uid"]: (p["metadata"]["namespace"], (p.get("status") or {}).get("phase", "Unknown"))
        for p in client.list_everywhere("Pod")
        if p["metadata"]["namespace"] in wanted
    }
    return _table(pods, participants)


def follow_phases(
    client: KubeClient, participants: dict[str, str], duration: float
) -> Iterator[dict[str, Counter[str]]]:
    """The table now, then again after every change, for ``duration`` seconds (a watch, no polling)."""
    wanted = set(participants.values())
    deadline = time.monotonic() + duration
    while (left := deadline - time.monotonic()) > 0:
        listing = client.core.list_pod_for_all_namespaces()
        pods: dict[str, tuple[str, str]] = {
            p.metadata.uid: (p.metadata.namespace, p.status.phase or "Unknown")
            for p in listing.items
            if p.metadata.namespace in wanted
        }
        yield _table(pods, participants)
        try:
            for event in client.watch(
                client.core.list_pod_for_all_namespaces,
                left,
                resource_version=listing.metadata.resource_version,
            ):
                pod: Any = event["object"]
                if pod.metadata.namespace not in wanted:
                    continue
                if event["type"] == "DELETED":
                    pods.pop(pod.metadata.uid, None)
                else:
                    pods[pod.metadata.uid] = (pod.metadata.namespace, pod.status.phase or "Unknown")
                yield _table(pods, participants)
                if time.monotonic() >= deadline:
                    return
        except api_exception() as exc:
            if getattr(exc, "status", None) != 410:
                raise
