"""The client boundary: only kubedojo/client talks to the official client; its refusals map to one
error tree; the one watch loop lists, watches, re-lists on 410 Gone and ends at its deadline."""

from __future__ import annotations

import ast
import threading
import time
from pathlib import Path

import pytest

from kubedojo.client.fake import FakeKube
from kubedojo.client.kube import KubeClient, api_error
from kubedojo.errors import ApiError, Conflict, Forbidden, Gone, Invalid, NotFound, Unreachable, WaitTimeout

PACKAGE = Path(__file__).resolve().parents[2] / "kubedojo"
NS = "ns"


def test_only_the_client_layer_imports_the_official_client() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.is_relative_to(PACKAGE / "client"):
            continue
        if path.is_relative_to(PACKAGE / "addons" / "assets"):
            continue  # programs kubedojo mounts into an add-on (JupyterHub's hub), run there
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Name | ast.Attribute):
                names = (
                    ["ApiException"]
                    if getattr(node, "id", getattr(node, "attr", "")) == "ApiException"
                    else []
                )
            bad = [
                n
                for n in names
                if n == "ApiException"
                or (n.startswith("kubernetes") and not n.startswith("kubernetes.utils"))
            ]
            offenders += [f"{path.relative_to(PACKAGE)}:{node.lineno}: {n}" for n in bad]  # type: ignore[attr-defined]
    assert offenders == []


@pytest.mark.parametrize(
    ("status", "cls"),
    [(403, Forbidden), (404, NotFound), (409, Conflict), (410, Gone), (422, Invalid), (500, ApiError)],
)
def test_refusals_map_to_one_error_tree(status: int, cls: type[ApiError]) -> None:
    body = b'{"kind": "Status", "message": "jobs.batch \\"x\\" is bad\\nsecond line", "reason": "Why"}'
    error = api_error("create Job ns/x", status, body)
    assert type(error) is cls
    assert str(error) == 'create Job ns/x: jobs.batch "x" is bad'
    assert error.server_message == 'jobs.batch "x" is bad'
    assert (error.status, error.reason) == (status, "Why")


def test_invalid_carries_the_servers_field_causes() -> None:
    body = (
        b'{"message": "Job.batch \\"x\\" is invalid", "reason": "Invalid", "details": {"causes": '
        b'[{"field": "spec.backoffLimit", "message": "must be >= 0"}]}}'
    )
    error = api_error("apply Job ns/x", 422, body)
    assert isinstance(error, Invalid)
    assert error.causes == (("spec.backoffLimit", "must be >= 0"),)


def test_a_body_that_is_not_a_status_still_gives_one_line() -> None:
    error = api_error("get Pod ns/p", 503, b"<html>\nupstream down</html>")
    assert str(error) == "get Pod ns/p: <html>" and error.status == 503


def test_no_answer_is_unreachable_with_the_socket_reason(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text("")
    client = KubeClient.from_token("http://127.0.0.1:9", tmp_path / "ca.crt", "token")
    client.api_client.configuration.retries = 0
    try:
        with pytest.raises(Unreachable) as info:
            client.list("Pod", NS)
    finally:
        client.close()
    assert info.value.reason == "[Errno 111] Connection refused"
    assert str(info.value) == "list Pod in ns: http://127.0.0.1:9: [Errno 111] Connection refused"


def pod(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS}}


@pytest.fixture
def fake() -> FakeKube:
    fake = FakeKube()
    fake.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    return fake


def later(seconds: float, action: object) -> None:
    threading.Timer(seconds, action).start()  # type: ignore[arg-type]


def test_watch_lists_first_then_streams_changes(fake: FakeKube) -> None:
    fake.create(pod("a"))
    later(0.1, lambda: fake.create(pod("b")))
    later(0.2, lambda: fake.delete("Pod", "a", NS))
    seen = []
    for event in fake.watch("Pod", NS, timeout=5):
        seen.append((event.type, [o["metadata"]["name"] for o in event.objects]))
        if event.type == "DELETED":
            break
    assert seen == [("LISTED", ["a"]), ("ADDED", ["b"]), ("DELETED", ["a"])]


def test_watch_lists_again_when_its_version_is_gone(fake: FakeKube) -> None:
    fake.create(pod("a"))
    events = fake.watch("Pod", NS, timeout=5)
    assert next(events).type == "LISTED"
    fake.compact()  # the server forgot the history: the watch answers 410 Gone
    fake.create(pod("b"))
    relisted = next(events)
    assert relisted.type == "LISTED"
    assert sorted(o["metadata"]["name"] for o in relisted.objects) == ["a", "b"]


def test_watch_ends_at_its_deadline(fake: FakeKube) -> None:
    began = time.monotonic()
    assert [e.type for e in fake.watch("Pod", NS, timeout=0.3)] == ["LISTED"]
    assert 0.3 <= time.monotonic() - began < 2


def test_wait_for_returns_the_object_once_it_matches(fake: FakeKube) -> None:
    fake.create(pod("p"))
    later(0.1, lambda: fake.put({**pod("p"), "status": {"phase": "Running"}}))
    found = fake.wait_for(
        "pod p to run", "Pod", lambda p: (p.get("status") or {}).get("phase") == "Running", 5, NS, name="p"
    )
    assert found["status"]["phase"] == "Running"


def test_a_wait_that_runs_out_names_what_and_the_timeout(fake: FakeKube) -> None:
    with pytest.raises(WaitTimeout, match=r"^timed out after 0\.2 s waiting for pod q to run$"):
        fake.wait_for("pod q to run", "Pod", lambda p: True, 0.2, NS, name="q")


def test_wait_deleted(fake: FakeKube) -> None:
    fake.wait_deleted("Pod", "never-was", NS, 1)  # gone already: returns at once
    fake.create(pod("p"))
    later(0.1, lambda: fake.delete("Pod", "p", NS))
    fake.wait_deleted("Pod", "p", NS, 5)
    assert fake.find("Pod", "p", NS) is None


def test_custom_kinds_are_generic(fake: FakeKube) -> None:
    from kubedojo.client.kinds import KindInfo

    fake.add_kind(KindInfo("Workflow", "argoproj.io/v1alpha1", "workflows", True))
    wf = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "hello-"}}
    created = fake.create(wf, NS)
    assert created["metadata"]["name"].startswith("hello-")
    assert [w["metadata"]["name"] for w in fake.list("Workflow", NS, api_version="argoproj.io/v1alpha1")] == [
        created["metadata"]["name"]
    ]
    with pytest.raises(NotFound):
        fake.list("Workflow", NS, api_version="argoproj.io/v1")
    assert fake.delete("Workflow", created["metadata"]["name"], NS) is True


def test_a_broken_kubeconfig_is_one_line_naming_the_file(tmp_path: Path) -> None:
    from kubedojo.errors import ConfigError

    path = tmp_path / "kc"
    path.write_text("clusters: [\n")
    with pytest.raises(ConfigError) as info:
        KubeClient.from_kubeconfig(path)
    assert str(info.value) == f"{path}: not a usable kubeconfig: while parsing a flow node"
