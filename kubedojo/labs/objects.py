"""Reading Kubernetes objects as plain dicts: times, conditions, owners, pod templates."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = [
    "condition",
    "container_states",
    "created_at",
    "job_finished",
    "parse_time",
    "pod_spec",
]


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def created_at(obj: dict[str, Any]) -> datetime | None:
    return parse_time((obj.get("metadata") or {}).get("creationTimestamp"))


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The condition of type ``kind`` with status True, matched by predicate, never by position."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind and cond.get("status") == "True":
            return dict(cond)
    return None


def job_finished(job: dict[str, Any]) -> dict[str, Any] | None:
    """The Job's final condition (Complete or Failed), or None while it runs."""
    return condition(job, "Complete") or condition(job, "Failed")


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Pod or of a workload's template."""
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Pod":
        return dict(spec)
    return dict(((spec.get("template") or {}).get("spec")) or {})


def container_states(pod: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(container name, terminated state) for every termination the pod's status records,
    the current state's and the previous instance's (``lastState``)."""
    out = []
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        for key in ("state", "lastState"):
            terminated = (status.get(key) or {}).get("terminated")
            if terminated:
                out.append((str(status.get("name")), dict(terminated)))
    return out
