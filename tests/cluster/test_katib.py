"""Katib for real: the upstream manifests of v0.19.0 (``../shared/manifests``) installed as a release of
the chart kubedojo writes around them, every program kubedojo's build (the controller, the database
manager, the metrics collector and the goptuna suggestion service from Go modules; MariaDB in place of
MySQL), with a generated database password. A participant's Experiment of random search over two
parameters, made with their own credentials in their namespace (its NetworkPolicies in force), runs
its trials as batch Jobs, the metrics collector reads each trial's objective from its output, and the
experiment ends with its best trial, and the class's teardown removes the namespace with the experiment
in it. Uninstalling (the last of Katib's tests) deletes the running experiment it finds (its finalizers
are the controller's) and leaves the CRDs only. Katib is the session's (``katib`` in conftest), shared
with lab 12's tests."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from kubedojo.addons import Addons
from kubedojo.addons.releases import load_releases
from kubedojo.classroom import Classroom, Participant
from kubedojo.classroom.objects import SERVICE_ACCOUNT
from kubedojo.client.kube import KubeClient
from kubedojo.client.kubeapi import condition_true
from kubedojo.config import parse_config
from kubedojo.errors import Forbidden
from kubedojo.labels import RELEASE_LABEL
from kubedojo.local.images import (
    BASE,
    KATIB_CONTROLLER_IMAGE,
    KATIB_GOPTUNA_IMAGE,
    KATIB_METRICS_COLLECTOR_IMAGE,
    KATIB_MYSQL_IMAGE,
)
from kubedojo.local.provider import LocalCluster

from .realcharts import REPO

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("addon_images")]

KATIB = "kubeflow.org/v1beta1"
INJECTION = {"katib.kubeflow.org/metrics-collector-injection": "enabled"}
"""On every participant's namespace: Katib's pod webhook adds its metrics collector there."""
SCORE = (
    "sleep 5; python3 -c 'import sys; lr, depth = float(sys.argv[1]), int(sys.argv[2]);"
    ' print("accuracy=%.4f" % (0.9 + lr - depth / 100))\' ${trialParameters.lr} ${trialParameters.depth}'
)
"""A trial's work, one shell line: Katib's pod webhook joins the primary container's command with
spaces, unquoted, and appends the redirection its metrics collector reads (a command with spaces in an
argument, such as ``python3 -c CODE``, would fall apart). It lasts a few seconds: the collector,
started after it, must find it still running (Katib's ``unable to find main pid`` otherwise)."""


def _experiment(image: str) -> dict[str, Any]:
    return {
        "apiVersion": KATIB,
        "kind": "Experiment",
        "metadata": {"name": "random-search"},
        "spec": {
            "objective": {"type": "maximize", "goal": 0.999, "objectiveMetricName": "accuracy"},
            "algorithm": {"algorithmName": "random"},
            "parallelTrialCount": 2,
            "maxTrialCount": 3,
            "maxFailedTrialCount": 1,
            "parameters": [
                {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.01", "max": "0.09"}},
                {"name": "depth", "parameterType": "int", "feasibleSpace": {"min": "1", "max": "5"}},
            ],
            "trialTemplate": {
                "primaryContainerName": "training",
                "retain": True,  # the trials' Jobs and pods stay for the test to read (Katib deletes them)
                "trialParameters": [
                    {"name": "lr", "reference": "lr"},
                    {"name": "depth", "reference": "depth"},
                ],
                "trialSpec": {
                    "apiVersion": "batch/v1",
                    "kind": "Job",
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [
                                    {
                                        "name": "training",
                                        "image": image,
                                        # A command of its own: without one, the controller would read
                                        # the image's entrypoint from a registry it cannot reach.
                                        "command": ["sh", "-c", SCORE],
                                    }
                                ],
                            }
                        }
                    },
                },
            },
        },
    }


