"""What kubedojo creates for each participant: a namespace with an identity (enforcing Pod Security
``baseline``), a Role that is enough for every lab and no more, a ResourceQuota and a LimitRange.
Pure data; applying is the service's job."""

from __future__ import annotations

from typing import Any

from ..config import ClassSettings
from ..labels import CLASS_LABEL, MANAGED, PARTICIPANT_LABEL, POD_SECURITY
from .roster import Participant

__all__ = [
    "CLASS_LABEL",
    "MANAGED",
    "NODE_READER",
    "PARTICIPANT_LABEL",
    "ROLE_NAME",
    "SERVICE_ACCOUNT",
    "cluster_objects",
    "node_binding_name",
    "participant_objects",
    "role_rules",
]

SERVICE_ACCOUNT = "participant"
ROLE_NAME = "kubedojo-participant"
NODE_READER = "kubedojo-participant-nodes"
"""The ClusterRole that lets participants read Nodes (labs check the node stayed healthy; hints say
'kubectl describe node'); bound to each participant by a ClusterRoleBinding of their own."""

_ALL = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
_READ = ["get", "list", "watch"]


def role_rules() -> list[dict[str, Any]]:
    """Jobs and their pods (with logs), ConfigMaps and claims: what the labs use. No Secrets, no
    RBAC, nothing cluster-wide (a Role cannot grant that anyway)."""
    return [
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": _ALL},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "create", "delete"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["configmaps", "persistentvolumeclaims"], "verbs": _ALL},
        {"apiGroups": [""], "resources": ["events", "resourcequotas", "limitranges"], "verbs": _READ},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": _READ},
    ]


def cluster_objects() -> list[dict[str, Any]]:
    """What every class shares: read access to Nodes (nothing else cluster-wide)."""
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": NODE_READER, "labels": MANAGED},
            "rules": [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}],
        }
    ]


def node_binding_name(namespace: str) -> str:
    return f"{NODE_READER}-{namespace}"


def participant_objects(
    person: Participant, namespace: str, settings: ClassSettings, class_name: str
) -> list[dict[str, Any]]:
    labels = {**MANAGED, CLASS_LABEL: class_name, PARTICIPANT_LABEL: person.name}
    annotations = {
        k: v for k, v in (("kubedojo.dev/email", person.email), ("kubedojo.dev/group", person.group)) if v
    }
    quota, limits = settings.quota, settings.limits
    hard: dict[str, str] = {
        "requests.cpu": quota.cpu,
        "requests.memory": quota.memory,
        "limits.memory": quota.memory,
        "pods": str(quota.pods),
        "count/jobs.batch": str(quota.jobs),
        "persistentvolumeclaims": str(quota.claims),
        "requests.storage": quota.storage,
        "configmaps": str(quota.configmaps),
        "requests.nvidia.com/gpu": str(quota.gpus),
    }

    def meta(name: str) -> dict[str, Any]:
        return {"name": name, "namespace": namespace, "labels": labels}

    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {**labels, **POD_SECURITY}, "annotations": annotations},
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(SERVICE_ACCOUNT)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(ROLE_NAME),
            "rules": role_rules(),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(ROLE_NAME),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ROLE_NAME},
            "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": namespace}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": node_binding_name(namespace), "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NODE_READER},
            "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": namespace}],
        },
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": meta("kubedojo-quota"),
            "spec": {"hard": hard},
        },
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": meta("kubedojo-limits"),
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "default": {"cpu": limits.default_cpu, "memory": limits.default_memory},
                        "defaultRequest": {
                            "cpu": limits.default_request_cpu,
                            "memory": limits.default_request_memory,
                        },
                        "max": {"cpu": limits.max_cpu, "memory": limits.max_memory},
                    }
                ]
            },
        },
    ]
