"""Lab 10 graded on hand-written states, as KubeSpawner, the kubelet and the lab's grader pod leave
them: the reference work to full marks; no server, a server that is not kubedojo's notebook image, a
model saved before the lab started, one too weak, one that is not arrays, a notebook that printed
another score, each to the verdict it deserves. ``lab.run``'s wait for work done in JupyterHub. The
grader pod's script itself runs in tests/cluster/test_lab_jupyterhub.py (it needs scikit-learn)."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kubedojo.client.fake import FakeKube
from kubedojo.errors import ClusterError, ConfigError
from kubedojo.labs import LabRunner, ResultStore
from kubedojo.labs.catalog import Catalog
from kubedojo.labs.definition import load_definition
from kubedojo.labs.grading import GradingContext, grade
from kubedojo.labs.integrity import LabImages
from kubedojo.labs.session import session_name
from kubedojo.labs.snapshot import ClusterSnapshot

PROJECT = Path(__file__).resolve().parents[2]
LAB = Catalog(PROJECT).get("10-jupyterhub")
START = datetime(2026, 12, 5, 10, 0, 0, tzinfo=UTC)
SERVER_DIGEST = "3" * 64
IMAGES = LabImages({}, helpers={"jupyterhub-singleuser": frozenset({SERVER_DIGEST})})


def server_pod(digest: str = SERVER_DIGEST, ready: bool = True) -> dict[str, Any]:
    """A server pod as KubeSpawner 7 (z2jh 4.4.0) makes it, as the kubelet reports it."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "jupyter-lena",
            "namespace": "dojo-lena",
            "labels": {
                "app": "jupyterhub",
                "component": "singleuser-server",
                "app.kubernetes.io/managed-by": "kubespawner",
                "hub.jupyter.org/username": "lena",
            },
        },
        "spec": {
            "volumes": [{"name": "volume-lena", "persistentVolumeClaim": {"claimName": "claim-lena"}}],
            "containers": [
                {
                    "name": "notebook",
                    "image": "10.244.0.1:5000/kubedojo/jupyterhub-singleuser:4.4.0-kubedojo1",
                    "args": ["jupyterhub-singleuser"],
                    "volumeMounts": [{"name": "volume-lena", "mountPath": "/home/jovyan"}],
                }
            ],
        },
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
            "containerStatuses": [
                {
                    "name": "notebook",
                    "imageID": f"10.244.0.1:5000/kubedojo/jupyterhub-singleuser@sha256:{digest}",
                }
            ],
        },
    }


def home_claim() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": "claim-lena",
            "labels": {"component": "singleuser-storage", "app.kubernetes.io/managed-by": "kubespawner"},
        },
        "status": {"phase": "Bound"},
    }


def found_on_claim(**model: Any) -> dict[str, Any]:
    """What the grader pod prints: the reference work saved 60 s after the start."""
    saved = (START + timedelta(seconds=60)).timestamp()
    return {
        "model": {"mtime": saved, "accuracy": 0.9722222, "tested": 540, **model},
        "notebooks": [{"path": "train.ipynb", "mtime": saved + 5, "printed": ["0.9722"]}],
    }


class Reader:
    def __init__(self, examined: dict[str, Any], fails: str = "") -> None:
        self.examined = examined
        self.fails = fails
        self.calls: list[tuple[str, str]] = []

    def list_files(self, namespace: str, **kwargs: Any) -> list[Any]:
        raise AssertionError("lab 10 reads its claim with its own grader")

    def read_object(self, namespace: str, **kwargs: Any) -> None:
        raise AssertionError("lab 10 reads no object")

    def examine(self, namespace: str, *, claim: str, script: str) -> Any:
        self.calls.append((namespace, claim))
        if self.fails:
            raise ClusterError(self.fails)
        return copy.deepcopy(self.examined)


def graded(
    pods: list[dict[str, Any]], claims: list[dict[str, Any]], examined: dict[str, Any]
) -> tuple[dict[str, tuple[str, str, str]], Reader]:
    reader = Reader(examined)
    snapshot = ClusterSnapshot(
        "dojo-lena", START + timedelta(minutes=5), {"Pod": pods, "PersistentVolumeClaim": claims, "Job": []}
    )
    result = grade(GradingContext(LAB, snapshot, START, reader=reader, images=IMAGES), "lena")
    return {c.id: (c.status, c.found, c.hint) for c in result.checks}, reader


def test_the_reference_work_gets_full_marks_and_the_claim_is_read_once() -> None:
    verdicts, reader = graded([server_pod()], [home_claim()], found_on_claim())
    assert {k: v[0] for k, v in verdicts.items()} == dict.fromkeys(
        ("server", "home", "model", "notebook"), "passed"
    )
    assert verdicts["model"][1] == "accuracy 0.9722 on 540 held-out digits"
    assert verdicts["notebook"][1] == "train.ipynb printed held-out accuracy: 0.9722"
    assert reader.calls == [("dojo-lena", "claim-lena")]


