"""When a participant started a lab: a ConfigMap per lab in their namespace, whose creation time (set
by the API server) is the start.

Runtime checks only count objects created after this moment, so work left over from an earlier
attempt (or made before the lab) cannot score.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..client.kubeapi import KubeAPI
from ..errors import Forbidden, NotFound
from ..labels import KATIB_INJECTION, LAB_LABEL, MANAGED, PARTICIPANT_LABEL, POD_SECURITY
from .objects import parse_time

__all__ = [
    "MANAGED",
    "PARTICIPANT_LABEL",
    "ensure_namespace",
    "read_start",
    "record_start",
    "session_name",
    "start_of",
]


def session_name(lab_id: str) -> str:
    return f"kubedojo-lab-{lab_id}"


def ensure_namespace(client: KubeAPI, namespace: str, participant: str) -> None:
    """Create the participant's namespace if it is not there (labelled as kubedojo's), and make sure
    it enforces the participants' Pod Security Standard (:data:`~kubedojo.labels.POD_SECURITY`) and
    that Katib's trials there get their metrics collector (:data:`~kubedojo.labels.KATIB_INJECTION`),
    as class.setup labels a participant's.

    It gives the namespace no NetworkPolicies: those are class.setup's
    (:func:`~kubedojo.classroom.objects.network_policies`). Only an administrator can create a
    namespace, so one made here is a lab run outside a class, by someone with the whole cluster
    anyway; a participant's namespace comes from class.setup, with its policies, which nothing
    here touches."""
    try:
        current = client.get("Namespace", namespace)
    except Forbidden:
        return  # a participant may not read namespaces: theirs was made by class.setup
    except NotFound:
        client.ensure_namespace(
            namespace, {**MANAGED, PARTICIPANT_LABEL: participant, **POD_SECURITY, **KATIB_INJECTION}
        )
        return
    labels = current["metadata"].get("labels") or {}
    wanted = {**POD_SECURITY, **KATIB_INJECTION}
    if any(labels.get(k) != v for k, v in wanted.items()):
        # Server-side apply of the labels alone: the namespace's other labels stay as they are.
        client.apply_one(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": wanted}}
        )


def record_start(client: KubeAPI, namespace: str, lab_id: str) -> datetime:
    """Start the lab now: the start record is made anew, and the start is its ``creationTimestamp``,
    which the API server sets and nobody can change (:func:`start_of`)."""
    name = session_name(lab_id)
    if client.delete("ConfigMap", name, namespace):
        client.wait_deleted("ConfigMap", name, namespace, 30)
    now = datetime.now(UTC).replace(microsecond=0)
    body: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {**MANAGED, LAB_LABEL: lab_id}},
        # For people reading it; grading goes by the record's creationTimestamp.
        "data": {"lab": lab_id, "startedAt": now.isoformat().replace("+00:00", "Z")},
    }
    created = client.create(body, namespace)
    return start_of(created) or now


def start_of(record: dict[str, Any]) -> datetime | None:
    """When a lab started, from its start record: the record's ``creationTimestamp``, set by the API
    server. A participant may write the record's data (it is a ConfigMap in their namespace) but not
    its creation time: rewriting ``startedAt`` changes nothing, and deleting and making the record
    again can only move the start later, so work from before the start never counts."""
    return parse_time((record.get("metadata") or {}).get("creationTimestamp"))


def read_start(client: KubeAPI, namespace: str, lab_id: str) -> datetime | None:
    cm = client.find("ConfigMap", session_name(lab_id), namespace)
    return None if cm is None else start_of(cm)