def test_a_participants_experiment_runs_its_trials_and_names_the_best(
    katib: Addons, cluster: LocalCluster, admin: KubeClient, tmp_path: Path
) -> None:
    # A class of one, as class.setup makes it: Role, quota, limits, and the NetworkPolicies that let
    # exactly Katib's database manager and controller through (tests/unit/test_classroom.py).
    shipped = load_releases(REPO / "charts" / "releases.yaml").releases
    room = Classroom(
        admin,
        parse_config({}).classroom,
        cluster.kubeconfig_path,
        tmp_path / "class",
        "kdt-katib-",
        "kdt",
        addons=shipped,
    )
    room.setup([Participant("kate")], "Katib")
    namespace = room.namespace("kate")
    token = admin.request_token(namespace, SERVICE_ACCOUNT, 600)
    kate = KubeClient.from_token(cluster.layout.api_url, cluster.state.pki / "ca.crt", token)
    cluster.build_images()  # the base image the trials run
    try:
        kinds = {o["kind"] for o in asyncio.run(katib.helm.manifest("katib", "kubeflow"))}
        assert "CustomResourceDefinition" not in kinds and "Namespace" not in kinds
        assert admin.find("Deployment", "katib-ui", "kubeflow") is None, "the UI is not built here"
        password = admin.read_secret("kubeflow", "katib-mysql-secrets") or {}
        assert len(password.get("MYSQL_ROOT_PASSWORD", "")) == 40, "generated, not upstream's 'test'"
        (database,) = admin.get("Deployment", "katib-mysql", "kubeflow")["spec"]["template"]["spec"][
            "containers"
        ]
        assert database["image"] == KATIB_MYSQL_IMAGE.ref(cluster.registry)
        config_map = admin.get("ConfigMap", "katib-config", "kubeflow")["data"]["katib-config.yaml"]
        assert KATIB_METRICS_COLLECTOR_IMAGE.ref(cluster.registry) in config_map
        assert KATIB_GOPTUNA_IMAGE.ref(cluster.registry) in config_map

        assert admin.get("Namespace", namespace)["metadata"]["labels"].items() >= INJECTION.items()
        kate.apply_one(_experiment(BASE.ref(cluster.registry)), namespace)
        experiment = kate.wait_for(
            "Experiment random-search to end",
            "Experiment",
            lambda o: condition_true(o, "Succeeded") or condition_true(o, "Failed"),
            420,
            namespace,
            name="random-search",
            api_version=KATIB,
        )
        assert condition_true(experiment, "Succeeded"), experiment["status"]
        trials = kate.list("Trial", namespace, api_version=KATIB)
        with pytest.raises(Forbidden):  # the controller's to write
            kate.delete("Trial", trials[0]["metadata"]["name"], namespace, api_version=KATIB)
        assert len(trials) == 3, [t["metadata"]["name"] for t in trials]
        for trial in trials:
            assert condition_true(trial, "Succeeded"), trial["status"]
            assigned = {a["name"]: a["value"] for a in trial["spec"]["parameterAssignments"]}
            lr, depth = float(assigned["lr"]), int(assigned["depth"])
            assert 0.01 <= lr <= 0.09 and 1 <= depth <= 5, assigned
            (metric,) = trial["status"]["observation"]["metrics"]
            assert metric["name"] == "accuracy"
            assert abs(float(metric["latest"]) - (0.9 + lr - depth / 100)) < 1e-3, (metric, assigned)
        best = experiment["status"]["currentOptimalTrial"]
        values = [float(t["status"]["observation"]["metrics"][0]["latest"]) for t in trials]
        assert float(best["observation"]["metrics"][0]["latest"]) == max(values)
        # Each trial's pod ran kubedojo's metrics collector beside the training container.
        pods = [
            p for p in admin.pods(namespace) if any(c["name"] == "training" for c in p["spec"]["containers"])
        ]
        assert len(pods) == 3, [p["metadata"]["name"] for p in pods]
        sidecars = {c["image"] for p in pods for c in p["spec"]["containers"] if c["name"] != "training"}
        assert sidecars == {KATIB_METRICS_COLLECTOR_IMAGE.ref(cluster.registry)}, sidecars
        assert KATIB_CONTROLLER_IMAGE.ref(cluster.registry) in {
            c["image"]
            for c in admin.get("Deployment", "katib-controller", "kubeflow")["spec"]["template"]["spec"][
                "containers"
            ]
        }
    finally:
        kate.close()
        # The class's namespace goes with its Experiment in it: the controller, still running, removes
        # the finalizers of the Experiment and its Trials.
        room.teardown(timeout=120)
    assert admin.find("Namespace", namespace) is None


@pytest.mark.uninstalls
def test_uninstalling_deletes_the_experiments_it_finds_and_leaves_the_crds(
    katib: Addons, cluster: LocalCluster, admin: KubeClient, namespace: str
) -> None:
    """Last of Katib's tests (``uninstalls``): an Experiment left running while Katib is uninstalled
    is deleted with its Trials while the controller, which removes their finalizers, still runs
    (otherwise neither they nor their namespace could ever be deleted)."""
    cluster.build_images()
    admin.apply_one(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": INJECTION}}
    )
    admin.apply_one(_experiment(BASE.ref(cluster.registry)), namespace)
    admin.wait_for("a Trial of random-search", "Trial", lambda o: True, 120, namespace, api_version=KATIB)
    (removed,) = katib.uninstall(["katib"])
    assert removed.action == "uninstalled" and "1 Experiment" in removed.detail, removed
    assert "Trial" in removed.detail, removed
    assert admin.list("Experiment", namespace, api_version=KATIB) == []
    assert admin.list("Trial", namespace, api_version=KATIB) == []
    admin.wait_deleted("Deployment", "katib-controller", "kubeflow", 60)
    assert admin.find("MutatingWebhookConfiguration", "katib.kubeflow.org") is None
    crd = admin.find("CustomResourceDefinition", "experiments.kubeflow.org")
    assert crd is not None and crd["metadata"]["labels"][RELEASE_LABEL] == "katib", crd and crd["metadata"]
