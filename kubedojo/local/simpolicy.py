"""Only the cluster's administrators may set the simulated outcome: a ValidatingAdmissionPolicy.

kwok completes a pod on a simulated node when the pod carries ``kubedojo.dev/sim-outcome:
Succeeded`` (:data:`~kubedojo.local.simnodes.SIM_OUTCOME`): a finished Job with no work done, whose
containers report the image digest and termination message of two more annotations. Benchmarks set
them as the admin; a workshop participant must never be able to, and the API server enforces that
(not a convention, not the grader): the policy refuses a CREATE or an UPDATE that carries any
annotation ``kubedojo.dev/sim-*`` on a pod or on the pod template of anything that makes pods,
unless the requester is trusted:

* the group ``system:masters`` (the admin's certificate, kwok's);
* the user ``system:kube-controller-manager``;
* a ServiceAccount of ``kube-system``: the controller manager runs its controllers each as one
  (``--use-service-account-credentials``), so the Job and ReplicaSet controllers create the pods
  of a template an administrator annotated.

Everything else (participants' ServiceAccounts, any other user) is refused with HTTP 403, reason
Forbidden, and a one-line message that names the annotation.
"""

from __future__ import annotations

from typing import Any

from ..labels import MANAGED
from .simnodes import SIM_ANNOTATION_PREFIX, SIM_IMAGE_ID, SIM_MESSAGE, SIM_OUTCOME

__all__ = [
    "ANNOTATED_PATHS",
    "MATCHED_RESOURCES",
    "MESSAGE",
    "POLICY_NAME",
    "SIM_ANNOTATION_PREFIX",
    "SIM_OUTCOME",
    "TRUSTED_GROUP",
    "TRUSTED_SERVICE_ACCOUNT_PREFIX",
    "TRUSTED_USERS",
    "sim_outcome_policy",
]

POLICY_NAME = "kubedojo-sim-outcome"
"""The name of the policy and of its binding."""

MATCHED_RESOURCES: dict[str, tuple[str, ...]] = {
    "": ("pods", "replicationcontrollers"),
    "batch": ("jobs", "cronjobs"),
    "apps": ("deployments", "replicasets", "statefulsets", "daemonsets"),
}
"""API group to resources: pods, and everything whose pod template becomes pods."""

ANNOTATED_PATHS: dict[str, tuple[str, ...]] = {
    "onObject": ("metadata",),
    "onPodTemplate": ("spec", "template", "metadata"),
    "onJobTemplate": ("spec", "jobTemplate", "spec", "template", "metadata"),
}
"""Where the annotation is looked for (the metadata whose ``annotations`` hold it), one policy
variable each: a pod's own; the pod template of a Job, Deployment, ReplicaSet, StatefulSet,
DaemonSet or ReplicationController; the pod template in a CronJob's Job template."""

TRUSTED_GROUP = "system:masters"
TRUSTED_USERS = ("system:kube-controller-manager",)
TRUSTED_SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:kube-system:"

MESSAGE = (
    f"only the cluster's administrators may set annotations {SIM_ANNOTATION_PREFIX}* ({SIM_OUTCOME}, "
    f"{SIM_IMAGE_ID}, {SIM_MESSAGE}: they mark simulated work done without running it): remove them "
    "from the pod's and the pod template's annotations"
)
"""The refusal, one line (the API server puts the policy's and binding's names before it)."""


def _carries(path: tuple[str, ...]) -> str:
    """CEL: the object's ``<path>.annotations`` holds a key with the prefix. Each step is tested
    with ``has()`` before it is read, so an object without annotations (or without that path: a Pod has no
    ``spec.template``) passes instead of failing evaluation, which ``failurePolicy: Fail`` would
    turn into a refusal of everyone."""
    steps = ["object", *path, "annotations"]
    prefixes = [".".join(steps[: i + 1]) for i in range(1, len(steps))]
    found = f"{prefixes[-1]}.exists(k, k.startsWith('{SIM_ANNOTATION_PREFIX}'))"
    return " && ".join([*(f"has({p})" for p in prefixes), found])


def _trusted() -> str:
    """CEL: the requester may set the annotation."""
    user = "request.userInfo"
    return " || ".join(
        [
            f"(has({user}.groups) && '{TRUSTED_GROUP}' in {user}.groups)",
            *(f"{user}.username == '{name}'" for name in TRUSTED_USERS),
            f"{user}.username.startsWith('{TRUSTED_SERVICE_ACCOUNT_PREFIX}')",
        ]
    )


def sim_outcome_policy() -> list[dict[str, Any]]:
    """The ValidatingAdmissionPolicy and its binding (both named :data:`POLICY_NAME`), to apply.

    Trusted requesters are left out by a match condition, so the policy does not even evaluate
    the controllers' pod creations. ``apiVersions`` is a wildcard: every version these resources
    are served in, now or later, matches. The controller manager's type checker skips wildcard
    rules, so ``status.typeChecking`` stays empty; what the expressions do is shown by the cluster
    test (tests/cluster/test_sim_outcome_policy.py), as a participant and as the admin.
    """
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
                        "apiGroups": [group],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": list(resources),
                    }
                    for group, resources in MATCHED_RESOURCES.items()
                ],
            },
            "matchConditions": [{"name": "requester-not-trusted", "expression": f"!({_trusted()})"}],
            "variables": [
                {"name": name, "expression": _carries(path)} for name, path in ANNOTATED_PATHS.items()
            ],
            "validations": [
                {
                    "expression": " && ".join(f"!variables.{name}" for name in ANNOTATED_PATHS),
                    "message": MESSAGE,
                    "reason": "Forbidden",
                }
            ],
        },
    }
    binding = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY_NAME, "labels": dict(MANAGED)},
        "spec": {"policyName": POLICY_NAME, "validationActions": ["Deny"]},
    }
    return [policy, binding]
