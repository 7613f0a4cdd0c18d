"""RBAC is on: an identity without a RoleBinding is denied, and the same identity with one is not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kubedojo.client.kube import KubeClient, api_exception
from kubedojo.local.provider import LocalCluster


@pytest.fixture
def stranger(cluster: LocalCluster, admin: KubeClient, namespace: str) -> Iterator[KubeClient]:
    """A ServiceAccount with a real token and no RoleBinding."""
    admin.core.create_namespaced_service_account(namespace, {"metadata": {"name": "stranger"}})
    token = admin.core.create_namespaced_service_account_token(
        "stranger", namespace, {"spec": {"expirationSeconds": 600}}
    ).status.token
    client = KubeClient.from_token(cluster.layout.api_url, cluster.state.pki / "ca.crt", token)
    yield client
    client.close()


def test_identity_without_rolebinding_is_denied(
    admin: KubeClient, stranger: KubeClient, namespace: str
) -> None:
    with pytest.raises(api_exception()) as denied:
        stranger.core.list_namespaced_pod(namespace)
    assert denied.value.status == 403  # type: ignore[attr-defined]
    assert f"system:serviceaccount:{namespace}:stranger" in denied.value.body  # type: ignore[attr-defined]
    with pytest.raises(api_exception()) as secrets:
        stranger.core.list_secret_for_all_namespaces()
    assert secrets.value.status == 403  # type: ignore[attr-defined]

    # The control: with a RoleBinding to the built-in "view" role the same token may list pods.
    admin.rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "stranger-view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "stranger", "namespace": namespace}],
        },
    )
    assert stranger.core.list_namespaced_pod(namespace).items == []
