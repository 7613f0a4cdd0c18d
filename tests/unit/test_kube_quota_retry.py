"""A write refused because the quota admission lost a race on a ResourceQuota's usage is sent
again: nothing was stored, and many Jobs submitted at once into one quota'd namespace meet it
(the class benchmark's submissions did). Any other conflict is the caller's to see at once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kubedojo.client.kube import QUOTA_RETRIES, KubeClient, quota_conflict
from kubedojo.errors import Conflict

QUOTA = {
    "kind": "Status",
    "status": "Failure",
    "reason": "Conflict",
    "code": 409,
    "message": 'Operation cannot be fulfilled on resourcequotas "kubedojo-quota": the object has been '
    "modified; please apply your changes to the latest version and try again",
}
EXISTS = {
    "kind": "Status",
    "reason": "AlreadyExists",
    "code": 409,
    "message": 'jobs.batch "a" already exists',
}


class _Response:
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status = status
        self.data = json.dumps(body).encode()

    def read(self) -> bytes:
        return self.data


class _Server:
    """Stands in for the official client's ApiClient: answers each call with the next response."""

    def __init__(self, *answers: tuple[int, dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    def param_serialize(self, method: str, path: str, **_: Any) -> tuple[str, str]:
        return method, path

    def call_api(self, method: str, path: str, _request_timeout: Any = None) -> _Response:
        self.calls.append(method)
        return _Response(*self.answers.pop(0))


JOB = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "a"}, "spec": {}}


def test_a_quota_conflict_is_sent_again_until_admitted() -> None:
    server = _Server((409, QUOTA), (409, QUOTA), (200, {**JOB, "status": {}}))
    client = KubeClient(server)
    assert client.apply_one(JOB, "ns")["metadata"]["name"] == "a"
    assert server.calls == ["PATCH"] * 3
    assert client.requests == 3


def test_a_quota_conflict_that_persists_is_raised_after_the_retries() -> None:
    server = _Server(*[(409, QUOTA)] * (QUOTA_RETRIES + 1))
    with pytest.raises(Conflict, match="resourcequotas"):
        KubeClient(server).create(JOB, "ns")
    assert len(server.calls) == QUOTA_RETRIES + 1


def test_other_conflicts_are_raised_at_once() -> None:
    server = _Server((409, EXISTS))
    with pytest.raises(Conflict, match="already exists") as caught:
        KubeClient(server).create(JOB, "ns")
    assert server.calls == ["POST"]
    assert not quota_conflict(caught.value)
