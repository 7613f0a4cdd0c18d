"""A class on the real cluster, exercised with the participants' own credentials."""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kubedojo.classroom import Classroom, Participant, grade_class, pod_phases, scoreboard
from kubedojo.client.kube import KubeClient
from kubedojo.config import parse_config
from kubedojo.errors import Forbidden
from kubedojo.labs import LabRunner, ResultStore
from kubedojo.labs.reader import VolumeReader
from kubedojo.local.provider import LocalCluster

from .conftest import registry_digests
from .helpers import wait_job_finished
from .labtools import CATALOG

pytestmark = pytest.mark.cluster

PREFIX = "kdt-class-"


@pytest.fixture(scope="module")
def classroom(
    cluster: LocalCluster, admin: KubeClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Classroom]:
    settings = parse_config({"class": {"quota": {"cpu": "2", "memory": "2Gi", "jobs": 10}}}).classroom
    room = Classroom(
        admin, settings, cluster.kubeconfig_path, tmp_path_factory.mktemp("class"), PREFIX, "kdt"
    )
    report = room.setup([Participant("alice", "alice@example.org"), Participant("bob")], "Test class")
    assert sorted(report.added) == ["alice", "bob"]
    yield room
    room.teardown()
    assert not room.participants()
    bindings = [b["metadata"]["name"] for b in admin.list("ClusterRoleBinding")]
    assert not [b for b in bindings if b.startswith("kubedojo-participant-nodes-")]
    assert admin.find("ClusterRole", "kubedojo-participant-nodes") is None


def as_participant(room: Classroom, name: str) -> KubeClient:
    return KubeClient.from_kubeconfig(room.kubeconfig_path(name))


def forbidden(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    """The API server's own words refusing the call (403 Forbidden)."""
    with pytest.raises(Forbidden) as info:
        call(*args, **kwargs)
    assert info.value.status == 403
    return info.value.server_message


def config_map(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}


def test_setup_is_idempotent_and_private(classroom: Classroom) -> None:
    for name in ("alice", "bob"):
        assert stat.S_IMODE(classroom.kubeconfig_path(name).stat().st_mode) == 0o600
    again = classroom.setup([Participant("alice", "alice@example.org"), Participant("bob")], "Test class")
    assert sorted(again.unchanged) == ["alice", "bob"] and not again.added and not again.updated
    handout = Path(again.handout).read_text()
    assert "kdt-class-alice" in handout and "kdt-class-bob" in handout


def test_participant_stays_in_their_namespace(classroom: Classroom) -> None:
    alice = as_participant(classroom, "alice")
    try:
        assert alice.pods(PREFIX + "alice") == []
        forbidden(alice.pods, PREFIX + "bob")
        forbidden(alice.create, config_map("x"), PREFIX + "bob")
        forbidden(alice.list, "Secret")  # in every namespace
        forbidden(alice.list, "Secret", PREFIX + "alice")
        assert alice.nodes()  # read, for the labs' node checks and 'kubectl describe node'
        node = alice.nodes()[0]["metadata"]["name"]
        forbidden(alice.delete, "Node", node)
        forbidden(
            alice.apply_one,
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node, "labels": {"x": "y"}}},
        )
        forbidden(alice.list, "Namespace")
    finally:
        alice.close()


def test_quota_refusal_names_the_quota(classroom: Classroom, cluster: LocalCluster) -> None:
    bob = as_participant(classroom, "bob")
    greedy = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "greedy"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "c",
                    "image": cluster.image_ref("base"),
                    "command": ["true"],
                    "resources": {"requests": {"memory": "3Gi"}, "limits": {"memory": "3Gi"}},
                }
            ],
        },
    }
    try:
        message = forbidden(bob.create, greedy, PREFIX + "bob")
    finally:
        bob.close()
    assert "exceeded quota: kubedojo-quota" in message and "requests.memory" in message


