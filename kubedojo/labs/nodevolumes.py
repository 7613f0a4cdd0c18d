"""Directories on the node for a participant, without giving them hostPath.

A lab that teaches "a file written to the node outlives the pod" (``more-3-host-dir``) would need a
``hostPath`` volume, which Pod Security ``baseline`` refuses in participant namespaces (a hostPath of
``/`` would give a participant the node, and with it the cluster's keys). So the instructor's side —
``class.setup``, or ``lab.run`` as the administrator — provides for each participant and such lab a
PersistentVolume that is a node directory of their own (``<path>/<namespace>``), bound in advance to
a claim in their namespace; the participant mounts the claim. They never hold the privilege: a pod
that mounts a claim is not a hostPath pod.
"""

from __future__ import annotations

import contextlib
from typing import Any

from ..client.kubeapi import KubeAPI
from ..errors import ApiError
from ..labels import MANAGED, NODE_VOLUME_LABEL
from .definition import LabDefinition, NodeVolume

__all__ = ["NODE_DIR_CLASS", "node_volume_objects", "provide_node_volumes", "remove_node_volumes"]

_BIND_TIMEOUT = 60.0

NODE_DIR_CLASS = "kubedojo-node-dir"
"""The storage class name of node directory volumes (no provisioner: each is made by kubedojo)."""


def _volume_name(lab: LabDefinition, volume: NodeVolume, namespace: str) -> str:
    return f"kubedojo-{lab.id}-{volume.claim}-{namespace}"[:253]


def node_volume_objects(lab: LabDefinition, namespace: str) -> list[dict[str, Any]]:
    """For each of the lab's node volumes: the PersistentVolume (a node directory of this namespace's
    own) and the claim bound to it."""
    objects: list[dict[str, Any]] = []
    labels = {**MANAGED, NODE_VOLUME_LABEL: namespace}
    for volume in lab.node_volumes:
        name = _volume_name(lab, volume, namespace)
        access = {"accessModes": ["ReadWriteOnce"], "storageClassName": NODE_DIR_CLASS}
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": name, "labels": labels},
                "spec": {
                    **access,
                    "capacity": {"storage": volume.size},
                    "persistentVolumeReclaimPolicy": "Retain",
                    "hostPath": {
                        "path": f"{volume.path.rstrip('/')}/{namespace}",
                        "type": "DirectoryOrCreate",
                    },
                    "claimRef": {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "namespace": namespace,
                        "name": volume.claim,
                    },
                },
            }
        )
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": volume.claim, "namespace": namespace, "labels": labels},
                "spec": {**access, "resources": {"requests": {"storage": volume.size}}, "volumeName": name},
            }
        )
    return objects


def provide_node_volumes(client: KubeAPI, lab: LabDefinition, namespace: str) -> list[str]:
    """Make the lab's node volumes for ``namespace`` (idempotent); the names of what was (re)made.

    A volume whose claim was deleted is Released and cannot bind again: it is made anew (the files
    in its directory stay). Raises :class:`~kubedojo.errors.Forbidden` for an identity that may not
    create PersistentVolumes (a participant: ``class.setup`` provided theirs)."""
    made = []
    for obj in node_volume_objects(lab, namespace):
        name = obj["metadata"]["name"]
        if obj["kind"] == "PersistentVolume":
            current = client.find("PersistentVolume", name)
            if current is not None and _phase(current) not in ("Released", "Failed"):
                continue
            if current is not None:
                client.delete("PersistentVolume", name)
                client.wait_deleted("PersistentVolume", name, None, 60)
            client.create(obj)
            made.append(f"PersistentVolume {name}")
        else:
            claim = client.find("PersistentVolumeClaim", name, namespace)
            if claim is None:
                client.create(obj, namespace)
                made.append(f"PersistentVolumeClaim {namespace}/{name}")
            if _phase(claim) != "Bound":
                # Bound before anyone mounts it: a pod with an unbound claim is unschedulable, which
                # a run would take for a stuck submission.
                client.wait_for(
                    f"claim {namespace}/{name} to be bound to its node directory",
                    "PersistentVolumeClaim",
                    lambda c: _phase(c) == "Bound",
                    _BIND_TIMEOUT,
                    namespace,
                    name=name,
                )
    return made


def _phase(obj: dict[str, Any] | None) -> str:
    return str(((obj or {}).get("status") or {}).get("phase") or "")


def remove_node_volumes(client: KubeAPI, namespace: str) -> None:
    """Delete the node volumes made for ``namespace`` (not their directories' files)."""
    for pv in client.list("PersistentVolume", label_selector=f"{NODE_VOLUME_LABEL}={namespace}"):
        with contextlib.suppress(ApiError):  # gone already
            client.delete("PersistentVolume", pv["metadata"]["name"])
