"""Only Argo's controller writes a Workflow's status: a ValidatingAdmissionPolicy for participants.

Argo's Workflow resource has no status subresource, so whoever may create or update a Workflow may
also write its ``status``: a participant could submit a Workflow already marked Succeeded, with
nodes, parameters and an exit handler that never ran, and the controller leaves a finished
Workflow alone. The grader believes a node only with the pod that made it
(:func:`kubedojo.labs.integrity.workflow_problem`); this policy makes the API server refuse the
forgery itself: a participant's request (their ServiceAccount, ``participant``, in their own
namespace) may not create a Workflow with a status, nor change the status of one. Everyone else
(Argo's controller, the argo server, administrators) is left out by a match condition.
"""

from __future__ import annotations

from typing import Any

from ..labels import MANAGED

__all__ = ["MESSAGE", "POLICY_NAME", "workflow_status_policy"]

POLICY_NAME = "kubedojo-workflow-status"
"""The name of the policy and of its binding."""

MESSAGE = (
    "a Workflow's status is written by Argo's controller: remove 'status' from the manifest "
    "(and do not edit it)"
)

_UNCHANGED = (
    "request.operation == 'CREATE' ? !has(object.status) : "
    "(has(object.status) == has(oldObject.status)"
    " && (!has(object.status) || object.status == oldObject.status))"
)


def workflow_status_policy(participant: str) -> list[dict[str, Any]]:
    """The ValidatingAdmissionPolicy and its binding (both named :data:`POLICY_NAME`), to apply;
    ``participant``: the name of participants' ServiceAccount in their namespaces. The rule names
    the resource, not its CRD: it holds from the moment Argo is installed."""
    requester = (
        f"request.userInfo.username == 'system:serviceaccount:' + request.namespace + ':{participant}'"
    )
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": POLICY_NAME, "labels": dict(MANAGED)},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "matchPolicy": "Equivalent",
                "resourceRules": [
                    {
                        "apiGroups": ["argoproj.io"],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["workflows"],
                    }
                ],
            },
            "matchConditions": [{"name": "requester-is-a-participant", "expression": requester}],
            "validations": [{"expression": _UNCHANGED, "message": MESSAGE, "reason": "Forbidden"}],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY_NAME, "labels": dict(MANAGED)},
        "spec": {"policyName": POLICY_NAME, "validationActions": ["Deny"]},
    }
    return [policy, binding]
