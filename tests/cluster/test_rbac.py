"""RBAC is on: an identity without a RoleBinding is denied, and the same identity with one is not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kubedojo.client.kube import KubeClient
from kubedojo.errors import Forbidden
from kubedojo.local.provider import LocalCluster

from .helpers import once_authorized


@pytest.fixture
def stranger(cluster: LocalCluster, admin: KubeClient, namespace: str) -> Iterator[KubeClient]:
    """A ServiceAccount with a real token and no RoleBinding."""
    admin.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "stranger"}}, namespace)
    token = admin.request_token(namespace, "stranger", 600)
    client = KubeClient.from_token(cluster.layout.api_url, cluster.state.pki / "ca.crt", token)
    yield client
    client.close()


def test_identity_without_rolebinding_is_denied(
    admin: KubeClient, stranger: KubeClient, namespace: str
) -> None:
    with pytest.raises(Forbidden) as denied:
        stranger.pods(namespace)
    assert denied.value.status == 403
    assert f"system:serviceaccount:{namespace}:stranger" in denied.value.server_message
    with pytest.raises(Forbidden) as secrets:
        stranger.list("Secret")  # in every namespace
    assert secrets.value.status == 403

    # The control: with a RoleBinding to the built-in "view" role the same token may list pods.
    admin.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "stranger-view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "stranger", "namespace": namespace}],
        },
        namespace,
    )
    assert once_authorized(lambda: stranger.pods(namespace)) == []
