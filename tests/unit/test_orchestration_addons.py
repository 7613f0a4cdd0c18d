"""The add-on installer's orchestration with a recording helm and the in-memory API (no cluster):
levels in order, a failure stops what needs it, unchanged releases are left alone, uninstall goes
in reverse and refuses to orphan. Real helm on the real cluster: tests/cluster/test_charts.py."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from kubedojo.addons.context import ClusterFacts
from kubedojo.addons.installer import Addons, InstallFailed
from kubedojo.addons.releases import parse_releases
from kubedojo.client.fake import FakeKube
from kubedojo.client.helm import ChartRef, DeployedRelease
from kubedojo.errors import AddonError, ConfigError

from .test_addons import rel

FACTS = ClusterFacts(kind="local", gpu_nodes=0, registry="127.0.0.1:5000")


class RecordingHelm:
    """Answers like helm for charts that exist and installs that succeed (or fail, by name); keeps
    the order of calls and how many installs overlapped."""

    def __init__(self, failing: set[str] | None = None) -> None:
        self.failing = failing or set()
        self.deployed_releases: dict[tuple[str, str], DeployedRelease] = {}
        self.calls: list[str] = []
        self.running = 0
        self.most_at_once = 0

    async def chart(self, ref: ChartRef) -> Any:
        return SimpleNamespace(metadata=SimpleNamespace(name=ref.name, version=ref.version))

    async def deployed(self, release: str, namespace: str) -> DeployedRelease | None:
        return self.deployed_releases.get((release, namespace))

    async def install(
        self,
        release: str,
        chart: Any,
        values: dict[str, Any],
        namespace: str,
        timeout: float,
        server_side: bool = True,
    ) -> int:
        self.calls.append(f"install {release}")
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        await asyncio.sleep(0.05)
        self.running -= 1
        if release in self.failing:
            raise AddonError(f"{release}: context deadline exceeded")
        old = self.deployed_releases.get((release, namespace))
        revision = (old.revision if old else 0) + 1
        self.deployed_releases[(release, namespace)] = DeployedRelease(
            release, namespace, revision, "deployed", chart.metadata.name, chart.metadata.version, values, ""
        )
        return revision

    async def uninstall(self, release: str, namespace: str, timeout: float) -> None:
        self.calls.append(f"uninstall {release}")
        del self.deployed_releases[(release, namespace)]

    async def releases(self) -> list[dict[str, Any]]:
        return [{"name": n, "namespace": ns} for n, ns in self.deployed_releases]


def addons(tmp_path: Path, helm: RecordingHelm, *releases: dict[str, Any]) -> tuple[Addons, FakeKube]:
    parsed = parse_releases({"releases": list(releases)}, tmp_path / "releases.yaml")
    kube = FakeKube()
    return Addons(parsed, helm, kube, FACTS), kube  # type: ignore[arg-type]


STACK = (rel("argo", needs=["minio"]), rel("minio", needs=["nfs"]), rel("nfs"), rel("metrics"))


def test_levels_install_in_order_and_each_level_concurrently(tmp_path: Path) -> None:
    helm = RecordingHelm()
    installer, kube = addons(tmp_path, helm, *STACK)
    results = installer.install()

    assert {r.name: r.action for r in results} == dict.fromkeys(
        ["metrics", "nfs", "minio", "argo"], "installed"
    )
    order = [c.split()[1] for c in helm.calls]
    assert order.index("nfs") < order.index("minio") < order.index("argo")
    assert helm.most_at_once == 2  # metrics and nfs together
    assert kube.find("Namespace", "ns") is not None


def test_a_second_install_changes_nothing(tmp_path: Path) -> None:
    helm = RecordingHelm()
    installer, _ = addons(tmp_path, helm, *STACK)
    installer.install()
    helm.calls.clear()
    assert {r.action for r in installer.install()} == {"unchanged"}
    assert helm.calls == []


def test_a_failure_stops_what_needs_it_and_names_the_release(tmp_path: Path) -> None:
    helm = RecordingHelm(failing={"minio"})
    installer, _ = addons(tmp_path, helm, *STACK)
    with pytest.raises(
        InstallFailed, match=r"^release minio in ns: minio: context deadline exceeded"
    ) as info:
        installer.install()
    actions = {r.name: r.action for r in info.value.results}
    assert actions == {"metrics": "installed", "nfs": "installed", "minio": "failed", "argo": "not attempted"}
    assert "install argo" not in helm.calls


def test_uninstall_goes_in_reverse_and_refuses_to_orphan(tmp_path: Path) -> None:
    helm = RecordingHelm()
    installer, _ = addons(tmp_path, helm, *STACK)
    installer.install()
    with pytest.raises(ConfigError, match="argo needs minio and stays installed"):
        installer.uninstall(["minio"])
    helm.calls.clear()
    installer.uninstall()
    order = [c.split()[1] for c in helm.calls]
    assert order.index("argo") < order.index("minio") < order.index("nfs")
    assert helm.deployed_releases == {}


def test_a_shared_service_labels_its_namespace_for_participants_policies(tmp_path: Path) -> None:
    helm = RecordingHelm()
    installer, kube = addons(
        tmp_path, helm, rel("minio", namespace="minio", shared_service=True), rel("metrics")
    )
    installer.install()
    labels = kube.get("Namespace", "minio")["metadata"]["labels"]
    assert labels["kubedojo.dev/shared-services"] == "true"  # (the real server-side apply keeps the rest)
    assert "kubedojo.dev/shared-services" not in kube.get("Namespace", "ns")["metadata"].get("labels", {})
