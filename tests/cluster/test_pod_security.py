"""A participant cannot escape their namespace through their pods (issue 13): with a participant's own
credentials, every pod that would reach the node — privileged, a hostPath volume, the node's network
or process namespace, added capabilities — is refused by the API server with its reason, while an
ordinary pod is admitted; lab.run labels a namespace it finds without the standard; and the start
records a participant can write cannot move their start earlier."""

from __future__ import annotations

import time
from typing import Any

import pytest

from kubedojo.client.kube import KubeClient
from kubedojo.errors import Forbidden
from kubedojo.labels import POD_SECURITY
from kubedojo.labs.session import ensure_namespace, read_start, record_start, session_name

from .helpers import once_authorized

pytestmark = pytest.mark.cluster


def pod(**spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "main",
        "image": "127.0.0.1:5000/kubedojo/base:any",
        "command": ["true"],
    }
    container.update(spec.pop("container", {}))
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "probe"},
        "spec": {"restartPolicy": "Never", "containers": [container], **spec},
    }


ESCAPES = {
    "privileged": (pod(container={"securityContext": {"privileged": True}}), "privileged"),
    "host-path": (
        pod(
            container={"volumeMounts": [{"name": "root", "mountPath": "/host"}]},
            volumes=[{"name": "root", "hostPath": {"path": "/"}}],
        ),
        "hostPath",
    ),
    "host-network": (pod(hostNetwork=True), "host namespaces"),
    "host-pid": (pod(hostPID=True), "host namespaces"),
    "capabilities": (
        pod(container={"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}),
        "capabilities",
    ),
}


def test_an_ordinary_pod_is_admitted(participant: KubeClient, namespace: str) -> None:
    # Created in a dry run: admitted (Pod Security included) but not stored, so nothing runs.
    stored = once_authorized(lambda: participant.create(pod(), namespace, dry_run=True))
    assert stored["metadata"]["name"] == "probe"


@pytest.mark.parametrize("escape", sorted(ESCAPES))
def test_a_pod_that_reaches_the_node_is_refused(participant: KubeClient, namespace: str, escape: str) -> None:
    body, field = ESCAPES[escape]
    with pytest.raises(Forbidden) as refused:
        once_authorized(lambda: participant.create(body, namespace))
    message = refused.value.server_message
    assert 'violates PodSecurity "baseline:latest"' in message and field in message, message
    assert participant.pods(namespace) == []


def test_lab_run_puts_the_standard_on_a_namespace_without_it(admin: KubeClient, namespace: str) -> None:
    bare = f"{namespace}-bare"
    admin.create(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": bare, "labels": {"kubedojo.dev/test": "true"}},
        }
    )
    try:
        ensure_namespace(admin, bare, "tester")
        labels = admin.get("Namespace", bare)["metadata"]["labels"]
        assert {k: labels.get(k) for k in POD_SECURITY} == POD_SECURITY
        assert labels["kubedojo.dev/test"] == "true"  # the other labels stay
        with pytest.raises(Forbidden, match="violates PodSecurity"):
            admin.create(ESCAPES["privileged"][0], bare)
    finally:
        admin.delete("Namespace", bare)
        admin.wait_deleted("Namespace", bare, None, 120)


def test_a_participant_cannot_move_a_labs_start_earlier(
    participant: KubeClient, admin: KubeClient, namespace: str
) -> None:
    """The start is the start record's creationTimestamp: rewriting its data changes nothing, and
    making it again only moves the start later."""
    started = record_start(admin, namespace, "01-run-job")
    record = once_authorized(lambda: participant.get("ConfigMap", session_name("01-run-job"), namespace))
    forged = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": session_name("01-run-job")},
        "data": {**record["data"], "startedAt": "2020-01-01T00:00:00Z"},
    }
    participant.apply_one(forged, namespace)
    assert participant.get("ConfigMap", session_name("01-run-job"), namespace)["data"][
        "startedAt"
    ].startswith("2020")
    assert read_start(admin, namespace, "01-run-job") == started
    time.sleep(1.1)
    participant.delete("ConfigMap", session_name("01-run-job"), namespace)
    participant.create(forged, namespace)
    later = read_start(admin, namespace, "01-run-job")
    assert later is not None and later > started
