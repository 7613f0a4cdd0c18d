"""One real local cluster per test session, a namespace per test, nothing left behind.

The cluster gets a state directory of its own and is purged at the end. Tests that disturb the
cluster (killing components, ``down``) carry the ``disruptive`` mark and run last. Outside CI a
machine that cannot run the cluster (not root, tools missing) skips these tests with the reason;
in CI (``CI`` set) that is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kubedojo.addons import Addons, addons_environment
from kubedojo.addons.releases import load_releases
from kubedojo.classroom import Classroom, Participant
from kubedojo.classroom.objects import ROLE_NAME, SERVICE_ACCOUNT, role_rules
from kubedojo.client.kube import KubeClient
from kubedojo.client.registry import RegistryClient
from kubedojo.config import parse_config
from kubedojo.errors import ClusterBusyError, KubedojoError
from kubedojo.labels import POD_SECURITY
from kubedojo.labs import LabRunner, ResultStore
from kubedojo.labs.images import RegistryDigests, lab_images
from kubedojo.labs.nodevolumes import remove_node_volumes
from kubedojo.labs.reader import VolumeReader
from kubedojo.labs.services import ClusterServices
from kubedojo.local.images import (
    ADDON_IMAGES,
    CHP_IMAGE,
    JUPYTERHUB_HUB_IMAGE,
    JUPYTERHUB_SINGLEUSER_IMAGE,
    PYTORCH_INIT_IMAGE,
    TRAINING_OPERATOR_IMAGE,
)
from kubedojo.local.provider import LocalCluster
from kubedojo.target import resolve_target

from ..ci import skip_or_fail, unmet_needs
from .hostsnapshot import HostSnapshot
from .realcharts import REPO, shipped_manifest_releases, shipped_releases

STATE_DIR = os.environ.get("KUBEDOJO_TEST_STATE_DIR", "/var/lib/kubedojo/test-cluster")
SIM_NODES = {"gpu": 2, "train-cpu": 1, "train-mem": 1}
SIM_JOB_SECONDS = 5
"""How long a Job's pod runs on a simulated node here (workshop default 20): the labs' simulated runs
take that much of the suite's time."""
NAMESPACE_LABEL = "kubedojo.dev/test"


ADDON_BUILD_BESIDE = "KUBEDOJO_TEST_ADDON_BUILD_BESIDE"
"""Set (by scripts/test) to a log file: the add-ons' images are built by ``invoke images.build
--addons`` at the lowest CPU priority beside the tests that do not need them, which run first."""
_addon_build: subprocess.Popen[bytes] | None = None


def _needs_addon_images(item: pytest.Item) -> bool:
    return "addon_images" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(
        key=lambda item: (
            item.get_closest_marker("disruptive") is not None,
            item.get_closest_marker("final") is not None,
            _needs_addon_images(item),
            item.get_closest_marker("uninstalls") is not None,
        )
    )
    log = os.environ.get(ADDON_BUILD_BESIDE)
    if log and not config.option.collectonly and any(_needs_addon_images(i) for i in items):
        global _addon_build
        with open(log, "wb") as out:
            _addon_build = subprocess.Popen(
                ["nice", "-n", "19", "invoke", "images.build", "--addons"],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                start_new_session=True,  # stopped with its Go builds if the session ends first
            )


def pytest_sessionfinish() -> None:
    if _addon_build is not None and _addon_build.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(_addon_build.pid, signal.SIGTERM)
        _addon_build.wait(60)


@pytest.fixture(scope="session")
def addon_images() -> None:
    """The add-ons' images (Go programs) are built: waits for the build started beside the tests
    (:data:`ADDON_BUILD_BESIDE`); without one, ``ensure_addon_images`` builds what a test needs."""
    if _addon_build is None:
        return
    try:
        code = _addon_build.wait(timeout=3600)
    except subprocess.TimeoutExpired:
        _addon_build.kill()
        pytest.fail("building the add-ons' images took over an hour: see " + os.environ[ADDON_BUILD_BESIDE])
    if code != 0:
        log = os.environ[ADDON_BUILD_BESIDE]
        tail = "\n".join(Path(log).read_text(errors="replace").splitlines()[-30:])
        pytest.fail(f"building the add-ons' images failed (exit {code}), {log}:\n{tail}")