def test_participant_runs_a_lab_with_own_credentials_and_oom_does_not_disturb_others(
    classroom: Classroom, cluster: LocalCluster, admin: KubeClient, tmp_path: Path
) -> None:
    # Bob's steady Job runs while Alice's hungry one is OOM-killed next to it.
    lab03 = CATALOG.get("03-exception")
    cluster.ensure_context_images(
        __import__("kubedojo.labs.images", fromlist=["lab_images"]).lab_images(lab03)
    )
    bob = as_participant(classroom, "bob")
    alice = as_participant(classroom, "alice")
    try:
        steady = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "steady"},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            {
                                "name": "train",
                                "image": cluster.image_ref("base"),
                                "command": ["python3", "-c", "import time; time.sleep(20); print('done')"],
                                "resources": {
                                    "requests": {"cpu": "100m", "memory": "64Mi"},
                                    "limits": {"memory": "128Mi"},
                                },
                            }
                        ],
                    }
                },
            },
        }
        bob.apply_one(steady, PREFIX + "bob")
        runner = LabRunner(
            alice,
            ResultStore(tmp_path),
            reader=VolumeReader(alice, cluster.image_ref("base")),
            digests=registry_digests(cluster),
        )
        result = runner.run(lab03, lab03.solution_path, PREFIX + "alice", "alice", timeout=300)
        # With their own credentials a participant reaches full marks (they may read Nodes).
        assert {c.id: (c.status, c.found) for c in result.checks if c.status != "passed"} == {}
        job = wait_job_finished(admin, PREFIX + "bob", "steady", timeout=120)
        assert job["status"].get("succeeded") == 1
        pods = admin.pods(PREFIX + "bob", label_selector="batch.kubernetes.io/job-name=steady")
        assert [p["status"]["containerStatuses"][0]["restartCount"] for p in pods] == [0]
        phases = pod_phases(admin, classroom.participants())
        assert phases["alice"]["Failed"] >= 1 and phases["bob"]["Succeeded"] == 1

        # The instructor grades everyone at once.
        grades = grade_class(
            admin,
            [CATALOG.get("01-run-job"), lab03],
            classroom.participants(),
            ResultStore(tmp_path / "class"),
            VolumeReader(admin, cluster.image_ref("base")),
            digests=registry_digests(cluster),
        )
        board = scoreboard(grades.results, [("01-run-job", "", 10), ("03-exception", "", lab03.max_score)])
        scores = {name: {lab: r.score for lab, r in results.items()} for name, results in board.rows}
        assert scores["alice"]["03-exception"] == lab03.max_score
        statuses = {(r.participant, r.lab): r.status for r in grades.results}
        assert (
            statuses[("bob", "03-exception")] == "pending" and statuses[("alice", "01-run-job")] == "pending"
        )
    finally:
        bob.close()
        alice.close()


def test_removing_a_participant_removes_only_theirs(classroom: Classroom, admin: KubeClient) -> None:
    classroom.setup([Participant("carol")], "Test class")
    assert "carol" in classroom.participants()
    admin.create(config_map("keep-me"), PREFIX + "alice")
    classroom.remove(["carol"])
    assert "carol" not in classroom.participants()
    assert not classroom.kubeconfig_path("carol").exists()
    assert admin.get("ConfigMap", "keep-me", PREFIX + "alice")["metadata"]["name"] == "keep-me"
    assert {"alice", "bob"} <= set(classroom.participants())


def test_class_setup_puts_every_lab_image_into_the_registry(cluster: LocalCluster) -> None:
    """Participants cannot push images: the instructor's setup publishes what the labs run."""
    import json
    import urllib.request

    from kubedojo.classroom.environment import class_environment
    from kubedojo.target import resolve_target

    from .conftest import STATE_DIR
    from .labtools import PROJECT

    config = parse_config({"local": {"state_dir": STATE_DIR}}, project=PROJECT)
    with class_environment(config, resolve_target(config, PROJECT)) as env:
        references = env.publish_images([CATALOG.get("01-run-job"), CATALOG.get("04-hyperparams")])
    assert references == [
        "127.0.0.1:5000/kubedojo/lab-01-run-job:v1",
        "127.0.0.1:5000/kubedojo/lab-04-hyperparams:v1",
    ]
    for reference in references:
        repository, tag = reference.removeprefix("127.0.0.1:5000/").rsplit(":", 1)
        with urllib.request.urlopen(f"http://127.0.0.1:5000/v2/{repository}/tags/list", timeout=10) as answer:
            assert tag in json.loads(answer.read())["tags"]
