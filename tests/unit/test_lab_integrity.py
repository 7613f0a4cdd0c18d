"""Credit only for the real run (issue 12, section 1): each way a participant can fake the lab's work
from their own pod is recognised, and the reference runs and their equivalents are not."""

from __future__ import annotations

import copy
import io
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kubedojo.client.registry import RegistryClient
from kubedojo.errors import RegistryError
from kubedojo.labs.catalog import Catalog
from kubedojo.labs.grading import GradingContext, grade
from kubedojo.labs.images import RegistryDigests
from kubedojo.labs.integrity import LabImages, image_digest, run_problem
from kubedojo.labs.snapshot import ClusterSnapshot

PROJECT = Path(__file__).resolve().parents[2]
CATALOG = Catalog(PROJECT)
DIGEST = "ab" * 32
IMAGES = LabImages({"lab-01-run-job": frozenset({DIGEST})})
IMAGE = "127.0.0.1:5000/kubedojo/lab-01-run-job:v1"
SCRIPTS = ("train.py",)


def container(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "train",
        "image": IMAGE,
        "command": ["python", "train.py"],
        "args": ["5", "relu", "0.0001"],
    }
    base.update(changes)
    return base


def pod(main: dict[str, Any], image_id: str | None = None, **spec: Any) -> dict[str, Any]:
    image_id = f"127.0.0.1:5000/kubedojo/lab-01-run-job@sha256:{DIGEST}" if image_id is None else image_id
    status = {"name": main["name"], "imageID": image_id, "state": {"terminated": {"exitCode": 0}}}
    return {
        "kind": "Pod",
        "metadata": {"name": "p"},
        "spec": {"containers": [main], **spec},
        "status": {"containerStatuses": [status]},
    }


def problem(main: dict[str, Any], maps: dict[str, Any] | None = None, **kwargs: Any) -> str | None:
    found = run_problem(pod(main, **kwargs), main, SCRIPTS, IMAGES, maps)
    return None if found is None else found.reason


