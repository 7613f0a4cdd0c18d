"""MinIO and Argo Workflows for real: the upstream charts (``../shared/charts``, see its PROVENANCE.md)
with the project's releases.yaml entries and values, running kubedojo's builds (MinIO and mc from the
module proxy, unmodified; Argo v4.0.10 from its source archive) from the local registry.

* MinIO: the generated root and argo credentials work, the well-known defaults do not; the chart's
  own set-up Jobs (mc) made the artifact bucket; a bucket and an object survive the pod's restart.
* Argo: a Workflow of two steps passing a parameter and an output artifact runs to Succeeded, and the
  artifact is in MinIO's bucket, written with the generated keys; the server answers the API without
  a token (``authModes: [server]``, what docs/addons.md says of the local cluster), and so does the
  ``argo`` CLI built here.
* Uninstalling leaves no pod, PVC or webhook of theirs behind.

The test talks S3 with boto3 (Apache-2.0): MinIO (AGPL-3.0) runs only as its own program."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import urllib.request
import uuid
from typing import Any

import pytest

from kubedojo.addons import Addons
from kubedojo.client.kube import KubeClient
from kubedojo.local.binaries import ARGO
from kubedojo.local.images import BASE, WORKFLOW_CONTROLLER_IMAGE
from kubedojo.local.provider import LocalCluster

boto3 = pytest.importorskip("boto3")
botocore_exceptions = pytest.importorskip("botocore.exceptions")

pytestmark = pytest.mark.cluster

ARGO_SERVER = "http://10.244.0.1:32746"
"""The server's NodePort, on the node's address (kube-proxy's nodePortAddresses)."""


def _s3(admin: KubeClient, access: str, secret: str) -> Any:
    """An S3 client of the running MinIO pod (the machine has no route to Service addresses: it has
    no default route, and a Service's address is translated only after routing)."""
    pods = [
        p
        for p in admin.pods("minio", label_selector="app=minio")
        if not p["metadata"].get("deletionTimestamp") and p["status"].get("podIP")
    ]
    assert len(pods) == 1, [p["metadata"]["name"] for p in pods]
    return boto3.client(
        "s3",
        endpoint_url=f"http://{pods[0]['status']['podIP']}:9000",
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        region_name="us-east-1",
        config=boto3.session.Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 2}),
    )


def _secret(admin: KubeClient, namespace: str, name: str) -> dict[str, str]:
    found = admin.read_secret(namespace, name)
    assert found is not None, f"Secret {namespace}/{name} was not generated"
    return found


def _refused(client: Any) -> str:
    try:
        client.list_buckets()
    except botocore_exceptions.ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return ""


def test_minio_takes_the_generated_credentials_only_and_keeps_data_across_a_restart(
    argo_addons: Addons, admin: KubeClient
) -> None:
    root = _secret(admin, "minio", "minio-root")
    argo = _secret(admin, "minio", "minio-argo")
    assert not root["rootPassword"].startswith("-")
    admin_s3 = _s3(admin, root["rootUser"], root["rootPassword"])
    assert "argo-artifacts" in {b["Name"] for b in admin_s3.list_buckets()["Buckets"]}  # the chart's mc Job
    for user, password in (("minioadmin", "minioadmin"), (root["rootUser"], "wrong-password-123")):
        assert _refused(_s3(admin, user, password)) in ("InvalidAccessKeyId", "SignatureDoesNotMatch")
    argo_s3 = _s3(admin, argo["accessKey"], argo["secretKey"])
    argo_s3.put_object(Bucket="argo-artifacts", Key="kd-probe.txt", Body=b"written by argo's key")

    bucket = f"kd-{uuid.uuid4().hex[:8]}"
    admin_s3.create_bucket(Bucket=bucket)
    admin_s3.put_object(Bucket=bucket, Key="model.txt", Body=b"weights")
    (pod,) = admin.pods("minio", label_selector="app=minio")
    admin.delete("Pod", pod["metadata"]["name"], "minio")
    # MinIO itself gets the SIGTERM and stops cleanly (exit 0), not killed after the grace period (137).
    assert _exit_codes_until_gone(admin, "minio", pod["metadata"]["name"]) == {0}
    admin.wait_for(
        "a new MinIO pod to be ready",
        "Pod",
        lambda p: (
            p["metadata"]["uid"] != pod["metadata"]["uid"]
            and not p["metadata"].get("deletionTimestamp")
            and any(
                c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or []
            )
        ),
        180,
        "minio",
        label_selector="app=minio",
    )
    body = _s3(admin, root["rootUser"], root["rootPassword"]).get_object(Bucket=bucket, Key="model.txt")[
        "Body"
    ]
    assert body.read() == b"weights"
    admin_s3 = _s3(admin, root["rootUser"], root["rootPassword"])
    admin_s3.delete_object(Bucket=bucket, Key="model.txt")
    admin_s3.delete_bucket(Bucket=bucket)
    admin_s3.delete_object(Bucket="argo-artifacts", Key="kd-probe.txt")


def _exit_codes_until_gone(admin: KubeClient, namespace: str, name: str) -> set[int]:
    """The exit codes the kubelet reported for the pod's containers while it was being deleted."""
    codes: set[int] = set()
    for event in admin.watch("Pod", namespace, timeout=90, field_selector=f"metadata.name={name}"):
        for obj in event.objects:
            for status in (obj.get("status") or {}).get("containerStatuses") or []:
                terminated = (status.get("state") or {}).get("terminated")
                if terminated:
                    codes.add(int(terminated["exitCode"]))
        if event.type == "DELETED" or (event.type == "LISTED" and not event.objects):
            return codes
    raise AssertionError(f"pod {namespace}/{name} was not gone within 90 s")