def _unusable_reason() -> str | None:
    return unmet_needs(
        "the local cluster needs root", ("etcd", "containerd", "runc", "buildah", "docker-registry", "nft")
    )


def make_cluster() -> LocalCluster:
    return LocalCluster(parse_config({"local": {"state_dir": STATE_DIR, "sim_job_seconds": SIM_JOB_SECONDS}}))


def _require_usable_host() -> None:
    reason = _unusable_reason()
    if reason is not None:
        skip_or_fail(reason, "cluster tests")


@pytest.fixture(scope="session")
def host_baseline() -> Iterator[HostSnapshot]:
    """The host as it was before the test cluster touched it.

    A session that died without ``down`` (its processes killed, the machine's sandbox restarted)
    leaves its bridge, veths, mounts, cgroups and iptables rules behind, and maybe its test hosts
    still running; they are cleared first, or they would count as the host's own state and the final
    "nothing left behind" test would fail.
    """
    from tests.hosts.testhosts import (
        NETNS_DIR,
        clear_killed_hosts,
        is_mount_point,
        unmount_netns_dir_if_unused,
    )

    _require_usable_host()
    try:
        leftovers = make_cluster().down(purge=True)  # and its state: each session starts afresh
        # The test hosts too: their systemd mounts cgroup hierarchies this machine has not mounted,
        # which containerd then cannot resolve, and pods killed for memory lose their OOMKilled.
        leftovers += clear_killed_hosts()
    except ClusterBusyError as exc:
        pytest.fail(
            f"another kubedojo cluster is running on this host ({exc}); stop it with `invoke cluster.down`"
        )
    if leftovers:
        warnings.warn(
            f"cleared what an earlier test session left behind: {', '.join(leftovers)}", stacklevel=1
        )
    was_mount_point = is_mount_point(NETNS_DIR)
    # First make /run/netns a shared mount, as `ip netns add` does on any machine where it was ever used
    # (the Ansible test hosts use it): the cluster's pod network namespaces must still stay inside
    # its own mount namespace, which the final "nothing left behind" test checks.
    subprocess.run(["ip", "netns", "add", "kubedojo-probe"], check=True)
    subprocess.run(["ip", "netns", "delete", "kubedojo-probe"], check=True)
    yield HostSnapshot.take()
    unmount_netns_dir_if_unused(was_mount_point)


@pytest.fixture(scope="session")
def cluster(host_baseline: HostSnapshot) -> Iterator[LocalCluster]:
    local = make_cluster()
    try:
        local.up(SIM_NODES)
    except KubedojoError as exc:
        pytest.fail(f"the local cluster did not come up: {exc}")
    yield local
    local.down(purge=True)


@pytest.fixture(scope="session")
def admin(cluster: LocalCluster) -> Iterator[KubeClient]:
    client = cluster.admin_client()
    yield client
    wait_all_gone(client)  # nothing left behind
    client.close()


_DOOMED: list[str] = []
"""Test namespaces deleted but maybe not gone yet: their deletion goes on while the next tests run
(it takes the namespace controller 5 to 10 s each), and is waited for before a disruptive test and
at the end of the session."""


def wait_all_gone(admin: KubeClient) -> None:
    while _DOOMED:
        wait_gone(admin, _DOOMED.pop())


_SHARED_TEARDOWNS: list[Callable[[], None]] = []
"""Uninstalls of add-ons shared by the session, run before the first ``final`` test: those take the
cluster down, after which a session fixture's own teardown could no longer reach it."""


def release_shared_addons() -> None:
    while _SHARED_TEARDOWNS:
        _SHARED_TEARDOWNS.pop()()


@pytest.fixture(autouse=True)
def _quiet_before_disruption(request: pytest.FixtureRequest) -> None:
    """A disruptive test (killing components, ``down``) starts once every deleted test namespace is
    gone; a final one also once the session's shared add-ons are uninstalled."""
    if request.node.get_closest_marker("final") is not None:
        release_shared_addons()
    if _DOOMED and request.node.get_closest_marker("disruptive") is not None:
        wait_all_gone(request.getfixturevalue("admin"))


