"""The real kubespray, end to end and offline, against node-capable test hosts (``scripts/test-kubespray``).

Not part of the suite ``.ci/run`` runs: it needs kubespray v2.31.0's source, which this machine cannot
download (``KUBEDOJO_KUBESPRAY_SOURCE``: a kubespray git repository with the tag, or the release
archive), and it takes most of an hour on two cores. kubedojo fetches that archive the way it fetches
the release from GitHub, from a server on loopback. The hosts sit on their own bridge
(``10.198.0.0/24``), reach nothing beyond it and this machine's address on it, where ``site.serve``
serves the site bundle: the only source of every file and image kubespray installs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubedojo.config import parse_config
from kubedojo.onprem.kubespray import KUBESPRAY
from kubedojo.paths import CacheDirs

from ..ci import unmet_needs
from ..hosts.testhosts import HostSpec, TestHosts, TestNetwork
from ..unit.fileserver import serving

SOURCE_VARIABLE = "KUBEDOJO_KUBESPRAY_SOURCE"
NETWORK = TestNetwork(bridge="kdnodes0", cidr="10.198.0.0/24")
NODES = [HostSpec("site-cp1", node=True), HostSpec("site-w1", node=True)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.hosts)


def _archive(source: Path, into: Path) -> Path:
    """kubespray's release archive, as GitHub serves it at ``<tag>.tar.gz``."""
    name = f"{KUBESPRAY.version}.tar.gz"
    target = into / name
    if source.is_file():
        shutil.copyfile(source, target)
        return target
    prefix = f"kubespray-{KUBESPRAY.version.removeprefix('v')}/"
    with target.open("wb") as out:
        subprocess.run(
            [
                "git",
                "--git-dir",
                str(source),
                "archive",
                "--format=tar.gz",
                f"--prefix={prefix}",
                KUBESPRAY.version,
            ],
            stdout=out,
            check=True,
        )
    return target


@pytest.fixture(scope="session")
def kubespray_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A loopback mirror of kubespray's release archives (``onprem.kubespray_url``)."""
    reason = unmet_needs("the test hosts need root (network namespaces, runc)", ("runc", "ip", "ssh"))
    if reason is not None:
        pytest.fail(reason)
    raw = os.environ.get(SOURCE_VARIABLE, "")
    if not raw:
        pytest.fail(
            f"{SOURCE_VARIABLE} is not set: point it at a kubespray git repository holding the tag "
            f"{KUBESPRAY.version} or at its release archive {KUBESPRAY.version}.tar.gz"
        )
    source = Path(raw).expanduser()
    git_dir = source / ".git" if (source / ".git").is_dir() else source
    if not source.exists():
        pytest.fail(f"{SOURCE_VARIABLE}={raw}: no such file or directory")
    mirror = tmp_path_factory.mktemp("kubespray-mirror")
    _archive(source if source.is_file() else git_dir, mirror)
    with serving(mirror) as url:
        yield url


@pytest.fixture(scope="session")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestHosts]:
    cache = CacheDirs.under(parse_config({}).cache_root)
    hosts = TestHosts(cache, tmp_path_factory.mktemp("nodes"), NODES, network=NETWORK)
    with hosts.running():
        yield hosts
    assert hosts.leftovers() == [], "the node hosts left things behind"