@pytest.mark.parametrize(
    "same",
    [
        {},
        {"command": ["python", "-u", "train.py"]},
        {"command": ["python3"], "args": ["-u", "train.py", "5", "relu", "0.0001"]},
        {"command": ["/usr/bin/python3", "/workspace/train.py"]},
        {"command": ["python", "./train.py"], "workingDir": "/workspace"},
        {"command": ["sh", "-c", "python -u train.py 5 relu 0.0001"], "args": []},
        {"command": [], "args": []},  # the image's own command
        {"volumeMounts": [{"name": "m", "mountPath": "/model_storage"}]},
        {"volumeMounts": [{"name": "hp", "mountPath": "/workspace/exp.yaml", "subPath": "exp.yaml"}]},
        {"volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}]},
        {"env": [{"name": "PYTHONUNBUFFERED", "value": "1"}, {"name": "EPOCHS", "value": "5"}]},
        {"envFrom": [{"configMapRef": {"name": "hp"}}]},
        {"envFrom": [{"secretRef": {"name": "s"}, "prefix": "HP_"}]},
        {"livenessProbe": {"tcpSocket": {"port": 80}}},
        {"terminationMessagePath": "/dev/termination-log"},
    ],
)
def test_the_lab_code_run_in_equivalent_ways_counts(same: dict[str, Any]) -> None:
    maps = {"hp": {"data": {"EPOCHS": "5", "ACTIVATION": "relu"}}}
    assert problem(container(**same), maps) is None


@pytest.mark.parametrize(
    ("faked", "reason"),
    [
        # a command that prints the expected line, another program, or more on the shell line
        ({"command": ["sh", "-c", "echo 'Test accuracy: 0.99'"], "args": []}, "not train.py"),
        ({"command": ["sleep", "30"], "args": []}, "not train.py"),
        ({"command": ["python", "-c", "print('Test accuracy: 0.99')"], "args": []}, "not train.py"),
        (
            {
                "command": ["sh", "-c", "python train.py 5 relu 0.0001; echo 'Test accuracy: 0.99'"],
                "args": [],
            },
            "shell line",
        ),
        (
            {"command": ["sh", "-c", "PYTHONPATH=/x python train.py 5 relu 0.0001"], "args": []},
            "not train.py",
        ),
        # the real command, the code replaced
        ({"command": ["python", "/data/train.py"]}, "not the image's /workspace/train.py"),
        ({"workingDir": "/data"}, "not the image's"),
        ({"command": ["/data/python", "train.py"]}, "python is run from /data/python"),
        ({"volumeMounts": [{"name": "c", "mountPath": "/workspace"}]}, "over /workspace"),
        ({"volumeMounts": [{"name": "c", "mountPath": "/workspace/"}]}, "over /workspace"),
        ({"volumeMounts": [{"name": "c", "mountPath": "/"}]}, "over /workspace"),
        ({"volumeMounts": [{"name": "c", "mountPath": "/workspace/train.py", "subPath": "t"}]}, "import"),
        ({"volumeMounts": [{"name": "c", "mountPath": "/workspace/sklearn"}]}, "import"),
        ({"volumeMounts": [{"name": "c", "mountPath": "/workspace/__pycache__"}]}, "import"),
        ({"volumeMounts": [{"name": "c", "mountPath": "/usr/lib/python3"}]}, "over /usr"),
        ({"volumeMounts": [{"name": "c", "mountPath": "/etc/python3.11"}]}, "over /etc"),
        ({"volumeMounts": [{"name": "c", "mountPath": "/root/.local"}]}, "over /root"),
        ({"env": [{"name": "PYTHONPATH", "value": "/data"}]}, "PYTHONPATH"),
        ({"env": [{"name": "LD_PRELOAD", "value": "/data/x.so"}]}, "LD_PRELOAD"),
        ({"env": [{"name": "HOME", "value": "/data"}]}, "HOME"),
        ({"envFrom": [{"configMapRef": {"name": "evil"}}]}, "PYTHONSTARTUP"),
        ({"envFrom": [{"configMapRef": {"name": "missing"}}]}, "cannot check"),
        ({"envFrom": [{"secretRef": {"name": "s"}}]}, "a Secret"),
        ({"envFrom": [{"configMapRef": {"name": "evil"}, "prefix": "PYTHON"}]}, "PYTHON"),
        # someone else acting inside the container
        ({"lifecycle": {"postStart": {"exec": {"command": ["sh", "-c", "x"]}}}}, "postStart"),
        ({"readinessProbe": {"exec": {"command": ["sh", "-c", "x"]}}}, "readinessProbe"),
        ({"terminationMessagePath": "/tmp/result"}, "terminationMessagePath"),
        # another image with the same command
        ({"image": "127.0.0.1:5000/kubedojo/base:bookworm-py3-3"}, "not one of the lab's"),
    ],
)
def test_each_fake_is_named(faked: dict[str, Any], reason: str) -> None:
    maps = {"evil": {"data": {"PYTHONSTARTUP": "/data/x.py", "STARTUP": "x"}}}
    found = problem(container(**faked), maps)
    assert found is not None and reason in found, found


def test_the_image_digest_must_be_the_lab_images() -> None:
    other = "127.0.0.1:5000/kubedojo/lab-01-run-job@sha256:" + "cd" * 32
    assert "not the lab's lab-01-run-job" in str(problem(container(), image_id=other))
    assert "no image digest" in str(problem(container(), image_id=""))  # a simulated node
    assert problem(container(), image_id=f"sha256:{DIGEST}") is None  # an image ID, not a repo digest
    unknown = LabImages({"lab-01-run-job": frozenset()}, "registry 127.0.0.1:5000 cannot be reached")
    found = run_problem(pod(container()), container(), SCRIPTS, unknown)
    assert found is not None and "cannot be reached" in found.reason and found.cause == "unverified"
    # A fake is still named where the digest cannot be read.
    echo = container(command=["sh", "-c", "echo hi"], args=[])
    faked = run_problem(pod(echo), echo, SCRIPTS, unknown)
    assert faked is not None and faked.cause == "not-the-lab-code"
    assert image_digest(f"x@sha256:{DIGEST}") == DIGEST and image_digest("sha256:12") is None


def test_a_shared_process_namespace_or_a_debug_container_is_someone_else_inside() -> None:
    main = container()
    assert "shareProcessNamespace" in str(
        run_problem(pod(main, shareProcessNamespace=True), main, SCRIPTS, IMAGES)
    )
    debug = pod(main, ephemeralContainers=[{"name": "debug", "image": "x"}])
    assert "ephemeral" in str(run_problem(debug, main, SCRIPTS, IMAGES))


# -- through grading: no credit for the faked part ----------------------------------------------------

START = datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC)


