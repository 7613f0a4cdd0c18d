"""Who is running what: pods by phase per participant, from one list and then a watch."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from ..client.kubeapi import KubeAPI

__all__ = ["PHASES", "follow_phases", "pod_phases"]

PHASES = ("Pending", "Running", "Succeeded", "Failed")


def _table(pods: dict[str, tuple[str, str]], participants: dict[str, str]) -> dict[str, Counter[str]]:
    by_ns = {ns: name for name, ns in participants.items()}
    table: dict[str, Counter[str]] = {name: Counter() for name in participants}
    for namespace, phase in pods.values():
        table[by_ns[namespace]][phase] += 1
    return table


def _entry(pod: dict[str, Any]) -> tuple[str, tuple[str, str]]:
    meta = pod["metadata"]
    return meta["uid"], (meta["namespace"], (pod.get("status") or {}).get("phase") or "Unknown")


def pod_phases(client: KubeAPI, participants: dict[str, str]) -> dict[str, Counter[str]]:
    wanted = set(participants.values())
    pods = dict(_entry(p) for p in client.pods(None) if p["metadata"]["namespace"] in wanted)
    return _table(pods, participants)


def follow_phases(
    client: KubeAPI, participants: dict[str, str], duration: float
) -> Iterator[dict[str, Counter[str]]]:
    """The table now, then again after every change, for ``duration`` seconds (a watch, no polling)."""
    wanted = set(participants.values())
    pods: dict[str, tuple[str, str]] = {}
    for event in client.watch("Pod", timeout=duration):
        mine = [p for p in event.objects if p["metadata"]["namespace"] in wanted]
        if event.type == "LISTED":
            pods = dict(_entry(p) for p in mine)
        elif not mine:
            continue
        elif event.type == "DELETED":
            pods.pop(mine[0]["metadata"]["uid"], None)
        else:
            pods.update(_entry(p) for p in mine)
        yield _table(pods, participants)
