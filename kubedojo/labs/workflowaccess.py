"""What a namespace needs before Argo can run a Workflow's pods in it: the ServiceAccount the
Workflows run as (``argo-workflow``, set for every Workflow by the add-on's ``workflowDefaults``,
charts/values/argo-workflows.yaml) and a Role that lets Argo's executor in those pods report each
step's outputs (``workflowtaskresults``: create and patch, nothing else). Pure data: ``lab.run``
applies it in its namespace when it may, ``class.setup`` in every participant's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["WORKFLOW_ROLE", "WORKFLOW_SERVICE_ACCOUNT", "workflow_access_objects"]

WORKFLOW_SERVICE_ACCOUNT = "argo-workflow"
"""The ServiceAccount of Workflows' pods: the argo-workflows values' ``workflow.serviceAccount.name``
and ``controller.workflowDefaults.spec.serviceAccountName``."""
WORKFLOW_ROLE = "kubedojo-argo-workflow"


def workflow_access_objects(namespace: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
    """The ServiceAccount, Role and RoleBinding, to apply in ``namespace``."""

    def meta(name: str) -> dict[str, Any]:
        return {"name": name, "namespace": namespace, "labels": dict(labels)}

    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(WORKFLOW_SERVICE_ACCOUNT)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(WORKFLOW_ROLE),
            "rules": [
                {
                    "apiGroups": ["argoproj.io"],
                    "resources": ["workflowtaskresults"],
                    "verbs": ["create", "patch"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(WORKFLOW_ROLE),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": WORKFLOW_ROLE},
            "subjects": [
                {"kind": "ServiceAccount", "name": WORKFLOW_SERVICE_ACCOUNT, "namespace": namespace}
            ],
        },
    ]
