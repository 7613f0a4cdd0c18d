"""The shape of the policy that keeps the simulated outcome for administrators (no cluster, no CEL
evaluator: what the API server does with it is tests/cluster/test_sim_outcome_policy.py)."""

from __future__ import annotations

import re

from kubedojo.labels import MANAGED
from kubedojo.local.simnodes import SIM_ANNOTATION_PREFIX, SIM_IMAGE_ID, SIM_MESSAGE, SIM_OUTCOME
from kubedojo.local.simpolicy import POLICY_NAME, sim_outcome_policy

EXPECTED_RESOURCES = {
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
}


def test_a_policy_and_its_binding_labelled_as_kubedojos() -> None:
    policy, binding = sim_outcome_policy()
    assert (policy["apiVersion"], policy["kind"]) == (
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicy",
    )
    assert (binding["apiVersion"], binding["kind"]) == (
        "admissionregistration.k8s.io/v1",
        "ValidatingAdmissionPolicyBinding",
    )
    for obj in (policy, binding):
        assert obj["metadata"]["name"] == POLICY_NAME
        assert MANAGED.items() <= obj["metadata"]["labels"].items()
    assert binding["spec"] == {"policyName": POLICY_NAME, "validationActions": ["Deny"]}
    assert "matchResources" not in binding["spec"]  # every namespace
    assert policy["spec"]["failurePolicy"] == "Fail"


def test_every_kind_that_makes_pods_is_matched_on_create_and_update() -> None:
    rules = sim_outcome_policy()[0]["spec"]["matchConstraints"]["resourceRules"]
    matched = {
        (group, resource) for rule in rules for group in rule["apiGroups"] for resource in rule["resources"]
    }
    assert matched == EXPECTED_RESOURCES
    for rule in rules:
        assert rule["operations"] == ["CREATE", "UPDATE"]
        assert rule["apiVersions"] == ["*"]


def test_the_annotation_is_looked_for_in_all_three_places() -> None:
    spec = sim_outcome_policy()[0]["spec"]
    variables = {v["name"]: v["expression"] for v in spec["variables"]}
    places = {
        "object.metadata.annotations",
        "object.spec.template.metadata.annotations",
        "object.spec.jobTemplate.spec.template.metadata.annotations",
    }
    pattern = rf"(\S+)\.exists\(k, k\.startsWith\('{re.escape(SIM_ANNOTATION_PREFIX)}'\)\)"
    found = {m for expr in variables.values() for m in re.findall(pattern, expr)}
    assert found == places
    assert all(key.startswith(SIM_ANNOTATION_PREFIX) for key in (SIM_OUTCOME, SIM_IMAGE_ID, SIM_MESSAGE))
    (validation,) = spec["validations"]
    assert validation["expression"] == " && ".join(f"!variables.{name}" for name in variables)


def test_every_step_is_tested_before_it_is_read() -> None:
    """An object without annotations (or without a pod template) must pass, not fail evaluation:
    with failurePolicy Fail an evaluation error would refuse it."""
    for variable in sim_outcome_policy()[0]["spec"]["variables"]:
        terms = variable["expression"].split(" && ")
        *guards, lookup = terms
        path = lookup.split(".exists(")[0]
        steps = path.split(".")
        assert guards == [f"has({'.'.join(steps[: i + 1])})" for i in range(1, len(steps))]


def test_administrators_and_the_controllers_are_trusted() -> None:
    (condition,) = sim_outcome_policy()[0]["spec"]["matchConditions"]
    expression = condition["expression"]
    assert expression.startswith("!(")
    assert "has(request.userInfo.groups) && 'system:masters' in request.userInfo.groups" in expression
    assert "request.userInfo.username == 'system:kube-controller-manager'" in expression
    assert "request.userInfo.username.startsWith('system:serviceaccount:kube-system:')" in expression


def test_the_refusal_is_one_line_that_names_the_annotation() -> None:
    (validation,) = sim_outcome_policy()[0]["spec"]["validations"]
    message = validation["message"]
    assert SIM_OUTCOME in message
    assert "administrators" in message
    assert "\n" not in message
    assert validation["reason"] == "Forbidden"