def _workflow(image: str) -> dict[str, Any]:
    shell = ["sh", "-c"]
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": "kd-steps-", "namespace": "argo"},
        "spec": {
            "entrypoint": "main",
            "arguments": {"parameters": [{"name": "message", "value": "hello kubedojo"}]},
            "templates": [
                {
                    "name": "main",
                    "steps": [
                        [
                            {
                                "name": "produce",
                                "template": "produce",
                                "arguments": {
                                    "parameters": [
                                        {"name": "message", "value": "{{workflow.parameters.message}}"}
                                    ]
                                },
                            }
                        ],
                        [
                            {
                                "name": "consume",
                                "template": "consume",
                                "arguments": {
                                    "parameters": [
                                        {
                                            "name": "upper",
                                            "value": "{{steps.produce.outputs.parameters.upper}}",
                                        }
                                    ],
                                    "artifacts": [
                                        {"name": "data", "from": "{{steps.produce.outputs.artifacts.data}}"}
                                    ],
                                },
                            }
                        ],
                    ],
                },
                {
                    "name": "produce",
                    "inputs": {"parameters": [{"name": "message"}]},
                    "container": {
                        "image": image,
                        "command": [
                            *shell,
                            'echo "{{inputs.parameters.message}}" | tr a-z A-Z | tee /tmp/upper > /tmp/data.txt',
                        ],
                    },
                    "outputs": {
                        "parameters": [{"name": "upper", "valueFrom": {"path": "/tmp/upper"}}],
                        "artifacts": [{"name": "data", "path": "/tmp/data.txt"}],
                    },
                },
                {
                    "name": "consume",
                    "inputs": {
                        "parameters": [{"name": "upper"}],
                        "artifacts": [{"name": "data", "path": "/in/data.txt"}],
                    },
                    "container": {
                        "image": image,
                        # The parameter (passed by the controller) must equal the artifact (from MinIO).
                        "command": [*shell, 'test "$(cat /in/data.txt)" = "{{inputs.parameters.upper}}"'],
                    },
                },
            ],
        },
    }


def test_a_workflow_passes_a_parameter_and_an_artifact_through_minio(
    cluster: LocalCluster, argo_addons: Addons, admin: KubeClient
) -> None:
    (controller,) = admin.get("Deployment", "argo-workflows-workflow-controller", "argo")["spec"]["template"][
        "spec"
    ]["containers"]
    assert controller["image"] == WORKFLOW_CONTROLLER_IMAGE.ref(cluster.registry)
    created = admin.create(_workflow(BASE.ref(cluster.registry)), "argo")
    name = created["metadata"]["name"]
    try:
        done = admin.wait_for(
            f"Workflow argo/{name} to finish",
            "Workflow",
            lambda w: (w.get("status") or {}).get("phase") in ("Succeeded", "Failed", "Error"),
            240,
            "argo",
            name=name,
            api_version="argoproj.io/v1alpha1",
        )
        nodes = done["status"].get("nodes") or {}
        summary = {n.get("displayName"): (n.get("phase"), n.get("message")) for n in nodes.values()}
        assert done["status"]["phase"] == "Succeeded", summary
        produce = next(n for n in nodes.values() if n.get("displayName") == "produce")
        (parameter,) = produce["outputs"]["parameters"]
        assert parameter["value"] == "HELLO KUBEDOJO"
        (artifact,) = produce["outputs"]["artifacts"]
        key = artifact["s3"]["key"]
        argo = _secret(admin, "minio", "minio-argo")
        stored = _s3(admin, argo["accessKey"], argo["secretKey"]).get_object(Bucket="argo-artifacts", Key=key)
        assert stored["ContentLength"] > 0, key  # a .tgz of data.txt, written with the generated keys

        # The server: API without a token (authModes: [server]); the CLI built here likewise.
        with urllib.request.urlopen(f"{ARGO_SERVER}/api/v1/workflows/argo", timeout=10) as answer:
            listed = json.load(answer)
        assert name in {w["metadata"]["name"] for w in listed.get("items") or []}
        cli = cluster.artifacts.binaries.path(ARGO, "argo")
        env = {**os.environ, "ARGO_SERVER": ARGO_SERVER.removeprefix("http://"), "ARGO_HTTP1": "true"}
        env.update(ARGO_SECURE="false", ARGO_TOKEN="", ARGO_NAMESPACE="argo")
        out = subprocess.run(
            [str(cli), "get", name, "-o", "json"], env=env, capture_output=True, text=True, timeout=60
        )
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["status"]["phase"] == "Succeeded"
    finally:
        with contextlib.suppress(Exception):
            admin.delete("Workflow", name, "argo", api_version="argoproj.io/v1alpha1")


def test_uninstall_leaves_no_pod_claim_or_webhook(argo_addons: Addons, admin: KubeClient) -> None:
    argo_addons.uninstall(["argo-workflows", "minio"])
    deadline = time.monotonic() + 120
    for namespace in ("argo", "minio"):
        for pod in admin.pods(namespace):
            admin.wait_deleted(
                "Pod", pod["metadata"]["name"], namespace, max(1.0, deadline - time.monotonic())
            )
        assert admin.list("PersistentVolumeClaim", namespace) == []
    hooks = [
        h["metadata"]["name"]
        for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration")
        for h in admin.list(kind)
        if "argo" in h["metadata"]["name"] or "minio" in h["metadata"]["name"]
    ]
    assert hooks == []
