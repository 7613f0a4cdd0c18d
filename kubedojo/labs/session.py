"""When a participant started a lab: a ConfigMap per lab in their namespace.

Runtime checks only count objects created after this moment, so work left over from an earlier
attempt (or made before the lab) cannot score.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..client.kubeapi import KubeAPI
from ..errors import Forbidden, NotFound
from ..labels import LAB_LABEL, MANAGED, PARTICIPANT_LABEL, POD_SECURITY
from .objects import parse_time

__all__ = ["MANAGED", "PARTICIPANT_LABEL", "ensure_namespace", "read_start", "record_start", "session_name"]


def session_name(lab_id: str) -> str:
    return f"kubedojo-lab-{lab_id}"


def ensure_namespace(client: KubeAPI, namespace: str, participant: str) -> None:
    """Create the participant's namespace if it is not there (labelled as kubedojo's), and make sure
    it enforces the participants' Pod Security Standard (:data:`~kubedojo.labels.POD_SECURITY`)."""
    try:
        current = client.get("Namespace", namespace)
    except Forbidden:
        return  # a participant may not read namespaces: theirs was made by class.setup
    except NotFound:
        client.ensure_namespace(namespace, {**MANAGED, PARTICIPANT_LABEL: participant, **POD_SECURITY})
        return
    labels = current["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in POD_SECURITY.items()):
        # Server-side apply of the labels alone: the namespace's other labels stay as they are.
        client.apply_one(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": POD_SECURITY}}
        )


def record_start(client: KubeAPI, namespace: str, lab_id: str, when: datetime | None = None) -> datetime:
    started = (when or datetime.now(UTC)).replace(microsecond=0)
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": session_name(lab_id), "labels": {**MANAGED, LAB_LABEL: lab_id}},
        "data": {"lab": lab_id, "startedAt": started.isoformat().replace("+00:00", "Z")},
    }
    client.apply_one(body, namespace)
    return started


def read_start(client: KubeAPI, namespace: str, lab_id: str) -> datetime | None:
    cm = client.find("ConfigMap", session_name(lab_id), namespace)
    if cm is None:
        return None
    return parse_time((cm.get("data") or {}).get("startedAt"))
