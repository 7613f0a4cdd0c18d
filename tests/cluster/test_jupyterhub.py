"""JupyterHub for real, as far as it is built: the Zero-to-JupyterHub chart 4.4.0 (``../shared/charts``,
see its PROVENANCE.md) with the project's releases.yaml entry and values, running kubedojo's three
builds from the local registry: the hub (JupyterHub 5.5.0, KubeSpawner 7.0.0 and the idle culler from
PyPI, on Debian's Python with pycurl), the proxy (configurable-http-proxy 4.6.2 from npm, on Debian's
Node.js) and the notebook server (JupyterLab on the lab base). The hub and the proxy become ready, the
proxy carries the node's port 32080 to the hub, which answers as JupyterHub 5.5.0. A class participant
set up before the install logs in with the Jupyter password class.setup gave them (kubedojo's
authenticator, reading the hashes class.setup wrote); a wrong password, another participant's name or
an unknown one is refused. The notebook server's image runs as the chart runs it (uid 1000, which the
image does not know) with the lab base's scikit-learn; uninstalling leaves nothing. Spawning the
participants' servers into their namespaces and lab 10 are not built yet."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from kubedojo.addons import addons_environment
from kubedojo.addons.releases import load_releases
from kubedojo.classroom import Classroom, Participant
from kubedojo.client.kube import KubeClient
from kubedojo.config import parse_config
from kubedojo.local.images import CHP_IMAGE, JUPYTERHUB_HUB_IMAGE, JUPYTERHUB_SINGLEUSER_IMAGE
from kubedojo.local.provider import LocalCluster
from kubedojo.target import resolve_target
from kubedojo.versions import JUPYTERHUB_VERSION

from .conftest import STATE_DIR
from .realcharts import REPO, shipped_releases

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("addon_images")]

HUB_URL = "http://10.244.0.1:32080"
"""The proxy's NodePort on the node's address (kube-proxy's nodePortAddresses)."""


def _get(path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(HUB_URL + path, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _login(name: str, password: str) -> tuple[int, str, urllib.request.OpenerDirector]:
    """JupyterHub's login form, as a browser fills it in (its _xsrf token and cookie): the answer's
    status and where it sends the browser; and the opener, with the session's cookies."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
    )
    with opener.open(HUB_URL + "/hub/login", timeout=20) as page:
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.read().decode())
    assert xsrf is not None, "no _xsrf field in the login form"
    form = urllib.parse.urlencode({"username": name, "password": password, "_xsrf": xsrf.group(1)}).encode()
    try:
        with opener.open(HUB_URL + "/hub/login", form, timeout=30) as answer:
            return answer.status, answer.headers.get("Location") or "", opener
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location") or "", opener


def test_the_hub_runs_kubedojos_builds_behind_the_proxy_and_lets_in_only_participants(
    cluster: LocalCluster, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    # Two participants of a class with JupyterHub, set up before the hub starts.
    room = Classroom(
        admin,
        parse_config({}).classroom,
        cluster.kubeconfig_path,
        tmp_path / "class",
        "kdt-jh-",
        "kdt-jh",
        addons=load_releases(REPO / "charts" / "releases.yaml").releases,
        jupyter_namespace="jupyterhub",
    )
    report = room.setup([Participant("ann"), Participant("bob")], "JupyterHub")
    password = {n: Path(p).read_text().strip() for n, p in report.jupyter_passwords.items()}
    releases = shipped_releases(["jupyterhub"], tmp_path)
    images = (JUPYTERHUB_HUB_IMAGE, CHP_IMAGE, JUPYTERHUB_SINGLEUSER_IMAGE)
    cluster.ensure_addon_images([i.name for i in images])
    config = parse_config({"local": {"state_dir": STATE_DIR}, "charts": {"optional": ["jupyterhub"]}})
    with addons_environment(config, resolve_target(config, REPO), releases=str(releases)) as addons:
        try:
            (result,) = addons.install(["jupyterhub"])
            assert result.action == "installed", result
            running = {
                c["image"]
                for name in ("hub", "proxy")
                for c in admin.get("Deployment", name, "jupyterhub")["spec"]["template"]["spec"]["containers"]
            }
            assert running == {JUPYTERHUB_HUB_IMAGE.ref(cluster.registry), CHP_IMAGE.ref(cluster.registry)}
            status, body = _get("/hub/api")
            assert status == 200 and json.loads(body)["version"] == JUPYTERHUB_VERSION, (status, body)
            status, body = _get("/hub/health")
            assert status == 200, (status, body)
            assert _get("/hub/api/users")[0] == 403  # the API wants a token
            status, where, session = _login("ann", password["ann"])
            assert status == 302 and not where.endswith("/hub/login"), (status, where)
            with session.open(HUB_URL + "/hub/home", timeout=20) as home:
                assert home.status == 200 and "ann" in home.read().decode()
            for name, guess in (
                ("ann", password["bob"]),
                ("bob", password["bob"] + "x"),
                ("eve", password["ann"]),
            ):
                status, where, _ = _login(name, guess)
                assert status == 403, (name, status, where)

            # The notebook server's image, as the chart's spawner runs it: uid 1000, group 100.
            job = {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "singleuser-image"},
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "securityContext": {"runAsUser": 1000, "runAsGroup": 100, "fsGroup": 100},
                            "containers": [
                                {
                                    "name": "notebook",
                                    "image": JUPYTERHUB_SINGLEUSER_IMAGE.ref(cluster.registry),
                                    "command": [
                                        "sh",
                                        "-c",
                                        "jupyterhub-singleuser --version && jupyter-lab --version && "
                                        "python3 -c 'import sklearn; print(\"sklearn\", sklearn.__version__)'",
                                    ],
                                    "resources": {"limits": {"cpu": "500m", "memory": "512Mi"}},
                                }
                            ],
                        }
                    },
                },
            }
            admin.apply_one(job, namespace)
            ended = admin.wait_for(
                "the notebook image's Job to end",
                "Job",
                lambda j: any(
                    c.get("type") in ("Complete", "Failed") and c.get("status") == "True"
                    for c in (j.get("status") or {}).get("conditions") or []
                ),
                180,
                namespace,
                name="singleuser-image",
            )
            (pod,) = admin.pods(namespace, label_selector="batch.kubernetes.io/job-name=singleuser-image")
            log = admin.pod_log(namespace, pod["metadata"]["name"]) or ""
            assert any(c["type"] == "Complete" for c in ended["status"]["conditions"]), log
            assert JUPYTERHUB_VERSION in log and "4.5.8" in log and "sklearn 1." in log, log
        finally:
            (removed,) = addons.uninstall(["jupyterhub"])
            room.teardown(timeout=120)
    assert removed.action == "uninstalled", removed
    assert admin.find("Secret", "kubedojo-jupyter-users", "jupyterhub") is None
    admin.wait_deleted("Deployment", "hub", "jupyterhub", 60)
    assert admin.find("Deployment", "proxy", "jupyterhub") is None