def _make_namespace(admin: KubeClient, short: str) -> str:
    name = f"kdt-{short}-{secrets.token_hex(3)}"
    admin.create(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            # Every test namespace enforces what a participant's does (Pod Security baseline), so
            # each lab's reference solution is shown to pass under it.
            "metadata": {"name": name, "labels": {NAMESPACE_LABEL: "true", **POD_SECURITY}},
        }
    )
    return name


def _drop_namespace(admin: KubeClient, name: str) -> None:
    remove_node_volumes(admin, name)  # cluster-scoped: made for the namespace by lab.run
    admin.delete("Namespace", name)  # propagation Background
    _DOOMED.append(name)


def _short(request: pytest.FixtureRequest) -> str:
    return request.node.name.split("[")[0].removeprefix("test_").replace("_", "-")[:30].strip("-")


@pytest.fixture
def namespace(admin: KubeClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards (waited for before the disruptive tests
    and at the end of the session: :func:`wait_all_gone`)."""
    name = _make_namespace(admin, _short(request))
    yield name
    _drop_namespace(admin, name)


@pytest.fixture
def other_namespace(admin: KubeClient, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second fresh namespace for the same test (two runs side by side), cleaned up alike."""
    name = _make_namespace(admin, _short(request)[:28] + "-b")
    yield name
    _drop_namespace(admin, name)


def wait_gone(admin: KubeClient, name: str, timeout: float = 120.0) -> None:
    admin.wait_deleted("Namespace", name, None, timeout)


@pytest.fixture(scope="session")
def lab_runner(
    cluster: LocalCluster, admin: KubeClient, tmp_path_factory: pytest.TempPathFactory
) -> LabRunner:
    """Runs labs as the admin, building and pushing each lab's image into the test cluster's registry."""
    store = ResultStore(tmp_path_factory.mktemp("results"))
    return LabRunner(
        admin,
        store,
        reader=VolumeReader(admin, cluster.image_ref("base")),
        images=lambda lab: cluster.ensure_context_images(lab_images(lab)) and None,
        digests=registry_digests(cluster),
        # The object-store account, datasets and webhook receiver of the labs that use them.
        services=ClusterServices(
            admin, cluster.registry, cluster.image_ref("base"), cluster.ensure_context_images
        ),
    )


def registry_digests(cluster: LocalCluster) -> RegistryDigests:
    """The lab images' digests in the test cluster's registry: grading counts only the labs' own code."""
    return RegistryDigests(RegistryClient(cluster.layout.registry))


@pytest.fixture
def participant(cluster: LocalCluster, admin: KubeClient, namespace: str) -> Iterator[KubeClient]:
    """A participant as class.setup makes them, in the test namespace: the ServiceAccount
    ``participant`` with the participants' Role, and a client with its token."""
    admin.create(
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": SERVICE_ACCOUNT}}, namespace
    )
    admin.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": ROLE_NAME},
            "rules": role_rules(),
        },
        namespace,
    )
    admin.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": ROLE_NAME},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ROLE_NAME},
            "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": namespace}],
        },
        namespace,
    )
    token = admin.request_token(namespace, SERVICE_ACCOUNT, 600)
    client = KubeClient.from_token(cluster.layout.api_url, cluster.state.pki / "ca.crt", token)
    yield client
    client.close()


@pytest.fixture(scope="session")
def argo_addons(
    cluster: LocalCluster, addon_images: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Addons]:
    """MinIO and Argo Workflows installed from the real charts, once for the workflow labs
    (test_lab_workflows) and the add-ons' own tests (test_minio_argo, whose last test uninstalls
    them and checks that nothing is left); uninstalled at the end in any case."""
    names = ["nfs-storage", "minio", "argo-workflows"]  # nfs-storage: skipped, the local class stays
    releases = shipped_releases(names, tmp_path_factory.mktemp("releases"))
    cluster.ensure_addon_images()
    config = parse_config({"local": {"state_dir": STATE_DIR}})
    with addons_environment(config, resolve_target(config, REPO), releases=str(releases)) as installed:
        _SHARED_TEARDOWNS.append(lambda: installed.uninstall(["argo-workflows", "minio"]))
        try:
            results = {r.name: r.action for r in installed.install(names)}
            assert results == {
                "nfs-storage": "skipped",
                "minio": "installed",
                "argo-workflows": "installed",
            }, results
            yield installed
        finally:
            release_shared_addons()


