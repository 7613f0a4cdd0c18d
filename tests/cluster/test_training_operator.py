"""Kubeflow's training operator for real: the upstream manifests of v1.9.4 (``../shared/manifests``,
rendered from the tag's kustomize tree) installed as a release of the chart kubedojo writes around
them, running kubedojo's build of the operator (Go modules) and of the workers' init container image
from the local registry. Its CRDs are applied apart from helm (700 KB each) and stay when it is
uninstalled; a PyTorchJob of the operator's own kind runs a master and a worker that meet at the
address and port the operator gives them; the operator's admission webhook, whose certificate it
makes itself, refuses a PyTorchJob without a container named ``pytorch``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubedojo.addons import Addons
from kubedojo.client.kube import KubeClient
from kubedojo.client.kubeapi import condition_true
from kubedojo.errors import ApiError
from kubedojo.local.images import BASE, PYTORCH_INIT_IMAGE, TRAINING_OPERATOR_IMAGE
from kubedojo.local.provider import LocalCluster

pytestmark = pytest.mark.cluster

PYTORCHJOB = "kubeflow.org/v1"
RANKS = """
import os, socket, time
rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
address, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
if rank == 0:
    server = socket.create_server(("", port))
    server.settimeout(120)
    seen = [0]
    for _ in range(world - 1):
        connection, _ = server.accept()
        seen.append(int(connection.recv(16)))
    print(f"rank=0 world_size={world} met={sorted(seen)}")
else:
    for _ in range(60):
        try:
            socket.create_connection((address, port), timeout=5).sendall(str(rank).encode())
            break
        except OSError:
            time.sleep(1)
    else:
        raise SystemExit(f"rank {rank}: no master at {address}:{port}")
    print(f"rank={rank} world_size={world} master={address}:{port}")
"""


def _pytorchjob(name: str, image: str, container: str = "pytorch") -> dict[str, Any]:
    replica = {
        "replicas": 1,
        "restartPolicy": "Never",
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": container,
                        "image": image,
                        "command": ["python3", "-c", RANKS],
                        "resources": {"limits": {"cpu": "200m", "memory": "128Mi"}},
                    }
                ]
            }
        },
    }
    return {
        "apiVersion": PYTORCHJOB,
        "kind": "PyTorchJob",
        "metadata": {"name": name},
        "spec": {
            "runPolicy": {"cleanPodPolicy": "None"},
            "pytorchReplicaSpecs": {"Master": replica, "Worker": replica},
        },
    }


def test_a_pytorchjob_runs_its_master_and_worker_under_the_operator_built_here(
    training_operator: Addons,
    cluster: LocalCluster,
    admin: KubeClient,
    namespace: str,
    participant: KubeClient,
) -> None:
    # The CRDs are served, and are no part of helm's release (its Secret holds 1 MiB).
    crd = admin.get("CustomResourceDefinition", "pytorchjobs.kubeflow.org")
    assert condition_true(crd, "Established")
    kinds = {o["kind"] for o in asyncio.run(training_operator.helm.manifest("training-operator", "kubeflow"))}
    assert "CustomResourceDefinition" not in kinds
    assert {"Deployment", "ValidatingWebhookConfiguration", "Service"} <= kinds
    assert "Namespace" not in kinds

    (operator,) = admin.get("Deployment", "training-operator", "kubeflow")["spec"]["template"]["spec"][
        "containers"
    ]
    assert operator["image"] == TRAINING_OPERATOR_IMAGE.ref(cluster.registry)
    init = PYTORCH_INIT_IMAGE.ref(cluster.registry)
    assert f"--pytorch-init-container-image={init}" in operator["args"]

    # A class participant runs it with their own credentials (the participants' Role), under their
    # namespace's Pod Security level.
    participant.apply_one(_pytorchjob("ranks", BASE.ref(cluster.registry)), namespace)
    job = admin.wait_for(
        "PyTorchJob ranks to succeed",
        "PyTorchJob",
        lambda o: condition_true(o, "Succeeded") or condition_true(o, "Failed"),
        240,
        namespace,
        name="ranks",
        api_version=PYTORCHJOB,
    )
    assert condition_true(job, "Succeeded"), job["status"]
    # The job succeeds with its master; the worker's pod may finish a moment later.
    pods = {
        name: admin.wait_for(
            f"pod {name} to finish",
            "Pod",
            lambda p: p["status"].get("phase") in ("Succeeded", "Failed"),
            60,
            namespace,
            name=name,
        )
        for name in ("ranks-master-0", "ranks-worker-0")
    }
    assert len(admin.pods(namespace)) == 2
    assert all(p["status"]["phase"] == "Succeeded" for p in pods.values())
    (waits,) = pods["ranks-worker-0"]["spec"]["initContainers"]
    assert waits["image"] == init, "the worker waits for the master with kubedojo's image"
    master_log = admin.pod_log(namespace, "ranks-master-0") or ""
    worker_log = admin.pod_log(namespace, "ranks-worker-0", container="pytorch") or ""
    assert "rank=0 world_size=2 met=[0, 1]" in master_log
    assert "rank=1 world_size=2 master=ranks-master-0:23456" in worker_log

    # The status is the operator's: written with the job, it is dropped (status subresource).
    forged = {
        **_pytorchjob("ranks", BASE.ref(cluster.registry)),
        "status": {"conditions": [{"type": "Failed", "status": "True", "reason": "Forged"}]},
    }
    participant.apply_one(forged, namespace)
    stored = admin.get("PyTorchJob", "ranks", namespace, api_version=PYTORCHJOB)
    assert condition_true(stored, "Succeeded") and not condition_true(stored, "Failed")

    # The operator's webhook (its certificate made by the operator) refuses a job it cannot run.
    with pytest.raises(ApiError, match="pytorch"):
        participant.apply_one(_pytorchjob("nameless", BASE.ref(cluster.registry), "main"), namespace)

    (again,) = training_operator.install(["training-operator"])
    assert again.action == "unchanged", again


def test_uninstall_leaves_its_crds_only(training_operator: Addons, admin: KubeClient) -> None:
    """The last of the session's training-operator tests (lab 11's come before, in file order)."""
    (result,) = training_operator.uninstall(["training-operator"])
    assert result.action == "uninstalled", result
    admin.wait_deleted("Deployment", "training-operator", "kubeflow", 60)
    assert admin.find("ValidatingWebhookConfiguration", "validator.training-operator.kubeflow.org") is None
    assert admin.find("ClusterRole", "training-operator") is None
    # Like the CRDs of a chart's crds/, they stay: deleting one deletes every job of its kind.
    assert admin.find("CustomResourceDefinition", "pytorchjobs.kubeflow.org") is not None
