"""Which cluster a command works on: resolved once from -i, --kubeconfig or the local default."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubedojo.config import parse_config
from kubedojo.errors import NotRunningError
from kubedojo.target import resolve_target


def test_a_site_target_names_its_registry_and_how_to_bring_it_up(tmp_path: Path) -> None:
    site = tmp_path / "inventory" / "lab"
    site.mkdir(parents=True)
    (site / "id").write_text("a key")
    (site / "site.yaml").write_text(
        yaml.safe_dump(
            {
                "cluster_name": "dojo",
                "ssh": {"key": "id"},
                "registry": {"address": "10.0.0.5:5000"},
                "nodes": [
                    {"name": "cp1", "address": "192.168.10.11", "roles": ["control-plane", "etcd", "worker"]}
                ],
            }
        )
    )
    target = resolve_target(parse_config({}), tmp_path, site=site)

    assert (target.kind, target.name, target.registry) == ("kubespray", "dojo", "10.0.0.5:5000")
    assert target.base_image.startswith("127.0.0.1:5000/")  # the site mirrors the local registry's name
    assert target.push_images is None
    with pytest.raises(NotRunningError, match=rf"no kubeconfig; run 'invoke cluster.up -i {site}' first$"):
        target.client()


def test_another_clusters_kubeconfig_must_exist(tmp_path: Path) -> None:
    with pytest.raises(
        NotRunningError, match=r"absent\.kubeconfig: no kubeconfig; run 'invoke cluster.up' first"
    ):
        resolve_target(parse_config({}), tmp_path, kubeconfig=tmp_path / "absent.kubeconfig")


def test_the_local_default_needs_a_running_cluster(tmp_path: Path) -> None:
    config = parse_config({"local": {"state_dir": str(tmp_path / "state")}})
    with pytest.raises(NotRunningError, match="no local cluster is running"):
        resolve_target(config, tmp_path)


def test_project_relative_paths_are_resolved_once_at_load(tmp_path: Path) -> None:
    config = parse_config({"labs": {"results_dir": "out"}, "charts": {"bundle": "/abs/b"}}, project=tmp_path)
    assert config.labs.results_dir == str(tmp_path / "out")
    assert config.classroom.output_dir == str(tmp_path / "class")
    assert config.charts.releases == str(tmp_path / "charts/releases.yaml")
    assert config.charts.bundle == "/abs/b"
    assert config.onprem.kubespray_checkout == ""  # unset stays unset
    assert config.under(tmp_path) == config  # resolving again changes nothing
