"""The object store's side of the labs, without a cluster: each namespace's account (its policy
reaches its own prefix only; its keys are kept once made; the Job that makes it; Argo's artifact
repository under the prefix), the datasets' Job, the webhook receiver's objects and its parsing of
MinIO's audit log, and the object_event check on hand-written Events."""

from __future__ import annotations

import importlib.util
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kubedojo.addons.hooks import hooks_objects
from kubedojo.addons.s3accounts import (
    SECRET,
    Account,
    account_job,
    account_objects,
    account_policy,
    ensure_accounts,
)
from kubedojo.client.fake import FakeKube
from kubedojo.errors import ConfigError
from kubedojo.labels import SHARED_SERVICES
from kubedojo.labs.catalog import Catalog
from kubedojo.labs.grading import GradingContext, grade
from kubedojo.labs.snapshot import ClusterSnapshot

PROJECT = Path(__file__).resolve().parents[2]
START = datetime(2026, 12, 5, 10, 0, 0, tzinfo=UTC)


def _receiver() -> Any:
    spec = importlib.util.spec_from_file_location("receiver", PROJECT / "images" / "hooks" / "receiver.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_participants_policy_reaches_their_prefix_and_the_datasets_only() -> None:
    statements = account_policy("alice")["Statement"]
    objects, listing, datasets = statements
    assert objects["Resource"] == ["arn:aws:s3:::workshop/alice/*", "arn:aws:s3:::argo-artifacts/alice/*"]
    assert "s3:ListBucket" not in objects["Action"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["alice/*", "alice"]}}
    assert set(datasets["Action"]) == {"s3:GetObject", "s3:ListBucket"}  # read, never write
    assert all("*" not in r.split(":::")[1].split("/")[0] for s in statements for r in s["Resource"])


def test_the_accounts_keys_and_artifact_repository_in_the_namespace() -> None:
    secret, repository = account_objects(Account("dojo-alice", "alice", "k" * 40))
    assert secret["stringData"]["accessKey"] == "dojo-alice" and secret["stringData"]["prefix"] == "alice/"
    assert secret["metadata"] == {
        "name": SECRET,
        "namespace": "dojo-alice",
        "labels": secret["metadata"]["labels"],
    }
    assert repository["metadata"]["annotations"] == {
        "workflows.argoproj.io/default-artifact-repository": "default"
    }
    assert '"keyFormat": "alice/{{workflow.name}}/{{pod.name}}"' in repository["data"]["default"]


def test_the_accounts_job_reads_the_root_keys_from_minios_secret() -> None:
    secret, job = account_job(
        [Account("dojo-a", "a", "x" * 40), Account("dojo-b", "b", "y" * 40)], "reg/mc:1"
    )
    assert secret["metadata"]["namespace"] == job["metadata"]["namespace"] == "minio"
    assert secret["stringData"]["a1-user"] == "dojo-b" and secret["stringData"]["a1-secret"] == "y" * 40
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["MINIO_ROOT_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "minio-root",
        "key": "rootPassword",
    }
    assert "x" * 40 not in str(job)  # the keys travel in the Secret, not in the Job


def test_accounts_without_minio_is_one_line() -> None:
    with pytest.raises(ConfigError, match=r"not installed .*charts.install -n minio") as info:
        ensure_accounts(FakeKube(), {"dojo-a": "a"}, "reg/mc:1")
    assert "\n" not in str(info.value)


def test_the_receiver_is_a_shared_service_with_few_rights() -> None:
    objects = {o["kind"]: o for o in hooks_objects("reg/kubedojo-hooks:v1", "abc")}
    assert SHARED_SERVICES.items() <= objects["Namespace"]["metadata"]["labels"].items()
    assert objects["ClusterRole"]["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
    ]
    template = objects["Deployment"]["spec"]["template"]
    assert template["metadata"]["annotations"] == {"kubedojo.dev/revision": "abc"}
    assert template["spec"]["containers"][0]["securityContext"]["runAsNonRoot"] is True


def test_the_receiver_reads_minios_audit_posts() -> None:
    receiver = _receiver()
    assert receiver._entries(b'{"a": 1}\n{"b": 2}\n') == [{"a": 1}, {"b": 2}]
    assert receiver._entries(b'[{"a": 1}, 3]') == [{"a": 1}]
    assert receiver._entries(b"") == []
    assert receiver._rfc3339("2026-12-05T03:18:02.123456789Z") == "2026-12-05T03:18:02Z"
    assert receiver._rfc3339("2026-12-05T12:18:02.5+09:00") == "2026-12-05T03:18:02Z"
    assert receiver._rfc3339("yesterday") == ""


def event(reason: str, message: str, seconds: int, component: str = "kubedojo-hooks") -> dict[str, Any]:
    at = (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
    return {"reason": reason, "message": message, "lastTimestamp": at, "source": {"component": component}}


def more4(events: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    lab = Catalog(PROJECT).get("more-4-s3")
    job = {
        "kind": "Job",
        "metadata": {"name": "handson-s3", "uid": "j1", "creationTimestamp": "2026-12-05T10:00:01Z"},
        "status": {"conditions": [{"type": "Complete", "status": "True"}]},
    }
    pod = {
        "kind": "Pod",
        "metadata": {
            "name": "handson-s3-x",
            "uid": "p1",
            "ownerReferences": [{"uid": "j1", "controller": True}],
        },
        "spec": {"nodeName": "n1", "containers": [{"name": "train", "command": ["python", "train.py"]}]},
        "status": {"containerStatuses": [{"name": "train", "state": {"terminated": {"exitCode": 0}}}]},
    }
    objects = {"Job": [job], "Pod": [pod], "Node": [], "Event": events}
    ctx = GradingContext(lab, ClusterSnapshot("dojo-a", START + timedelta(minutes=1), objects), START)
    return {c.id: (c.status, c.found) for c in grade(ctx, "a").checks if c.id == "uploaded"}


def test_object_event_reads_the_receivers_record() -> None:
    ok = "PutObject workshop/a/mymodel.npz by dojo-a: 200 from pod handson-s3-x"
    assert more4([event("ObjectWritten", ok, 30)])["uploaded"][0] == "passed"
    # Before the start, by another account, from another pod, forged by someone else: no credit.
    assert more4([event("ObjectWritten", ok, -30)])["uploaded"][0] == "failed"
    assert (
        more4([event("ObjectWritten", ok.replace("by dojo-a", "by dojo-b"), 30)])["uploaded"][0] == "failed"
    )
    other = more4([event("ObjectWritten", ok.replace("handson-s3-x", "sneaky"), 30)])["uploaded"]
    assert other[0] == "failed" and "came from pod sneaky" in other[1]
    assert more4([event("ObjectWritten", ok, 30, component="someone")])["uploaded"][0] == "failed"
    read = more4([event("ObjectRead", ok.replace("PutObject", "GetObject"), 30)])["uploaded"]
    assert read[0] == "failed" and "no such object written" in read[1]