@pytest.fixture(scope="session")
def katib(
    cluster: LocalCluster, addon_images: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Addons]:
    """Katib installed from its upstream manifests once, for lab 12 (test_lab_katib) and its own
    tests (test_katib, whose ``uninstalls`` test removes it); uninstalled at the end in any case."""
    releases = shipped_manifest_releases(["katib"], tmp_path_factory.mktemp("releases"))
    cluster.ensure_addon_images([i.name for i in ADDON_IMAGES if i.name.startswith("katib")])
    config = parse_config({"local": {"state_dir": STATE_DIR}, "charts": {"optional": ["katib"]}})
    with addons_environment(config, resolve_target(config, REPO), releases=str(releases)) as installed:
        _SHARED_TEARDOWNS.append(lambda: installed.uninstall(["katib"]))
        try:
            (result,) = installed.install(["katib"])
            assert result.action == "installed", result
            yield installed
        finally:
            release_shared_addons()


@dataclass
class HubClass:
    """JupyterHub installed once, with a class set up before it (so that the hub's mounted Secret
    already holds the participants' passwords and namespaces when it starts)."""

    addons: Addons
    room: Classroom
    passwords: dict[str, str]

    def namespace(self, name: str) -> str:
        return self.room.namespace(name)


HUB_PARTICIPANTS = ("ann", "bob", "lena", "lars")
"""The hub's class: ann and bob for test_jupyterhub, lena and lars for lab 10."""


@pytest.fixture(scope="session")
def jupyterhub(
    cluster: LocalCluster, admin: KubeClient, addon_images: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HubClass]:
    """JupyterHub installed from the chart once, for its own tests (test_jupyterhub, whose
    ``uninstalls`` test removes it) and lab 10, with the class :data:`HUB_PARTICIPANTS` (namespaces
    ``kdt-jh-<name>``); uninstalled and the class torn down at the end in any case."""
    work = tmp_path_factory.mktemp("jupyterhub")
    room = Classroom(
        admin,
        parse_config({}).classroom,
        cluster.kubeconfig_path,
        work / "class",
        "kdt-jh-",
        "kdt-jh",
        addons=load_releases(REPO / "charts" / "releases.yaml").releases,
        jupyter_namespace="jupyterhub",
    )
    report = room.setup([Participant(n) for n in HUB_PARTICIPANTS], "JupyterHub")
    passwords = {n: Path(p).read_text().strip() for n, p in report.jupyter_passwords.items()}
    releases = shipped_releases(["jupyterhub"], work)
    cluster.ensure_addon_images([JUPYTERHUB_HUB_IMAGE.name, CHP_IMAGE.name, JUPYTERHUB_SINGLEUSER_IMAGE.name])
    config = parse_config({"local": {"state_dir": STATE_DIR}, "charts": {"optional": ["jupyterhub"]}})
    with addons_environment(config, resolve_target(config, REPO), releases=str(releases)) as installed:
        _SHARED_TEARDOWNS.append(lambda: room.teardown(timeout=180))
        _SHARED_TEARDOWNS.append(lambda: installed.uninstall(["jupyterhub"]))
        try:
            (result,) = installed.install(["jupyterhub"])
            assert result.action == "installed", result
            yield HubClass(installed, room, passwords)
        finally:
            release_shared_addons()


@pytest.fixture(scope="session")
def training_operator(
    cluster: LocalCluster, addon_images: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Addons]:
    """Kubeflow's training operator installed from its upstream manifests once, for lab 11
    (test_lab_pytorchjob) and its own tests (test_training_operator, whose last test uninstalls it);
    uninstalled at the end in any case."""
    releases = shipped_manifest_releases(["training-operator"], tmp_path_factory.mktemp("releases"))
    cluster.ensure_addon_images([TRAINING_OPERATOR_IMAGE.name, PYTORCH_INIT_IMAGE.name])
    config = parse_config({"local": {"state_dir": STATE_DIR}, "charts": {"optional": ["training-operator"]}})
    with addons_environment(config, resolve_target(config, REPO), releases=str(releases)) as installed:
        _SHARED_TEARDOWNS.append(lambda: installed.uninstall(["training-operator"]))
        try:
            (result,) = installed.install(["training-operator"])
            assert result.action == "installed", result
            yield installed
        finally:
            release_shared_addons()
