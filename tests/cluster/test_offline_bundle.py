"""An air-gapped site's add-ons, on the local cluster: a bundle made by ``charts.pull`` carries the six
real charts (``../shared/charts``) and their images; its images are pushed into a second registry on
loopback (the site's stand-in); with the cluster's own registry made unreachable to the node, the
install from the bundle brings every add-on up from that second registry alone, and every pod of theirs
names only it.

What cannot be shown here: the two images kubedojo does not build (the NVIDIA device plugin, the NFS
provisioner) cannot be pulled into the bundle without internet (the test does not even try: no test
reaches beyond loopback); they are listed as missing, the charts still name the site registry, and the device plugin's pods run only on simulated nodes, where
nothing is pulled (the NFS release does not apply on the local cluster)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubedojo.addons import (
    Bundle,
    InstallFailed,
    addons_environment,
    export_site_images,
    load_site_images,
    push_site_images,
)
from kubedojo.client.kube import KubeClient
from kubedojo.config import parse_config
from kubedojo.local.images import ADDON_IMAGES
from kubedojo.local.provider import LocalCluster
from kubedojo.target import resolve_target
from kubedojo.versions import MC_VERSION, MINIO_VERSION

from .conftest import STATE_DIR
from .realcharts import REPO, shipped_releases

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("addon_images")]

RELEASES = [
    "nfs-storage",
    "metrics-server",
    "minio",
    "argo-workflows",
    "nvidia-device-plugin",
    "cluster-autoscaler",
]
NAMESPACES = ("kube-system", "minio", "argo", "nvidia-device-plugin")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def second_registry(directory: Path) -> Iterator[str]:
    """The distribution registry (Debian's docker-registry) on a free loopback port: the site's."""
    port = _free_port()
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "registry.yml"
    config.write_text(
        "version: 0.1\n"
        f"storage:\n  filesystem:\n    rootdirectory: {directory / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
        "log:\n  level: error\n"
    )
    log = (directory / "registry.log").open("w")
    process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:  # a bounded wait for the port to answer
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError(
                        f"the second registry did not start: {directory / 'registry.log'}"
                    ) from None
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@contextlib.contextmanager
def default_registry_unreachable(cluster: LocalCluster) -> Iterator[None]:
    """The node's containerd sends pulls for the cluster's registry to a closed port meanwhile (its
    hosts.toml is read at every pull); the registry itself keeps running for the rest of the session."""
    hosts = cluster.layout.state.config / "certs.d" / cluster.layout.registry / "hosts.toml"
    original = hosts.read_text()
    closed = f"127.0.0.1:{_free_port()}"
    hosts.write_text(
        f'server = "http://{closed}"\n\n[host."http://{closed}"]\n  capabilities = ["pull", "resolve"]\n'
    )
    try:
        yield
    finally:
        hosts.write_text(original)


def _always_pulled(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "control"},
        "spec": {
            "containers": [
                {
                    "name": "main",
                    "image": image,
                    "imagePullPolicy": "Always",
                    "command": ["true"],
                    "securityContext": {"allowPrivilegeEscalation": False},
                }
            ],
            "restartPolicy": "Never",
        },
    }


def test_a_bundle_brings_every_add_on_up_from_the_sites_registry_alone(
    cluster: LocalCluster, admin: KubeClient, tmp_path: Path, namespace: str
) -> None:
    releases = shipped_releases(RELEASES, tmp_path)
    config = parse_config({"local": {"state_dir": STATE_DIR}})
    bundle = tmp_path / "bundle"
    with addons_environment(config, resolve_target(config, REPO), releases=str(releases)) as addons:
        charts = addons.pull(Bundle(bundle))
        # upstream=False: no test may reach beyond loopback (not even to find that nvcr.io is unreachable)
        export_site_images(bundle, addons.selected(), cluster.artifacts, upstream=False)
    assert {c.release for c in charts} == set(RELEASES)
    images = {i.key: i for i in load_site_images(bundle)}
    # kubedojo's builds that the six run (the optional add-ons' are not theirs)
    built = {image.build for release in addons.selected() for image in release.images if image.build}
    assert built <= {i.name for i in ADDON_IMAGES} and len(built) == 7, built
    assert built <= {k for k, i in images.items() if i.included}
    missing = {k for k, i in images.items() if not i.included}
    assert missing == {
        "nvcr.io/nvidia/k8s-device-plugin:v0.20.0",
        "registry.k8s.io/sig-storage/nfs-subdir-external-provisioner:v4.0.2",
    }, missing  # listed, not carried
    sources = sorted(p.name for p in (bundle / "sources").iterdir())  # AGPL: the source beside the images
    assert sources == [f"mc-{MC_VERSION}.zip", f"minio-{MINIO_VERSION}.zip"], sources

    with second_registry(tmp_path / "site") as site:
        pushed = push_site_images(bundle, site, cluster.artifacts.images, tls_verify=False)
        assert sum(result == "pushed" for _, result in pushed) == len(built)
        with (
            default_registry_unreachable(cluster),
            addons_environment(
                config,
                resolve_target(config, REPO),
                releases=str(releases),
                bundle=str(bundle),
                registry=site,
            ) as offline,
        ):
            try:
                try:
                    results = {r.name: r.action for r in offline.install()}
                except InstallFailed as exc:
                    pytest.fail(f"{exc}; what the add-ons' pods did: {_pods_and_warnings(admin)}")
                assert results == {
                    "nfs-storage": "skipped",  # the local cluster keeps its own nfs-storage class
                    "metrics-server": "installed",
                    "minio": "installed",
                    "argo-workflows": "installed",
                    "nvidia-device-plugin": "installed",
                    "cluster-autoscaler": "installed",
                }, results
                named = set()
                for namespace in NAMESPACES:
                    for pod in admin.pods(namespace):
                        if namespace == "kube-system" and not pod["metadata"]["name"].startswith(
                            ("metrics-server-", "cluster-autoscaler-")
                        ):
                            continue  # the cluster's own CoreDNS
                        spec = pod["spec"]
                        for container in spec.get("initContainers", []) + spec["containers"]:
                            named.add(container["image"])
                strays = {i for i in named if not i.startswith(f"{site}/")}
                assert not strays, strays  # every add-on pod names the site's registry only
                assert len(named) >= 5, named
                (controller,) = admin.get("Deployment", "argo-workflows-workflow-controller", "argo")["spec"][
                    "template"
                ]["spec"]["containers"]
                executor = controller["args"][controller["args"].index("--executor-image") + 1]
                assert executor.startswith(f"{site}/kubedojo/argoexec:"), executor
            finally:
                offline.uninstall()


def _pods_and_warnings(admin: KubeClient) -> str:
    """Each add-on pod's phase and waiting reasons, and the Warning events, for a failed install."""
    found = []
    for namespace in NAMESPACES:
        for pod in admin.pods(namespace):
            statuses = (pod.get("status") or {}).get("containerStatuses") or []
            waiting = [
                f"{c['name']}: {c['state']['waiting'].get('reason')} {c['state']['waiting'].get('message', '')}"
                for c in statuses
                if "waiting" in (c.get("state") or {})
            ]
            found.append(f"{namespace}/{pod['metadata']['name']} {pod['status'].get('phase')} {waiting}")
        for event in admin.list("Event", namespace):
            if event.get("type") == "Warning":
                found.append(f"{namespace} {event.get('reason')}: {event.get('message')}")
    return "; ".join(found) or "no pods"
