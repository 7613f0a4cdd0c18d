"""``cluster.status -i SITE`` reads a site's cluster through its fetched admin kubeconfig, as
``cluster.status`` does for the local one. The real API server here is the local test cluster's,
standing in for a provisioned site's (its kubeconfig is what cluster.up -i writes)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from kubedojo.config import parse_config
from kubedojo.local.provider import LocalCluster
from kubedojo.onprem.cluster import OnpremCluster

REPO = Path(__file__).resolve().parents[2]


def test_status_of_a_site_lists_its_nodes_and_the_api_servers_health(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    site = tmp_path / "lab"
    site.mkdir()
    (site / "id").write_text("not used: status needs no SSH")
    (site / "site.yaml").write_text(
        yaml.safe_dump(
            {
                "ssh": {"key": "id"},
                "nodes": [{"name": "cp1", "address": "192.0.2.10", "roles": ["control-plane", "worker"]}],
            }
        )
    )
    shutil.copy(cluster.kubeconfig_path, site / "admin.kubeconfig")
    state = OnpremCluster(site, parse_config({}), REPO).status()
    assert state.healthy, (state.components, state.nodes)
    assert [c.name for c in state.components] == ["kube-apiserver"]
    assert state.components[0].log.endswith("/readyz: ok")
    real = [n for n in state.nodes if not n.simulated]
    assert [n.name for n in real] == [cluster.settings.node_name] and real[0].ready
    assert real[0].kubelet_version == "v1.35.4"
    assert state.kubeconfig == str(site / "admin.kubeconfig")
