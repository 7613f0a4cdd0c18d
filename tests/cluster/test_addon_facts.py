"""What the add-ons read from the cluster before installing: on the local cluster, with an NFS server
configured, the NFS provisioner's release does not apply, because the cluster's own ``nfs-storage``
class stays (helm would refuse to take it over, and this kernel has no NFS client)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubedojo.addons import addons_environment
from kubedojo.client.kube import KubeClient
from kubedojo.config import parse_config
from kubedojo.local.provider import LocalCluster
from kubedojo.target import resolve_target

from .conftest import STATE_DIR
from .realcharts import REPO, shipped_release

pytestmark = pytest.mark.cluster

PACKAGED_SHA256 = "23fbd32f72cffa16910de542db4708a97d09a24bbb3d2a02475ad41d1a5ed8ca"
"""PROVENANCE.md's digest of the archive (packaged from the release tag)."""


def test_the_local_nfs_storage_class_stays_when_an_nfs_server_is_configured(
    cluster: LocalCluster, admin: KubeClient, tmp_path: Path
) -> None:
    before = admin.get("StorageClass", "nfs-storage")
    releases = shipped_release(
        "nfs-storage", "nfs-subdir-external-provisioner-4.0.18.tgz", PACKAGED_SHA256, tmp_path
    )
    config = parse_config({"local": {"state_dir": STATE_DIR}, "charts": {"nfs": {"server": "192.0.2.10"}}})
    with addons_environment(config, resolve_target(config, REPO), releases=str(releases)) as addons:
        assert "nfs-storage" in addons.facts.own_storage_classes
        (result,) = addons.install(["nfs-storage"])
    assert result.action == "skipped", result
    assert result.detail == "does not apply: the cluster has its own StorageClass nfs-storage, which stays"
    after = admin.get("StorageClass", "nfs-storage")
    assert after["provisioner"] == before["provisioner"]
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