def ts(seconds: int) -> str:
    return (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def graded(main: dict[str, Any], log: str, image_id: str | None = None) -> dict[str, str]:
    lab = CATALOG.get("01-run-job")
    job = {
        "kind": "Job",
        "metadata": {"name": "handson-01", "uid": "j", "creationTimestamp": ts(5)},
        "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [main]}}},
        "status": {"conditions": [{"type": "Complete", "status": "True"}]},
    }
    the_pod = copy.deepcopy(pod(main, image_id))
    the_pod["metadata"].update(
        uid="p", creationTimestamp=ts(6), ownerReferences=[{"kind": "Job", "uid": "j", "controller": True}]
    )
    snapshot = ClusterSnapshot("ns", START + timedelta(minutes=5), {"Job": [job], "Pod": [the_pod]})
    snapshot._logs[("p", "train", False)] = log
    ctx = GradingContext(lab, snapshot, START, images=LabImages({"lab-01-run-job": frozenset({DIGEST})}))
    return {c.id: c.status for c in grade(ctx, "me").checks if c.phase == "runtime"}


LOG = "Epoch 5/5 - loss: 0.1\nTest loss: 0.2\nTest accuracy: 0.9600\n"


def test_the_real_run_earns_the_runtime_checks() -> None:
    assert set(graded(container(), LOG).values()) == {"passed"}


@pytest.mark.parametrize(
    "faked",
    [
        container(command=["sh", "-c", "echo 'Epoch 5/5 x'; echo 'Test accuracy: 0.99'"], args=[]),
        container(volumeMounts=[{"name": "code", "mountPath": "/workspace"}]),
        container(image="127.0.0.1:5000/kubedojo/base:bookworm-py3-3"),
    ],
)
def test_a_faked_run_earns_no_runtime_check(faked: dict[str, Any]) -> None:
    assert set(graded(faked, LOG).values()) == {"failed"}


def test_a_run_on_a_simulated_node_earns_nothing() -> None:
    assert set(graded(container(), LOG, image_id="").values()) == {"failed"}


# -- the registry's digests ---------------------------------------------------------------------------


class Answer(io.BytesIO):
    def __init__(self, body: bytes, headers: dict[str, str]) -> None:
        super().__init__(body)
        self.headers = headers


def opener(status: int = 200, header: str = "") -> Any:
    def open_(request: urllib.request.Request, timeout: float) -> Answer:
        if status == 404:
            raise urllib.error.HTTPError(request.full_url, 404, "Not Found", {}, None)  # type: ignore[arg-type]
        if status == 0:
            raise urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))
        body = b'{"config": {"digest": "sha256:' + b"c" * 64 + b'"}}'
        return Answer(body, {"Docker-Content-Digest": header} if header else {})

    return open_


def test_registry_digests_of_a_tag() -> None:
    found = RegistryClient("r:5000", opener=opener(header=f"sha256:{DIGEST}")).digests("kubedojo/x", "v1")
    assert found is not None and found.all() == {DIGEST, "c" * 64}
    hashed = RegistryClient("r:5000", opener=opener()).digests("kubedojo/x", "v1")
    assert hashed is not None and len(hashed.manifest) == 64  # the body's SHA-256 without the header
    assert RegistryClient("r:5000", opener=opener(404)).digests("kubedojo/x", "v1") is None
    with pytest.raises(RegistryError, match="r:5000 cannot be reached"):
        RegistryClient("r:5000", opener=opener(0)).digests("kubedojo/x", "v1")


def test_an_unreadable_registry_fails_closed() -> None:
    lab = CATALOG.get("01-run-job")
    images = RegistryDigests(RegistryClient("r:5000", opener=opener(0)))(lab)
    assert images.unknown and "cannot be reached" in images.unknown
    missing = RegistryDigests(RegistryClient("r:5000", opener=opener(404)))(lab)
    assert missing.unknown and "has no kubedojo/lab-01-run-job:v1" in missing.unknown
    found = RegistryDigests(RegistryClient("r:5000", opener=opener(header=f"sha256:{DIGEST}")))(lab)
    assert found.unknown is None and DIGEST in found.digests["lab-01-run-job"]


def test_where_the_registry_cannot_be_read_the_work_is_pending_not_failed() -> None:
    lab = CATALOG.get("01-run-job")
    main = container()
    job = {
        "kind": "Job",
        "metadata": {"name": "handson-01", "uid": "j", "creationTimestamp": ts(5)},
        "spec": {"backoffLimit": 0, "template": {"spec": {"restartPolicy": "Never", "containers": [main]}}},
        "status": {"conditions": [{"type": "Complete", "status": "True"}]},
    }
    the_pod = copy.deepcopy(pod(main))
    the_pod["metadata"].update(
        uid="p", creationTimestamp=ts(6), ownerReferences=[{"kind": "Job", "uid": "j", "controller": True}]
    )
    snapshot = ClusterSnapshot("ns", START + timedelta(minutes=5), {"Job": [job], "Pod": [the_pod]})
    snapshot._logs[("p", "train", False)] = LOG
    unknown = LabImages({"lab-01-run-job": frozenset()}, "registry r:5000 cannot be reached: refused")
    result = grade(GradingContext(lab, snapshot, START, images=unknown), "me")
    runtime = {c.id: (c.status, c.earned) for c in result.checks if c.phase == "runtime"}
    assert set(runtime.values()) == {("pending", 0)}