def test_without_a_server_the_work_on_the_claim_still_counts() -> None:
    """The idle culler or the participant stopped the server: its claim, and the work, stay."""
    verdicts, _ = graded([], [home_claim()], found_on_claim())
    assert verdicts["server"][0] == verdicts["home"][0] == "failed"
    assert "Start My Server" in verdicts["server"][2]
    assert verdicts["model"][0] == verdicts["notebook"][0] == "passed"


@pytest.mark.parametrize(
    ("pod", "found"),
    [
        (server_pod(digest="9" * 64), "jupyter-lena runs another image than kubedojo's notebook server"),
        (server_pod(ready=False), "jupyter-lena is not ready (Running)"),
    ],
)
def test_a_server_that_is_not_kubedojos_or_not_ready_fails(pod: dict[str, Any], found: str) -> None:
    verdicts, _ = graded([pod], [home_claim()], found_on_claim())
    assert verdicts["server"][:2] == ("failed", found)


def test_a_pod_the_participant_made_to_run_something_else_is_not_the_server() -> None:
    forged = server_pod()
    forged["spec"]["containers"][0]["args"] = ["python3", "-m", "http.server", "8888"]
    verdicts, _ = graded([forged], [home_claim()], found_on_claim())
    assert verdicts["server"][:2] == ("failed", "jupyter-lena does not run jupyterhub-singleuser alone")


@pytest.mark.parametrize(
    ("model", "found", "hint"),
    [
        ({"accuracy": 0.71}, "accuracy 0.7100 on 540 held-out digits", "model.fit(X_train, y_train)"),
        (
            {"mtime": (START - timedelta(minutes=1)).timestamp()},
            "the model was saved before the lab started",
            "run the notebook again",
        ),
        (
            {
                "error": "it does not load as an .npz of arrays (ValueError: Object arrays cannot be loaded when allow_pickle=False)"
            },
            "the model cannot be scored: it does not load as an .npz",
            "the arrays coef and intercept",
        ),
    ],
)
def test_a_weak_old_or_unreadable_model_fails_with_its_hint(
    model: dict[str, Any], found: str, hint: str
) -> None:
    examined = found_on_claim(**model)
    if "error" in model:
        del examined["model"]["accuracy"]
    verdicts, _ = graded([server_pod()], [home_claim()], examined)
    status, text, given = verdicts["model"]
    assert status == "failed" and text.startswith(found) and hint in given, verdicts["model"]


def test_no_model_and_a_notebook_that_printed_another_score() -> None:
    verdicts, _ = graded([server_pod()], [home_claim()], {"model": None, "notebooks": []})
    assert verdicts["model"][:2] == ("failed", "no models/digits-model.npz on the claim claim-lena")
    assert "Path.home()" in verdicts["model"][2]
    examined = found_on_claim()
    examined["notebooks"][0]["printed"] = ["0.9911"]
    verdicts, _ = graded([server_pod()], [home_claim()], examined)
    assert verdicts["notebook"][:2] == (
        "failed",
        "the saved notebooks printed 0.9911; the model scores 0.9722",
    )
    examined["notebooks"][0].update(printed=["0.9722"], mtime=(START - timedelta(seconds=1)).timestamp())
    verdicts, _ = graded([server_pod()], [home_claim()], examined)
    assert verdicts["notebook"][:2] == ("failed", "no notebook saved since the lab started")


CLASS_NAMESPACE = {
    "apiVersion": "v1",
    "kind": "Namespace",
    "metadata": {
        "name": "dojo-lena",
        "labels": {"kubedojo.dev/class": "c", "kubedojo.dev/participant": "lena"},
    },
}


