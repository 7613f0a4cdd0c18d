"""kubedojo's webhook receiver in the cluster (``images/hooks/receiver.py``): the chat channel the
pipeline lab notifies, and the receiver of MinIO's audit log. It writes what it receives as Events
in the sender's namespace (``WebhookReceived``, ``ObjectRead``, ``ObjectWritten``), where grading
reads them; see the program's docstring.

Here: its objects (namespace ``kubedojo-hooks``, labelled a shared service so that participants' pods
may reach it; a ServiceAccount that may list pods, read namespaces and create Events, nothing else;
a Deployment and its Service ``hooks``), and :func:`ensure_hooks`, which applies them and waits until
it answers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..client.kubeapi import KubeAPI
from ..labels import MANAGED, SHARED_SERVICES
from ..local.images import ContextImage

__all__ = ["HOOKS_IMAGE", "HOOKS_NAMESPACE", "ensure_hooks", "hooks_image", "hooks_objects"]

HOOKS_NAMESPACE = "kubedojo-hooks"
HOOKS_IMAGE = ("kubedojo-hooks", "v1", "images/hooks")
"""The receiver's image: name, tag, build context (relative to the project)."""
_NAME = "kubedojo-hooks"


def hooks_image(project: Path) -> ContextImage:
    """The receiver's image, built from ``project``'s ``images/hooks`` on the lab base image."""
    name, tag, context = HOOKS_IMAGE
    return ContextImage(name, tag, "kubedojo's webhook receiver", context=project / context)


def hooks_objects(image: str, revision: str = "") -> list[dict[str, Any]]:
    """The receiver's objects; ``revision`` (its image's content hash) in the pod template, so that a
    rebuilt image, pushed under the same tag, is rolled out."""
    meta = {"name": _NAME, "namespace": HOOKS_NAMESPACE, "labels": dict(MANAGED)}
    selector = {"app.kubernetes.io/name": _NAME}
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": HOOKS_NAMESPACE, "labels": {**MANAGED, **SHARED_SERVICES}},
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": _NAME, "labels": dict(MANAGED)},
            "rules": [
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
                {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": _NAME, "labels": dict(MANAGED)},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": _NAME},
            "subjects": [{"kind": "ServiceAccount", "name": _NAME, "namespace": HOOKS_NAMESPACE}],
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {"labels": selector, "annotations": {"kubedojo.dev/revision": revision}},
                    "spec": {
                        "serviceAccountName": _NAME,
                        "containers": [
                            {
                                "name": "receiver",
                                "image": image,
                                "imagePullPolicy": "Always",  # a rebuilt receiver keeps its tag
                                "ports": [{"containerPort": 8080, "name": "http"}],
                                "readinessProbe": {
                                    "httpGet": {"path": "/healthz", "port": 8080},
                                    "periodSeconds": 2,
                                },
                                "resources": {
                                    "requests": {"cpu": "20m", "memory": "32Mi"},
                                    "limits": {"memory": "128Mi"},
                                },
                                "securityContext": {
                                    "runAsNonRoot": True,
                                    "runAsUser": 65534,
                                    "allowPrivilegeEscalation": False,
                                },
                            }
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {**meta, "name": "hooks"},
            "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": 8080, "name": "http"}]},
        },
    ]


def _rolled_out(deployment: dict[str, Any]) -> bool:
    """Its latest pod template runs and is ready, and no older pod is left."""
    status = deployment.get("status") or {}
    return bool(
        status.get("observedGeneration", 0) >= deployment["metadata"].get("generation", 0)
        and status.get("updatedReplicas", 0) >= 1
        and status.get("readyReplicas", 0) >= 1
        and status.get("replicas", 0) == status.get("updatedReplicas", 0)
    )


def ensure_hooks(client: KubeAPI, image: str, revision: str = "", timeout: float = 120.0) -> bool:
    """Apply the receiver's objects and wait (at most ``timeout``) until it is ready; whether
    anything changed."""
    changed = client.apply(hooks_objects(image, revision))
    client.wait_for(
        "the webhook receiver (kubedojo-hooks) to be ready",
        "Deployment",
        _rolled_out,
        timeout,
        HOOKS_NAMESPACE,
        name=_NAME,
    )
    return bool(changed)
