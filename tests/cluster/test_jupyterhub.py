"""JupyterHub for real, as far as it is built: the Zero-to-JupyterHub chart 4.4.0 (``../shared/charts``,
see its PROVENANCE.md) with the project's releases.yaml entry and values, running kubedojo's three
builds from the local registry: the hub (JupyterHub 5.5.0, KubeSpawner 7.0.0 and the idle culler from
PyPI, on Debian's Python with pycurl), the proxy (configurable-http-proxy 4.6.2 from npm, on Debian's
Node.js) and the notebook server (JupyterLab on the lab base). The hub and the proxy become ready, the
proxy carries the node's port 32080 to the hub, which answers as JupyterHub 5.5.0. A class participant
set up before the install logs in with the Jupyter password class.setup gave them (kubedojo's
authenticator, reading the hashes class.setup wrote); a wrong password, another participant's name or
an unknown one is refused. A participant's notebook server starts in their own namespace (kubedojo's
spawner, with the rights class.setup gave the hub there), within their quota and LimitRange, on a home
claim of theirs the server's user (uid 1000) can write; it calls back to the hub across namespaces and
the proxy carries the participant's browser session to it (JupyterHub's OAuth included); stopping it
deletes the pod and keeps the claim. Uninstalling (last) leaves nothing of the release."""

from __future__ import annotations

import json

import pytest

from kubedojo.client.kube import KubeClient
from kubedojo.local.images import CHP_IMAGE, JUPYTERHUB_HUB_IMAGE, JUPYTERHUB_SINGLEUSER_IMAGE
from kubedojo.local.provider import LocalCluster
from kubedojo.quantity import parse_quantity
from kubedojo.versions import JUPYTERHUB_VERSION

from .conftest import HubClass
from .hub import hub_get, hub_login, start_server, stop_server

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("addon_images")]


def test_the_hub_runs_kubedojos_builds_behind_the_proxy_and_lets_in_only_participants(
    jupyterhub: HubClass, cluster: LocalCluster, admin: KubeClient
) -> None:
    password = jupyterhub.passwords
    running = {
        c["image"]
        for name in ("hub", "proxy")
        for c in admin.get("Deployment", name, "jupyterhub")["spec"]["template"]["spec"]["containers"]
    }
    assert running == {JUPYTERHUB_HUB_IMAGE.ref(cluster.registry), CHP_IMAGE.ref(cluster.registry)}
    status, body = hub_get("/hub/api")
    assert status == 200 and json.loads(body)["version"] == JUPYTERHUB_VERSION, (status, body)
    assert hub_get("/hub/health")[0] == 200
    assert hub_get("/hub/api/users")[0] == 403  # the API wants a token
    status, where, session = hub_login("ann", password["ann"])
    assert status == 302 and not where.endswith("/hub/login"), (status, where)
    status, home = session.request("GET", "/hub/home")
    assert status == 200 and "ann" in home
    for name, guess in (("ann", password["bob"]), ("bob", password["bob"] + "x"), ("eve", password["ann"])):
        status, where, _ = hub_login(name, guess)
        assert status == 403, (name, status, where)


def test_a_participants_server_runs_in_their_namespace_within_their_quota(
    jupyterhub: HubClass, cluster: LocalCluster, admin: KubeClient
) -> None:
    namespace = jupyterhub.namespace("ann")
    _, _, session = hub_login("ann", jupyterhub.passwords["ann"])
    server = start_server(session)
    try:
        assert server["url"] == "/user/ann/"
        (pod,) = admin.pods(namespace, label_selector="component=singleuser-server")
        assert pod["metadata"]["name"] == "jupyter-ann"
        assert admin.pods("jupyterhub", label_selector="component=singleuser-server") == []
        (container,) = pod["spec"]["containers"]
        assert container["image"] == JUPYTERHUB_SINGLEUSER_IMAGE.ref(cluster.registry)
        limits, requests = container["resources"]["limits"], container["resources"]["requests"]
        # KubeSpawner reads the chart's 1G and 512M as binary units
        assert parse_quantity(limits["memory"]) == 2**30 and parse_quantity(requests["memory"]) == 512 * 2**20
        assert container["securityContext"]["runAsUser"] == 1000
        # Its home is the participant's own claim, out of their storage quota.
        claim = admin.get("PersistentVolumeClaim", "claim-ann", namespace)
        assert (
            claim["status"]["phase"] == "Bound" and claim["spec"]["resources"]["requests"]["storage"] == "1Gi"
        )
        quota = admin.get("ResourceQuota", "kubedojo-quota", namespace)["status"]["used"]
        assert parse_quantity(quota["requests.storage"]) >= 2**30 and quota["pods"] == "1"

        # Through the proxy, with the participant's session: JupyterHub's OAuth between the server and
        # the hub (the server calling the hub across namespaces) on the way to JupyterLab's page, which
        # gives the browser the server's _xsrf cookie (JupyterHub wants it with cookie-authenticated API
        # requests); then the server's own API. Its user writes its home (the claim the local class
        # makes for root).
        status, page = session.request("GET", "/user/ann/lab", follow=True, timeout=60)
        assert status == 200 and "JupyterLab" in page, (status, page[:300])
        status, body = session.request("GET", "/user/ann/api/status")
        assert status == 200 and "started" in json.loads(body), (status, body[:300])
        note = {"type": "file", "format": "text", "content": "hello"}
        status, body = session.request("PUT", "/user/ann/api/contents/note.txt", follow=True, body=note)
        assert status == 201, (status, body[:300])
        # Another participant's session cannot get in.
        _, _, bob = hub_login("bob", jupyterhub.passwords["bob"])
        status, _ = bob.request("GET", "/user/ann/api/status", follow=True, timeout=60)
        assert status in (403, 404), status
    finally:
        stop_server(session)
    admin.wait_deleted("Pod", "jupyter-ann", namespace, 60)
    assert admin.find("PersistentVolumeClaim", "claim-ann", namespace) is not None  # the home stays


@pytest.mark.uninstalls
def test_uninstalling_leaves_nothing_of_the_release(jupyterhub: HubClass, admin: KubeClient) -> None:
    """Last of JupyterHub's tests: the release goes, then the class takes its passwords back."""
    (removed,) = jupyterhub.addons.uninstall(["jupyterhub"])
    assert removed.action == "uninstalled", removed
    admin.wait_deleted("Deployment", "hub", "jupyterhub", 60)
    assert admin.find("Deployment", "proxy", "jupyterhub") is None
    jupyterhub.room.teardown(timeout=180)
    assert admin.find("Secret", "kubedojo-jupyter-users", "jupyterhub") is None
    assert all(admin.find("Namespace", jupyterhub.namespace(n)) is None for n in jupyterhub.passwords)
