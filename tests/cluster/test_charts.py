"""The add-ons on the real local cluster with real helm (pyhelm3), using the charts in tests/charts:
order from ``needs``, concurrency inside a level, readiness, rollback of a failing release, upgrades
of only what changed, reverse-order uninstall, generated credentials, and installing from a bundle
with no chart repository reachable."""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubedojo.addons import Addons, Bundle, InstallFailed, addons_environment
from kubedojo.client.kube import KubeClient
from kubedojo.config import parse_config
from kubedojo.errors import AddonError, ConfigError
from kubedojo.local.provider import LocalCluster
from kubedojo.target import resolve_target

from .conftest import STATE_DIR

REPO = Path(__file__).resolve().parents[2]
CHARTS = REPO / "tests" / "charts"
CRD = "widgets.kubedojo.dev"


@pytest.fixture
def releases_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def image(cluster: LocalCluster) -> str:
    return str(cluster.image_ref("base"))


@pytest.fixture
def make_addons(cluster: LocalCluster, admin: KubeClient, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """``make_addons(releases, bundle=None)``: Addons over a releases.yaml written from ``releases``."""
    stack: list[Any] = []
    config = parse_config({"local": {"state_dir": STATE_DIR}})

    def make(releases: list[dict[str, Any]], bundle: Path | None = None, **defaults: Any) -> Addons:
        path = tmp_path / "releases.yaml"
        path.write_text(yaml.safe_dump({"defaults": {"timeout": 120, **defaults}, "releases": releases}))
        target = resolve_target(config, REPO)
        env = addons_environment(config, target, releases=str(path), bundle=str(bundle) if bundle else "")
        addons = env.__enter__()
        stack.append(env)
        return addons

    yield make
    for env in reversed(stack):
        env.__exit__(None, None, None)
    admin.delete("CustomResourceDefinition", CRD)  # False when this test did not create it
    admin.wait_deleted("CustomResourceDefinition", CRD, None, 60)


def values_file(directory: Path, name: str, data: dict[str, Any]) -> str:
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def release(name: str, chart: str, namespace: str, **keys: Any) -> dict[str, Any]:
    return {"name": name, "chart": str(CHARTS / chart), "version": "0.1.0", "namespace": namespace, **keys}


def three(namespace: str, tmp: Path, image: str, solo_message: str = "hello") -> list[dict[str, Any]]:
    return [
        release("kd-app", "kd-app", namespace, needs=["kd-crd"]),
        release("kd-crd", "kd-crd", namespace, values=[values_file(tmp, "crd", {"image": image})]),
        release(
            "kd-solo",
            "kd-solo",
            namespace,
            values=[values_file(tmp, "solo", {"image": image, "message": solo_message})],
        ),
    ]


def by_name(results: list[Any]) -> dict[str, Any]:
    return {r.name: r for r in results}


def configmap(admin: KubeClient, namespace: str, name: str) -> dict[str, str]:
    return dict(admin.get("ConfigMap", name, namespace).get("data") or {})


def test_install_follows_needs_runs_a_level_concurrently_and_then_changes_nothing(
    make_addons, namespace: str, tmp_path: Path, image: str, admin: KubeClient
) -> None:
    addons = make_addons(three(namespace, tmp_path, image))
    results = by_name(addons.install())
    assert {n: r.action for n, r in results.items()} == {
        "kd-crd": "installed",
        "kd-solo": "installed",
        "kd-app": "installed",
    }
    crd, solo, app = results["kd-crd"], results["kd-solo"], results["kd-app"]
    assert app.started >= crd.finished  # kd-app needs kd-crd
    assert solo.started < crd.finished and crd.started < solo.finished  # one level, concurrently
    widget = admin.get("Widget", "kd-app", namespace, api_version="kubedojo.dev/v1alpha1")
    assert widget["spec"]["size"] == 3
    # A custom kind is listed by the same generic calls, found by its name alone through discovery.
    assert [w["metadata"]["name"] for w in admin.list("Widget", namespace)] == ["kd-app"]
    deployment = admin.get("Deployment", "kd-crd-server", namespace)
    assert deployment["status"].get("readyReplicas") == 1  # helm waited for readiness

    again = by_name(addons.install())
    assert {n: (r.action, r.revision) for n, r in again.items()} == {
        "kd-crd": ("unchanged", 1),
        "kd-solo": ("unchanged", 1),
        "kd-app": ("unchanged", 1),
    }
    states = {s.name: s for s in addons.status()}
    assert {n: (s.status, s.deployed, s.revision) for n, s in states.items()} == {
        n: ("deployed", "0.1.0", 1) for n in ("kd-app", "kd-crd", "kd-solo")
    }


def test_a_values_change_upgrades_only_that_release(
    make_addons, namespace: str, tmp_path: Path, image: str, admin: KubeClient
) -> None:
    make_addons(three(namespace, tmp_path, image)).install()
    changed = make_addons(three(namespace, tmp_path, image, solo_message="changed"))
    diffs = {d.name: d for d in changed.diff(manifests=True)}
    assert (diffs["kd-solo"].action, diffs["kd-solo"].changes) == ("upgrade", ("values: message",))
    assert "-  message: hello" in diffs["kd-solo"].manifest_diff
    assert "+  message: changed" in diffs["kd-solo"].manifest_diff
    assert diffs["kd-crd"].action == diffs["kd-app"].action == "unchanged"

    results = by_name(changed.install())
    assert {n: (r.action, r.revision) for n, r in results.items()} == {
        "kd-crd": ("unchanged", 1),
        "kd-solo": ("upgraded", 2),
        "kd-app": ("unchanged", 1),
    }
    assert configmap(admin, namespace, "kd-solo-settings") == {"message": "changed"}


def test_a_release_that_never_becomes_ready_is_removed_and_named(
    make_addons, namespace: str, tmp_path: Path, image: str, admin: KubeClient
) -> None:
    never = values_file(tmp_path, "never", {"image": image})
    addons = make_addons(
        [
            release("kd-never", "kd-never-ready", namespace, values=[never], timeout=15),
            release("kd-after", "kd-app", namespace, needs=["kd-never"]),
        ]
    )
    with pytest.raises(InstallFailed) as caught:
        addons.install()
    message = str(caught.value)
    assert message.startswith(f"release kd-never in {namespace}: ")
    assert "the failed install was removed" in message
    outcome = by_name(caught.value.results)
    assert outcome["kd-never"].action == "failed"
    assert outcome["kd-after"].action == "not attempted"
    assert [s.status for s in addons.status() if s.name == "kd-never"] == ["not installed"]
    deployments = admin.list("Deployment", namespace)
    assert [d["metadata"]["name"] for d in deployments] == []  # rolled back: nothing of it is left


def test_a_failed_upgrade_is_rolled_back_to_the_working_revision(
    make_addons, namespace: str, tmp_path: Path, image: str, admin: KubeClient
) -> None:
    good = values_file(tmp_path, "good", {"image": image, "ready": True, "message": "first"})
    make_addons([release("kd-flaky", "kd-never-ready", namespace, values=[good])]).install()
    bad = values_file(tmp_path, "bad", {"image": image, "ready": False, "message": "second"})
    addons = make_addons([release("kd-flaky", "kd-never-ready", namespace, values=[bad], timeout=15)])
    with pytest.raises(InstallFailed, match=r"rolled back to revision 3 \(deployed\)"):
        addons.install()
    assert configmap(admin, namespace, "kd-flaky-settings") == {"message": "first"}


def test_uninstall_goes_in_reverse_order_and_refuses_to_orphan_a_dependent(
    make_addons, namespace: str, tmp_path: Path, image: str, admin: KubeClient
) -> None:
    addons = make_addons(three(namespace, tmp_path, image))
    addons.install()
    with pytest.raises(ConfigError, match="kd-app needs kd-crd and stays installed"):
        addons.uninstall(["kd-crd"])
    results = by_name(addons.uninstall())
    assert {n: r.action for n, r in results.items()} == dict.fromkeys(
        ("kd-app", "kd-crd", "kd-solo"), "uninstalled"
    )
    assert results["kd-app"].finished <= results["kd-crd"].started
    assert {s.name: s.status for s in addons.status()} == dict.fromkeys(
        ("kd-app", "kd-crd", "kd-solo"), "not installed"
    )
    assert [d["metadata"]["name"] for d in admin.list("Deployment", namespace)] == []
    assert by_name(addons.uninstall())["kd-app"].action == "absent"


def test_credentials_are_generated_once_copied_where_needed_and_never_printed(
    make_addons, namespace: str, tmp_path: Path, image: str, admin: KubeClient
) -> None:
    solo = values_file(tmp_path, "solo", {"image": image})
    other = f"{namespace}-copy"
    releases = [
        release(
            "kd-solo",
            "kd-solo",
            namespace,
            values=[solo],
            credentials=[{"secret": "kd-root", "generate": {"user": "admin", "password": 32}}],
        ),
        release(
            "kd-app",
            "kd-app",
            namespace,
            needs=["kd-solo", "kd-crd"],
            credentials=[
                {
                    "secret": "kd-copy",
                    "namespace": other,
                    "copy_from": f"{namespace}/kd-root",
                    "keys": {"pw": "password"},
                }
            ],
        ),
        release("kd-crd", "kd-crd", namespace, values=[values_file(tmp_path, "crd", {"image": image})]),
    ]
    addons = make_addons(releases)
    try:
        addons.install()
        first = addons.kube.read_secret(namespace, "kd-root")
        assert first is not None and first["user"] == "admin" and len(first["password"]) == 32
        assert addons.kube.read_secret(other, "kd-copy") == {"pw": first["password"]}
        addons.install()
        assert addons.kube.read_secret(namespace, "kd-root") == first  # kept, not regenerated

        path = tmp_path / "releases.yaml"
        result = subprocess.run(
            [sys.executable, "-m", "invoke", "charts.install", "--releases", str(path), "--json"],
            cwd=REPO,
            env={**os.environ, "KUBEDOJO_WORKSHOP": str(_workshop(tmp_path))},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        assert {r["action"] for r in json.loads(result.stdout)["results"]} == {"unchanged"}
        assert first["password"] not in result.stdout + result.stderr
    finally:
        admin.delete("Namespace", other)


def _workshop(tmp_path: Path) -> Path:
    path = tmp_path / "workshop.yaml"
    path.write_text(yaml.safe_dump({"local": {"state_dir": STATE_DIR}}))
    return path


def test_conditions_decide_where_a_release_applies(
    make_addons, namespace: str, tmp_path: Path, image: str
) -> None:
    solo = values_file(tmp_path, "solo", {"image": image})
    addons = make_addons(
        [
            release("kd-gpu", "kd-solo", namespace, values=[solo], when={"gpu_nodes": True}),
            release("kd-nfs", "kd-solo", namespace, values=[solo], when={"nfs_server": True}),
            release("kd-kubespray", "kd-solo", namespace, values=[solo], when={"cluster": ["kubespray"]}),
        ]
    )
    assert addons.facts.kind == "local" and addons.facts.gpu_nodes == 2  # the session's simulated GPU pool
    results = by_name(addons.install())
    assert results["kd-gpu"].action == "installed"
    assert results["kd-nfs"].action == "skipped"
    assert results["kd-nfs"].detail == "does not apply: no NFS server configured (charts.nfs.server)"
    assert results["kd-kubespray"].detail == "does not apply: not on a local cluster"


class _Repository:
    """A chart repository on loopback: the test charts packaged with an index.yaml."""

    def __init__(self, root: Path, helm: str) -> None:
        self.root = root
        root.mkdir()
        for chart in ("kd-crd", "kd-app", "kd-solo"):
            subprocess.run(
                [helm, "package", str(CHARTS / chart), "-d", str(root)], check=True, capture_output=True
            )
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
        handler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        subprocess.run([helm, "repo", "index", str(root), "--url", self.url], check=True, capture_output=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def digest(self, chart: str) -> str:
        return "sha256:" + hashlib.sha256((self.root / f"{chart}-0.1.0.tgz").read_bytes()).hexdigest()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_pull_makes_a_bundle_that_installs_with_no_repository_reachable(
    make_addons, namespace: str, tmp_path: Path, image: str, admin: KubeClient
) -> None:
    from kubedojo.addons import helm_binary

    repo = _Repository(tmp_path / "repo", helm_binary(parse_config({})))
    crd_values = values_file(tmp_path, "crd", {"image": image})

    def releases(digest_of_app: str) -> list[dict[str, Any]]:
        entries = []
        for name, extra in (("kd-crd", {"values": [crd_values]}), ("kd-app", {"needs": ["kd-crd"]})):
            digest = digest_of_app if name == "kd-app" else repo.digest(name)
            entries.append(
                {
                    "name": name,
                    "repo": repo.url,
                    "chart": name,
                    "version": "0.1.0",
                    "digest": digest,
                    "namespace": namespace,
                    **extra,
                }
            )
        return entries

    bundle_dir = tmp_path / "bundle"
    try:
        with pytest.raises(AddonError, match="not the pinned 0000"):
            make_addons(releases("sha256:" + "0" * 64)).pull(Bundle(bundle_dir), ["kd-app"])
        entries = make_addons(releases(repo.digest("kd-app"))).pull(Bundle(bundle_dir))
    finally:
        repo.stop()
    assert sorted(e.release for e in entries) == ["kd-app", "kd-crd"]
    assert (bundle_dir / "images.txt").read_text() == f"{image}\n"
    recorded = yaml.safe_load((bundle_dir / "bundle.yaml").read_text())
    assert recorded["releases"]["kd-crd"]["file"] == "charts/kd-crd-0.1.0.tgz"

    # The repository is gone: installing from the bundle must not need it.
    addons = make_addons(releases(repo.digest("kd-app")), bundle=bundle_dir)
    results = by_name(addons.install())
    assert {n: r.action for n, r in results.items()} == {"kd-crd": "installed", "kd-app": "installed"}
    assert addons.status()[0].status == "deployed"

    shutil.copy(bundle_dir / "charts" / "kd-crd-0.1.0.tgz", bundle_dir / "charts" / "kd-app-0.1.0.tgz")
    with pytest.raises(AddonError, match=r"kd-app-0.1.0.tgz has sha256 \w+, the bundle recorded"):
        make_addons(releases(repo.digest("kd-app")), bundle=bundle_dir).install(["kd-app"])
