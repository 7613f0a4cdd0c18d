"""The pipeline labs on the real local cluster, with the real Argo Workflows controller and MinIO (the
upstream charts, kubedojo's builds): 07-hello-workflow, 08-dag, 09-ml-pipeline and more-4-s3, each
reference solution to full marks by ``lab.run``, ``lab.check`` and the class grading alike; a wrong
variant of each to the failed checks with their hints; a participant with the class's Role runs a
lab, and may not write a Workflow's status (the admission policy); ``lab.reset`` leaves no Workflow
or pod behind; each participant's object-store keys reach their own prefix only, and nobody's pod
can forge the object store's record."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from kubedojo.addons import Addons
from kubedojo.addons.s3accounts import SECRET
from kubedojo.classroom.objects import SERVICE_ACCOUNT
from kubedojo.classroom.workflowpolicy import MESSAGE, workflow_status_policy
from kubedojo.client.kube import KubeClient
from kubedojo.errors import Forbidden
from kubedojo.labs import LabRunner, ResultStore
from kubedojo.labs.images import lab_images
from kubedojo.labs.services import ClusterServices
from kubedojo.labs.workflowaccess import workflow_access_objects
from kubedojo.local.provider import LocalCluster

from .conftest import _DOOMED, registry_digests
from .labtools import CATALOG, assert_full_marks, assert_partial, every_route, run, side_by_side, variant
from .realcharts import REPO

pytestmark = pytest.mark.cluster

WORKFLOW = "argoproj.io/v1alpha1"


def doc_named(docs: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(d for d in docs if d["metadata"]["name"] == name)


def _template(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in doc["spec"]["templates"] if t["name"] == name)


def test_07_solution_by_every_route_and_a_blind_exit_handler_with_steps_in_a_row(
    argo_addons: Addons, lab_runner: LabRunner, namespace: str, other_namespace: str, tmp_path: Path
) -> None:
    """Side by side: the solution, and one whose handlers say good-bye without the workflow's
    status and whose hello2b waits for hello2a."""
    lab = CATALOG.get("07-hello-workflow")

    def edit(docs: list[dict[str, Any]]) -> None:
        for doc in docs[2:]:
            _template(doc, "good-bye")["container"]["args"] = ["Good bye!"]
        steps = _template(doc_named(docs, "steps-07"), "main")["steps"]
        steps.append([steps[1].pop()])

    wrong = variant(lab, tmp_path, edit)
    good, bad = side_by_side(
        lambda: every_route(lab_runner, lab.id, lab.solution_path, namespace, tmp_path / "results"),
        lambda: run(lab_runner, lab.id, wrong, other_namespace, participant="tester-b"),
    )
    assert_full_marks(good)
    failed = {"exit-handler-success", "exit-handler-failure", "steps-parallel", "steps-shape"}
    assert_partial(bad, failed, "{{workflow.status}}")
    found = {c.id: c.found for c in bad.checks}
    assert "did not print or receive 'Failed'" in found["exit-handler-failure"]
    assert "one after the other" in found["steps-parallel"]


def test_a_workflow_that_cannot_start_is_reported_at_once(
    argo_addons: Addons, lab_runner: LabRunner, namespace: str, tmp_path: Path
) -> None:
    """An invalid template: the controller's own message; an image that cannot be pulled: the run
    stops on it, naming the Workflow and the field; both within seconds, not the lab's time limit."""
    lab = CATALOG.get("07-hello-workflow")

    def edit(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        hello, steps = doc_named(docs, "hello-07"), doc_named(docs, "steps-07")
        hello["spec"]["entrypoint"] = "sya"
        _template(steps, "say")["container"]["image"] = "127.0.0.1:5000/kubedojo/no-such-image:v1"
        return [hello, steps]

    began = time.monotonic()
    result = run(lab_runner, lab.id, variant(lab, tmp_path, edit), namespace)
    took = time.monotonic() - began
    found = {c.id: (c.status, c.found, c.hint) for c in result.checks}
    assert (
        found["hello-succeeded"][0] == "failed"
        and "template name 'sya' undefined" in found["hello-succeeded"][1]
    )
    assert found["steps-parallel"][0] == "failed" and "cannot be pulled" in found["steps-parallel"][1]
    assert "in Workflow steps-07" in found["steps-parallel"][2]
    assert result.extra["stuck"]["subject"].startswith("Pod/steps-07-")
    assert took < 120, took  # the image's first pull attempts, not the 10-minute limit


def test_08_solution_by_every_route_then_reset_and_b_after_c(
    argo_addons: Addons,
    lab_runner: LabRunner,
    admin: KubeClient,
    namespace: str,
    other_namespace: str,
    tmp_path: Path,
) -> None:
    lab = CATALOG.get("08-dag")

    def edit(docs: list[dict[str, Any]]) -> None:
        tasks = _template(docs[0], "diamond")["dag"]["tasks"]
        next(t for t in tasks if t["name"] == "B")["dependencies"] = ["C"]

    wrong = variant(lab, tmp_path, edit)
    good, bad = side_by_side(
        lambda: every_route(lab_runner, lab.id, lab.solution_path, namespace, tmp_path / "results"),
        lambda: run(lab_runner, lab.id, wrong, other_namespace, participant="tester-b"),
    )
    assert_full_marks(good)
    assert_partial(bad, {"diamond-shape", "diamond-parallel"}, "depend on A alone")
    assert "extra C → B" in next(c.found for c in bad.checks if c.id == "diamond-shape")
    removed = lab_runner.reset(lab, namespace)
    assert {"Workflow/diamond-08", "Workflow/dag2-08"} <= set(removed), removed
    assert admin.list("Workflow", namespace) == [] and admin.pods(namespace) == []


FORGE = """
import sys, time, urllib.request, urllib.error
request = urllib.request.Request("http://hooks.kubedojo-hooks.svc/minio/audit", data=sys.argv[1].encode())
for attempt in range(20):  # the pod's first DNS queries may come before its network is up
    try:
        urllib.request.urlopen(request, timeout=20)
        print("accepted")
        break
    except urllib.error.HTTPError as refused:
        print(refused.code)
        break
    except urllib.error.URLError:
        time.sleep(1)
"""
"""Posts a forged audit entry (argv[1]) to the webhook receiver; prints the HTTP status it got."""


def _forged() -> dict[str, Any]:
    return {
        "apiVersion": WORKFLOW,
        "kind": "Workflow",
        "metadata": {"name": "diamond-08"},
        "spec": {"entrypoint": "x", "templates": [{"name": "x", "container": {"image": "none"}}]},
        "status": {
            "phase": "Succeeded",
            "nodes": {"n": {"id": "n", "displayName": "A", "phase": "Succeeded"}},
        },
    }


def test_a_participant_runs_08_and_cannot_write_a_workflows_status(
    argo_addons: Addons,
    cluster: LocalCluster,
    admin: KubeClient,
    namespace: str,
    participant: KubeClient,
    tmp_path: Path,
) -> None:
    lab = CATALOG.get("08-dag")
    admin.apply(workflow_access_objects(namespace, {}))  # what class.setup gives each participant
    policy = workflow_status_policy(SERVICE_ACCOUNT)
    admin.apply(policy)
    try:
        # The policy takes effect within seconds of being applied: until then the create succeeds.
        deadline = time.monotonic() + 30
        while True:
            try:
                participant.create(_forged(), namespace, dry_run=True)
            except Forbidden as exc:
                assert MESSAGE in exc.server_message
                break
            assert time.monotonic() < deadline, "the workflow status policy did not take effect in 30 s"
            time.sleep(0.5)

        cluster.ensure_context_images(lab_images(lab))
        runner = LabRunner(participant, ResultStore(tmp_path), digests=registry_digests(cluster))
        assert_full_marks(runner.run(lab, lab.solution_path, namespace, "p", timeout=300))

        # Changing the status of a real one is refused as well; deleting it (lab.reset) is not.
        done = participant.get("Workflow", "diamond-08", namespace)
        forged = {**done, "status": {**done["status"], "phase": "Failed"}}
        forged["metadata"] = {k: v for k, v in done["metadata"].items() if k != "managedFields"}
        with pytest.raises(Forbidden, match="written by Argo's controller"):
            participant.apply_one(forged, namespace)
        assert {"Workflow/diamond-08", "Workflow/dag2-08"} <= set(runner.reset(lab, namespace))

        # The object store's lab, with the account class.setup makes (the participant may not make it).
        more4 = CATALOG.get("more-4-s3")
        services = ClusterServices(
            admin, cluster.registry, cluster.image_ref("base"), cluster.ensure_context_images
        )
        services.accounts({namespace: "tester"})
        services.webhook(REPO)
        cluster.ensure_context_images(lab_images(more4))
        runner.services = ClusterServices(
            participant, cluster.registry, cluster.image_ref("base")
        )  # as lab.run gives a participant
        assert_full_marks(runner.run(more4, more4.solution_path, namespace, "tester", timeout=300))
    finally:
        for obj in reversed(policy):
            admin.delete(obj["kind"], obj["metadata"]["name"])


# -- the object store's labs: 09-ml-pipeline and more-4-s3 ----------------------------------------


def test_09_solution_by_every_route_and_one_at_a_time_without_the_accuracy(
    argo_addons: Addons, lab_runner: LabRunner, namespace: str, other_namespace: str, tmp_path: Path
) -> None:
    lab = CATALOG.get("09-ml-pipeline")

    def edit(docs: list[dict[str, Any]]) -> None:
        pipeline = _template(docs[1], "pipeline")
        pipeline["parallelism"] = 1
        notify = next(t for t in pipeline["dag"]["tasks"] if t["name"] == "notify")
        notify["arguments"]["parameters"][0]["value"] = "best model {{tasks.best.outputs.parameters.model}}"

    wrong = variant(lab, tmp_path, edit)
    good, bad = side_by_side(
        lambda: every_route(lab_runner, lab.id, lab.solution_path, namespace, tmp_path / "results"),
        lambda: run(lab_runner, lab.id, wrong, other_namespace, participant="tester-b"),
    )
    assert_full_marks(good)
    assert_partial(bad, {"in-parallel", "best-announced"}, "parallelism")
    found = {c.id: c.found for c in bad.checks}
    assert "one after the other" in found["in-parallel"] and "the best is" in found["best-announced"]


def test_more4_solution_by_every_route_and_someone_elses_prefix(
    argo_addons: Addons, lab_runner: LabRunner, namespace: str, other_namespace: str, tmp_path: Path
) -> None:
    lab = CATALOG.get("more-4-s3")

    def edit(docs: list[dict[str, Any]]) -> None:
        args = docs[0]["spec"]["template"]["spec"]["containers"][0]["args"]
        args[-1] = "s3://workshop/tester/mymodel.npz"  # the solution's prefix is tester's, not tester-b's

    wrong = variant(lab, tmp_path, edit)
    good, bad = side_by_side(
        lambda: every_route(lab_runner, lab.id, lab.solution_path, namespace, tmp_path / "results"),
        lambda: run(lab_runner, lab.id, wrong, other_namespace, participant="tester-b"),
    )
    assert_full_marks(good)
    assert_partial(bad, {"completes", "uploaded"}, "AccessDenied")
    assert "no such object written" in next(c.found for c in bad.checks if c.id == "uploaded")


def test_each_participants_keys_reach_their_own_prefix_only(
    argo_addons: Addons, cluster: LocalCluster, admin: KubeClient, namespace: str, participant: KubeClient
) -> None:
    """Two accounts as class.setup makes them; S3 with each one's keys (boto3, against MinIO's pod:
    this machine has no route to Services); the participant's own API identity cannot read its keys;
    the webhook receiver takes MinIO's audit log from MinIO's pods only."""
    boto3 = pytest.importorskip("boto3")
    errors = pytest.importorskip("botocore.exceptions")
    other = f"{namespace}-b"
    admin.ensure_namespace(other)
    try:
        services = ClusterServices(
            admin, cluster.registry, cluster.image_ref("base"), cluster.ensure_context_images
        )
        assert sorted(services.accounts({namespace: "alice", other: "bob"})) == sorted([namespace, other])
        services.datasets()
        services.webhook(REPO)
        keys = {ns: admin.read_secret(ns, SECRET) or {} for ns in (namespace, other)}
        assert keys[namespace]["accessKey"] == namespace and keys[namespace]["prefix"] == "alice/"
        (pod,) = [p for p in admin.pods("minio", label_selector="app=minio") if p["status"].get("podIP")]

        def s3(ns: str) -> Any:
            return boto3.client(
                "s3",
                endpoint_url=f"http://{pod['status']['podIP']}:9000",
                aws_access_key_id=keys[ns]["accessKey"],
                aws_secret_access_key=keys[ns]["secretKey"],
                region_name="us-east-1",
            )

        def refused(call: Any, **kwargs: Any) -> str:
            with pytest.raises(errors.ClientError) as info:
                call(**kwargs)
            return str(info.value.response["Error"]["Code"])

        alice, bob = s3(namespace), s3(other)
        alice.put_object(Bucket="workshop", Key="alice/model.npz", Body=b"alice's")
        bob.put_object(Bucket="workshop", Key="bob/model.npz", Body=b"bob's")
        assert alice.get_object(Bucket="workshop", Key="alice/model.npz")["Body"].read() == b"alice's"
        assert refused(alice.get_object, Bucket="workshop", Key="bob/model.npz") == "AccessDenied"
        assert refused(alice.put_object, Bucket="workshop", Key="bob/model.npz", Body=b"x") == "AccessDenied"
        assert refused(alice.list_objects_v2, Bucket="workshop", Prefix="bob/") == "AccessDenied"
        assert [o["Key"] for o in alice.list_objects_v2(Bucket="workshop", Prefix="alice/")["Contents"]] == [
            "alice/model.npz"
        ]
        assert refused(alice.put_object, Bucket="argo-artifacts", Key="bob/x", Body=b"x") == "AccessDenied"
        assert refused(alice.put_object, Bucket="datasets", Key="digits.npz", Body=b"x") == "AccessDenied"
        assert len(alice.get_object(Bucket="datasets", Key="digits.npz")["Body"].read()) > 10_000
        # MinIO lists only buckets the user may list outright: of the workshop's, never another's.
        assert {b["Name"] for b in alice.list_buckets()["Buckets"]} <= {
            "workshop",
            "argo-artifacts",
            "datasets",
        }

        # The participant's API identity may not read the keys (their pods may use them).
        with pytest.raises(Forbidden):
            participant.read_secret(namespace, SECRET)

        # A participant's pod cannot forge the object store's record for anyone.
        forged = json.dumps(
            {
                "api": {"name": "PutObject", "bucket": "workshop", "object": "bob/x", "statusCode": 200},
                "accessKey": other,
            }
        )
        job = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "forge"},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            {
                                "name": "post",
                                "image": cluster.image_ref("base"),
                                "command": [
                                    "python3",
                                    "-c",
                                    FORGE,
                                    forged,
                                ],
                            }
                        ],
                    }
                },
            },
        }
        admin.create(job, namespace)
        admin.wait_for(
            "Job forge to finish",
            "Job",
            lambda j: bool((j.get("status") or {}).get("succeeded") or (j.get("status") or {}).get("failed")),
            120,
            namespace,
            name="forge",
        )
        (forger,) = admin.pods(namespace, label_selector="batch.kubernetes.io/job-name=forge")
        assert (admin.pod_log(namespace, forger["metadata"]["name"]) or "").strip() == "403"
        assert [
            e
            for e in admin.list("Event", other)
            if e.get("reason") == "ObjectWritten" and "bob/x" in e["message"]
        ] == []
    finally:
        admin.delete("Namespace", other)
        _DOOMED.append(other)
