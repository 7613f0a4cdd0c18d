"""metrics-server for real: the upstream chart (``../shared/charts``, see its PROVENANCE.md) with the
project's releases.yaml entry and values, running kubedojo's build of metrics-server (v0.8.0, from Go
modules) from the local registry. ``kubectl top`` answers for the real node and for pods within a
minute, the kubelet's serving certificate verified against the cluster CA (no
``--kubelet-insecure-tls``), the simulated nodes left out; uninstalling leaves nothing behind. Lab
05-monitoring's answer is graded against it while the experiments run. And
with it installed, every component of the cluster killed in turn comes back by itself and the add-on
answers again."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubedojo.addons import addons_environment
from kubedojo.classroom import grade_class
from kubedojo.client.kube import KubeClient
from kubedojo.clusterstatus import node_simulated
from kubedojo.config import parse_config
from kubedojo.errors import ApiError, NotFound
from kubedojo.labs import LabRunner, ResultStore
from kubedojo.local.images import METRICS_SERVER_IMAGE
from kubedojo.local.provider import LocalCluster
from kubedojo.target import resolve_target

from .conftest import STATE_DIR
from .helpers import kill_and_await_return
from .labtools import CATALOG
from .realcharts import REPO, shipped_release
from .test_supervisor import COMPONENTS

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("addon_images")]

PACKAGED_SHA256 = "85286190cee95cddb3bba410a7e3b6ac948071c2ad7d85b020207fc846587bf8"
"""The digest this test trusts: PROVENANCE.md's for this archive, ``helm package`` of the chart's
release tag (its files identical to the published archive's). The published archive's digest, which
charts/releases.yaml pins for real downloads, differs (Chart.yaml is serialised differently)."""
ANSWERS_WITHIN = 90.0
"""From ready to metrics for the node: metrics-server needs two scrapes 15 s apart."""
METRICS = "metrics.k8s.io/v1beta1"


def _metrics(admin: KubeClient, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
    """Every object of a metrics kind, once the API server serves it (metrics-server answers)."""
    deadline = time.monotonic() + ANSWERS_WITHIN
    while True:
        # The metrics API has no watch: a bounded re-read every 2 s.
        try:
            items = admin.list(kind, namespace, api_version=METRICS)
            if items:
                return items
        except (NotFound, ApiError) as exc:
            last = str(exc)
        else:
            last = "an empty list"
        if time.monotonic() > deadline:
            raise AssertionError(f"no {kind} within {ANSWERS_WITHIN:.0f} s of install: {last}")
        time.sleep(2)


def test_top_answers_for_the_real_node_and_pods_with_the_kubelet_verified(
    cluster: LocalCluster, admin: KubeClient, tmp_path: Path
) -> None:
    releases = shipped_release("metrics-server", "metrics-server-3.13.1.tgz", PACKAGED_SHA256, tmp_path)
    rows = cluster.ensure_addon_images()
    assert METRICS_SERVER_IMAGE.ref(cluster.registry) in [row[0] for row in rows]
    config = parse_config({"local": {"state_dir": STATE_DIR}})
    with addons_environment(config, resolve_target(config, REPO), releases=str(releases)) as addons:
        try:
            (result,) = addons.install(["metrics-server"])
            assert result.action == "installed", result
            (container,) = admin.get("Deployment", "metrics-server", "kube-system")["spec"]["template"][
                "spec"
            ]["containers"]
            assert container["image"] == METRICS_SERVER_IMAGE.ref(cluster.registry)
            assert "--kubelet-insecure-tls" not in container["args"]
            assert "--node-selector=type!=kwok" in container["args"]

            nodes = _metrics(admin, "NodeMetrics")
            real = {n["metadata"]["name"] for n in admin.nodes() if not node_simulated(n)}
            assert {n["metadata"]["name"] for n in nodes} == real, "simulated nodes must be left out"
            (node,) = nodes
            assert node["usage"]["cpu"] and node["usage"]["memory"], node
            pods = _metrics(admin, "PodMetrics", "kube-system")
            names = {p["metadata"]["name"] for p in pods}
            assert any(name.startswith("metrics-server-") for name in names), names
        finally:
            addons.uninstall(["metrics-server"])
    assert admin.find("APIService", f"v1beta1.{METRICS.split('/')[0]}") is None
    admin.wait_deleted("Deployment", "metrics-server", "kube-system", 60)
    left = admin.pods("kube-system", label_selector="app.kubernetes.io/name=metrics-server")
    assert not [p for p in left if not p["metadata"].get("deletionTimestamp")], left


@pytest.mark.disruptive
def test_the_installed_add_on_answers_again_after_each_component_was_killed(
    cluster: LocalCluster, admin: KubeClient, tmp_path: Path
) -> None:
    releases = shipped_release("metrics-server", "metrics-server-3.13.1.tgz", PACKAGED_SHA256, tmp_path)
    cluster.ensure_addon_images()
    config = parse_config({"local": {"state_dir": STATE_DIR}})
    with addons_environment(config, resolve_target(config, REPO), releases=str(releases)) as addons:
        try:
            (result,) = addons.install(["metrics-server"])
            assert result.action == "installed", result
            assert _metrics(admin, "NodeMetrics")
            for name in COMPONENTS:
                kill_and_await_return(cluster, name)
            fresh = cluster.admin_client()  # the old connections died with the API server
            try:
                nodes = _metrics(fresh, "NodeMetrics")
                real = {n["metadata"]["name"] for n in fresh.nodes() if not node_simulated(n)}
                assert {n["metadata"]["name"] for n in nodes} == real
            finally:
                fresh.close()
        finally:
            addons.uninstall(["metrics-server"])


def test_lab_05_monitoring_the_answer_is_graded_against_metrics_server_while_the_experiments_run(
    cluster: LocalCluster,
    admin: KubeClient,
    participant: KubeClient,
    lab_runner: LabRunner,
    namespace: str,
    tmp_path: Path,
) -> None:
    """``lab.run`` returns once the three experiments run; a participant reads ``kubectl top pod``
    with their own credentials and answers; ``lab.check`` grades the answer against metrics-server
    (a wrong one fails with the figures), and the class grading agrees."""
    releases = shipped_release("metrics-server", "metrics-server-3.13.1.tgz", PACKAGED_SHA256, tmp_path)
    cluster.ensure_addon_images()
    config = parse_config({"local": {"state_dir": STATE_DIR}})
    lab = CATALOG.get("05-monitoring")
    with addons_environment(config, resolve_target(config, REPO), releases=str(releases)) as addons:
        try:
            addons.install(["metrics-server"])
            ran = lab_runner.run(lab, lab.solution_path, namespace, "tester", timeout=120)
            assert {c.id: c.status for c in ran.checks} == {
                "three-experiments": "passed",
                "memory-limits": "passed",
                "most-memory": "pending",  # no answer yet
            }
            running = [p for p in admin.pods(namespace) if (p.get("status") or {}).get("phase") == "Running"]
            assert len(running) == 3, [p["metadata"]["name"] for p in admin.pods(namespace)]
            deadline = time.monotonic() + ANSWERS_WITHIN
            while True:  # what `kubectl top pod` shows the participant, with their own credentials
                seen = {m["metadata"]["name"] for m in participant.list("PodMetrics", namespace)}
                if seen >= {p["metadata"]["name"] for p in running} or time.monotonic() > deadline:
                    break
                time.sleep(2)
            assert len(seen) >= 3, seen

            wrong = yaml.safe_load((lab.directory / "answer.yaml").read_text())
            wrong["data"]["most_memory"] = "mon-c"
            participant.apply_one(wrong, namespace)
            failed = {c.id: c for c in lab_runner.check(lab, namespace, "tester").checks}["most-memory"]
            assert failed.status == "failed" and "mon-b" in failed.found, failed.found
            assert failed.found.index("mon-b") < failed.found.index("mon-c")  # the top one comes first

            participant.apply_one(yaml.safe_load((lab.directory / "answer.yaml").read_text()), namespace)
            checked = lab_runner.check(lab, namespace, "tester")
            assert checked.status == "passed", [(c.id, c.found) for c in checked.checks]
            graded = grade_class(admin, [lab], {"tester": namespace}, ResultStore(tmp_path / "class"), None)
            assert graded.results[0].status == "passed", [(c.id, c.found) for c in graded.results[0].checks]
        finally:
            addons.uninstall(["metrics-server"])