def test_lab_run_refuses_a_namespace_outside_a_class_before_waiting(tmp_path: Path) -> None:
    fake = FakeKube()
    runner = LabRunner(fake, ResultStore(tmp_path), reader=Reader({}), pause=pytest.fail)
    for namespace in (None, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dojo-lena"}}):
        if namespace is not None:
            fake.put(namespace)
        with pytest.raises(
            ConfigError, match="dojo-lena is no class participant's namespace: turn JupyterHub on"
        ):
            runner.run_in_hub(LAB, "dojo-lena", "lena", timeout=60)
    assert fake.find("ConfigMap", session_name("10-jupyterhub"), "dojo-lena") is None  # nothing started


def test_lab_run_waits_for_the_work_then_grades_once_and_keeps_the_result(tmp_path: Path) -> None:
    fake = FakeKube()
    fake.put(CLASS_NAMESPACE)
    reader = Reader({"model": None, "notebooks": []})
    pauses: list[float] = []

    def pause(seconds: float) -> None:
        pauses.append(seconds)
        if len(pauses) == 2:  # the participant's work arrives during the second pause
            fake.put({**server_pod(), "metadata": {**server_pod()["metadata"], "namespace": "dojo-lena"}})
            fake.put({**home_claim(), "metadata": {**home_claim()["metadata"], "namespace": "dojo-lena"}})
            started = fake.get("ConfigMap", session_name("10-jupyterhub"), "dojo-lena")
            assert started is not None
            reader.examined = found_on_claim(mtime=datetime.now(UTC).timestamp() + 1)
            reader.examined["notebooks"][0]["mtime"] = datetime.now(UTC).timestamp() + 1

    runner = LabRunner(fake, ResultStore(tmp_path / "results"), reader=reader, pause=pause)
    result = runner.run_in_hub(LAB, "dojo-lena", "lena", timeout=600, interval=15)
    assert pauses == [15, 15] and result.score == result.max_score
    assert len(ResultStore(tmp_path / "results").attempts("lena", "10-jupyterhub")) == 1


def test_lab_run_stops_waiting_at_its_time_and_grades_what_is_there(tmp_path: Path) -> None:
    fake = FakeKube()
    fake.put(CLASS_NAMESPACE)
    pauses: list[float] = []
    runner = LabRunner(
        fake, ResultStore(tmp_path), reader=Reader({"model": None, "notebooks": []}), pause=pauses.append
    )
    result = runner.run_in_hub(LAB, "dojo-lena", "lena", timeout=40, interval=15)
    assert pauses == [15, 15] and result.score == 0
    assert {c.id: c.status for c in result.checks}["notebook"] == "failed"


def test_a_lab_worked_in_jupyterhub_names_its_done_check_and_submits_nothing(tmp_path: Path) -> None:
    text = (PROJECT / "labs/10-jupyterhub/lab.yaml").read_text()
    (tmp_path / "labs" / "10-jupyterhub").mkdir(parents=True)
    path = tmp_path / "labs" / "10-jupyterhub" / "lab.yaml"
    for change, message in (
        (("done_when: notebook", "done_when: nothing"), "names one of its checks as done_when"),
        (("kinds: []", "kinds: [Job]"), "submits nothing: kinds: []"),
        (("works_in: jupyterhub", "works_in: cluster"), "done_when is for a lab worked in JupyterHub"),
    ):
        path.write_text(text.replace(*change))
        with pytest.raises(ConfigError, match=re.escape(message)):
            load_definition(path, tmp_path)


def test_a_grader_pod_that_fails_leaves_those_checks_pending_and_the_class_graded(tmp_path: Path) -> None:
    """A participant's claim can make the grader pod fail (too many or too big files for its memory
    or its deadline): their model and notebook checks wait for a later grading, and the class grading
    goes on for everyone else."""
    from kubedojo.classroom.grading import grade_class

    failing = "the reader pod dojo-lena/kubedojo-reader-1 failed: OOMKilled"
    reader = Reader({}, fails=failing)
    snapshot = ClusterSnapshot(
        "dojo-lena", START, {"Pod": [server_pod()], "PersistentVolumeClaim": [home_claim()], "Job": []}
    )
    result = grade(GradingContext(LAB, snapshot, START, reader=reader, images=IMAGES), "lena")
    verdicts = {c.id: (c.status, c.found) for c in result.checks}
    assert verdicts["server"][0] == verdicts["home"][0] == "passed"
    assert verdicts["model"] == ("pending", f"could not be graded now: {failing}")
    assert verdicts["notebook"][0] == "pending"

    fake = FakeKube()
    for name in ("lena", "lars"):
        namespace = f"dojo-{name}"
        fake.put({**CLASS_NAMESPACE, "metadata": {**CLASS_NAMESPACE["metadata"], "name": namespace}})
        fake.put({**home_claim(), "metadata": {**home_claim()["metadata"], "namespace": namespace}})
        LabRunner(fake, ResultStore(tmp_path / "starts")).start(LAB, namespace, name)
    grades = grade_class(
        fake, [LAB], {"lena": "dojo-lena", "lars": "dojo-lars"}, ResultStore(tmp_path / "r"), reader
    )
    assert sorted(r.participant for r in grades.results) == ["lars", "lena"]


def test_a_reader_pod_the_quota_refuses_is_a_grading_that_waits() -> None:
    """A namespace whose quota is full refuses the grader pod: a ClusterError (the check pending),
    not the API error that would end a class's grading."""
    from kubedojo.errors import ApiError
    from kubedojo.labs.reader import VolumeReader

    fake = FakeKube()
    fake.put(CLASS_NAMESPACE)

    def quota(verb: str, body: dict[str, Any]) -> None:
        if verb == "create" and body.get("kind") == "Pod":
            message = 'pods "kubedojo-reader" is forbidden: exceeded quota: kubedojo-quota'
            raise ApiError(message, status=403, reason="Forbidden", server_message=message)

    fake.refuse = quota
    with pytest.raises(ClusterError, match=r"cannot start a reader pod in dojo-lena: pods .* exceeded quota"):
        VolumeReader(fake, "base:1").examine("dojo-lena", claim="claim-lena", script="print(1)")
