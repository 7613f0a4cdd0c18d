"""Only the cluster's administrators may set ``kubedojo.dev/sim-outcome``: the API server refuses it
from a participant (the ValidatingAdmissionPolicy ``kubedojo-sim-outcome`` that ``cluster.up``
installs), and the Job controller still makes the pods of an administrator's annotated Job."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from kubedojo.client.kube import KubeClient
from kubedojo.errors import ApiError, Forbidden
from kubedojo.local.provider import LocalCluster
from kubedojo.local.readiness import install_sim_outcome_policy
from kubedojo.local.simnodes import SIM_IMAGE_ID, SIM_MESSAGE, SIM_OUTCOME, SIM_POOL_LABEL
from kubedojo.local.simpolicy import MESSAGE, POLICY_NAME

from .helpers import BASE_IMAGE_NAME, is_true

pytestmark = pytest.mark.cluster

ENFORCED_WITHIN = 10.0
"""How long the API server may take to refuse after a policy or a RoleBinding was stored: its
admission plugin and its authorizer read them from informers, a moment behind the store."""

Obj = dict[str, Any]


def _client(cluster: LocalCluster, admin: KubeClient, namespace: str, account: str, role: Obj) -> KubeClient:
    """A client with the token of a new ServiceAccount ``account`` bound to ``role`` (a roleRef)."""
    admin.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account}}, namespace)
    admin.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": account},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", **role},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
        },
        namespace,
    )
    token = admin.request_token(namespace, account, 600)
    return KubeClient.from_token(cluster.layout.api_url, cluster.state.pki / "ca.crt", token)


@pytest.fixture
def editor(cluster: LocalCluster, admin: KubeClient, namespace: str) -> Iterator[KubeClient]:
    """An untrusted identity that may make CronJobs and Deployments (the participant Role grants
    neither, so RBAC would refuse them before admission): the built-in ``edit`` ClusterRole."""
    client = _client(cluster, admin, namespace, "editor", {"kind": "ClusterRole", "name": "edit"})
    yield client
    client.close()


def pod_spec(image: str) -> Obj:
    """Bound to a simulated GPU node, where nothing runs."""
    return {
        "restartPolicy": "Never",
        "nodeSelector": {SIM_POOL_LABEL: "gpu"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "containers": [{"name": "main", "image": image, "command": ["true"]}],
    }


def annotated() -> Obj:
    return {"annotations": {SIM_OUTCOME: "Succeeded"}}


def pod(name: str, image: str, meta: Obj | None = None) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, **(meta or {})},
        "spec": pod_spec(image),
    }


def job(name: str, image: str, template_meta: Obj | None = None) -> Obj:
    template: Obj = {"spec": pod_spec(image)}
    if template_meta is not None:
        template["metadata"] = template_meta
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "template": template},
    }


def cron_job(name: str, image: str, template_meta: Obj | None = None) -> Obj:
    body = job(name, image, template_meta)
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {"schedule": "0 0 1 1 *", "suspend": True, "jobTemplate": {"spec": body["spec"]}},
    }


def deployment(name: str, image: str, template_meta: Obj | None = None) -> Obj:
    template: Obj = {"metadata": {**(template_meta or {}), "labels": {"app": name}}, "spec": pod_spec(image)}
    template["spec"]["restartPolicy"] = "Always"
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": name}}, "template": template},
    }


def _policy_refusal(error: ApiError) -> bool:
    return isinstance(error, Forbidden) and SIM_OUTCOME in error.server_message


def wait_enforced(client: KubeClient, obj: Obj, namespace: str, apply: bool) -> None:
    """Until the API server refuses ``obj`` from ``client`` for the annotation (asked with dry-run
    requests, which store nothing): accepted, or refused by RBAC before the binding reached the
    authorizer, is retried for :data:`ENFORCED_WITHIN` seconds."""
    deadline = time.monotonic() + ENFORCED_WITHIN
    last = "accepted"
    while time.monotonic() < deadline:
        try:
            if apply:
                client.apply_one(obj, namespace, dry_run=True)
            else:
                client.create(obj, namespace, dry_run=True)
            last = "accepted"
        except ApiError as error:
            if _policy_refusal(error):
                return
            last = f"refused otherwise: {error}"
        time.sleep(0.2)
    pytest.fail(f"{obj['kind']} with {SIM_OUTCOME} not refused after {ENFORCED_WITHIN:g} s: {last}")


def refused(client: KubeClient, admin: KubeClient, obj: Obj, namespace: str, *, apply: bool = False) -> str:
    """The policy's refusal of ``obj`` (created, or with ``apply`` server-side applied) by
    ``client``: 403 Forbidden, in one line that names the annotation; nothing new is stored."""
    wait_enforced(client, obj, namespace, apply)
    before = admin.find(obj["kind"], obj["metadata"]["name"], namespace, api_version=obj["apiVersion"])
    with pytest.raises(Forbidden) as info:
        if apply:
            client.apply_one(obj, namespace)
        else:
            client.create(obj, namespace)
    assert info.value.status == 403
    message = info.value.server_message
    assert SIM_OUTCOME in message
    assert "administrators" in message
    assert POLICY_NAME in message
    after = admin.find(obj["kind"], obj["metadata"]["name"], namespace, api_version=obj["apiVersion"])
    if before is None:
        assert after is None
    else:  # its controller may have written its status meanwhile, but not a new spec
        assert after is not None and after["metadata"]["generation"] == before["metadata"]["generation"]
    return message


def test_up_installed_the_policy(cluster: LocalCluster, admin: KubeClient) -> None:
    policy = admin.get("ValidatingAdmissionPolicy", POLICY_NAME)
    binding = admin.get("ValidatingAdmissionPolicyBinding", POLICY_NAME)
    assert binding["spec"]["policyName"] == POLICY_NAME
    assert binding["spec"]["validationActions"] == ["Deny"]
    status = policy.get("status") or {}
    assert status.get("observedGeneration") == policy["metadata"]["generation"]
    assert not (status.get("typeChecking") or {}).get("expressionWarnings")
    # As the next up applies it again: unchanged (the store may rewrite it, without a new generation).
    assert install_sim_outcome_policy(admin, cluster.settings) == [("sim-outcome policy", "unchanged")]
    again = admin.get("ValidatingAdmissionPolicy", POLICY_NAME)
    assert again["metadata"]["generation"] == policy["metadata"]["generation"]
    assert install_sim_outcome_policy(admin, cluster.settings) == [("sim-outcome policy", "unchanged")]


def test_participant_may_not_set_the_outcome(
    cluster: LocalCluster, admin: KubeClient, participant: KubeClient, editor: KubeClient, namespace: str
) -> None:
    image = cluster.image_ref(BASE_IMAGE_NAME)

    # The participant Role: Pods and Jobs, refused with the annotation, accepted without.
    message = refused(participant, admin, pod("fake-pod", image, annotated()), namespace)
    assert message.endswith(f"denied request: {MESSAGE}")  # the whole of it, in the first line
    refused(participant, admin, job("fake-job", image, annotated()), namespace)
    # The other simulated-work annotations alone (a digest or a report to claim) are refused too.
    refused(
        participant,
        admin,
        pod("fake-digest", image, {"annotations": {SIM_IMAGE_ID: "x@sha256:0"}}),
        namespace,
    )
    refused(participant, admin, job("fake-report", image, {"annotations": {SIM_MESSAGE: "{}"}}), namespace)
    participant.create(pod("plain-pod", image), namespace, dry_run=True)  # no annotations at all
    participant.create(pod("other-pod", image, {"annotations": {"note": "x"}}), namespace, dry_run=True)
    created = participant.create(job("fake-job", image), namespace)
    assert created["metadata"]["name"] == "fake-job"
    assert admin.get("Job", "fake-job", namespace)["metadata"]["uid"] == created["metadata"]["uid"]

    # Kinds the participant Role does not grant, from an identity that may make them.
    refused(editor, admin, cron_job("fake-cron", image, annotated()), namespace)
    editor.create(cron_job("plain-cron", image), namespace, dry_run=True)
    refused(editor, admin, deployment("fake-deploy", image, annotated()), namespace)
    editor.create(deployment("plain-deploy", image), namespace)
    # An update that adds it is refused too (server-side apply of the stored Deployment).
    refused(editor, admin, deployment("plain-deploy", image, annotated()), namespace, apply=True)
    template = admin.get("Deployment", "plain-deploy", namespace)["spec"]["template"]
    assert SIM_OUTCOME not in (template["metadata"].get("annotations") or {})


def test_administrators_annotated_job_gets_its_pods(
    cluster: LocalCluster, admin: KubeClient, namespace: str
) -> None:
    """As the benchmarks do it: the admin may, and the Job controller (a kube-system
    ServiceAccount) makes the annotated pods, which kwok then completes."""
    digest = "127.0.0.1:5000/kubedojo/base@sha256:" + "ab" * 32
    report = '{"log": "Test accuracy: 0.97\\n", "files": []}'
    notes = {"annotations": {SIM_OUTCOME: "Succeeded", SIM_IMAGE_ID: digest, SIM_MESSAGE: report}}
    body = job("bench-job", cluster.image_ref(BASE_IMAGE_NAME), notes)
    uid = admin.create(body, namespace)["metadata"]["uid"]

    def owned(p: Obj) -> bool:
        return any(ref.get("uid") == uid for ref in p["metadata"].get("ownerReferences") or [])

    made = admin.wait_for("a pod owned by Job bench-job", "Pod", owned, 60.0, namespace)
    assert made["metadata"]["annotations"][SIM_OUTCOME] == "Succeeded"
    done = admin.wait_for(
        "Job bench-job to complete (on a simulated node)",
        "Job",
        lambda j: is_true(j, "Complete"),
        60.0,
        namespace,
        name="bench-job",
    )
    assert done["status"].get("succeeded") == 1
    # Its container ends the way the annotations say, as a kubelet would report a real run.
    (ended,) = [p for p in admin.list("Pod", namespace) if owned(p)]
    (status,) = ended["status"]["containerStatuses"]
    assert status["imageID"] == digest
    assert status["state"]["terminated"]["message"] == report


def test_administrators_oom_killed_job_fails_as_a_memory_kill_does(
    cluster: LocalCluster, admin: KubeClient, namespace: str
) -> None:
    """The ``OOMKilled`` outcome (lab 03's hungry run, in benchmarks): the pod fails with its
    container terminated OOMKilled, exit code 137, and the Job controller fails a Job that allows
    no retry with BackoffLimitExceeded, as after a real memory kill."""
    digest = "127.0.0.1:5000/kubedojo/base@sha256:" + "cd" * 32
    notes = {"annotations": {SIM_OUTCOME: "OOMKilled", SIM_IMAGE_ID: digest}}
    body = job("hungry", cluster.image_ref(BASE_IMAGE_NAME), notes)  # backoffLimit 0
    uid = admin.create(body, namespace)["metadata"]["uid"]
    failed = admin.wait_for(
        "Job hungry to fail (on a simulated node)",
        "Job",
        lambda j: is_true(j, "Failed"),
        60.0,
        namespace,
        name="hungry",
    )
    (reason,) = [c["reason"] for c in failed["status"]["conditions"] if c["type"] == "Failed"]
    assert reason == "BackoffLimitExceeded"
    (ended,) = [
        p
        for p in admin.list("Pod", namespace)
        if any(ref.get("uid") == uid for ref in p["metadata"].get("ownerReferences") or [])
    ]
    assert ended["status"]["phase"] == "Failed"
    (status,) = ended["status"]["containerStatuses"]
    assert status["imageID"] == digest
    assert status["state"]["terminated"]["reason"] == "OOMKilled"
    assert status["state"]["terminated"]["exitCode"] == 137
