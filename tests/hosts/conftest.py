"""Ansible against test hosts over real SSH (see testhosts.py): one set of hosts for this package.

Outside CI a machine that cannot run them (not root, tools missing) skips these tests with the
reason; in CI (``CI`` set) that is a failure, never a skip. Each test gets a fresh site directory;
what a test does to a host (markers, records, listeners) is undone after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubedojo.config import parse_config
from kubedojo.onprem.cluster import OnpremCluster
from kubedojo.paths import CacheDirs

from ..ci import skip_or_fail, unmet_needs
from .testhosts import HostSpec, TestHosts

REPO = Path(__file__).resolve().parents[2]
STANDIN = Path(__file__).resolve().parent / "standin_kubespray"
"""Stands in for kubespray's playbooks (see its README): kubedojo's driver runs it for real."""

HOSTS = [
    HostSpec("cp1"),
    HostSpec("node1"),
    HostSpec("node2"),
    HostSpec("node3"),
    HostSpec("swapper", swap_mb=512),
    HostSpec("nosudo", sudo_password=True),
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/hosts/" in str(item.fspath):
            item.add_marker(pytest.mark.hosts)


def _unusable_reason() -> str | None:
    return unmet_needs(
        "the test hosts need root (network namespaces, runc)", ("runc", "ip", "debootstrap", "ssh")
    )


@pytest.fixture(scope="package")
def host_cache() -> CacheDirs:
    """The cache the test-host image is built into; skips (fails in CI) where hosts cannot run."""
    reason = _unusable_reason()
    if reason is not None:
        skip_or_fail(reason, "host tests")
    return CacheDirs.under(parse_config({}).cache_root)


@pytest.fixture(scope="package")  # gone before the cluster tests' final "nothing left behind" check
def test_hosts(host_cache: CacheDirs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestHosts]:
    cache = host_cache
    hosts = TestHosts(cache, tmp_path_factory.mktemp("testhosts"), HOSTS)
    with hosts.running():
        yield hosts
    assert hosts.leftovers() == [], "the test hosts left things behind"


@pytest.fixture(autouse=True)
def _undo_host_changes(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "test_hosts" in request.fixturenames:
        hosts: TestHosts = request.getfixturevalue("test_hosts")
        for host in hosts.hosts.values():
            host.sh(
                "rm -rf /etc/kubespray-standin /var/lib/kubespray-standin /etc/kubernetes; "
                "pkill -f 'http.server' || true; pkill -x sleep || true",
                check=False,
            )


Node = dict[str, Any]


@pytest.fixture
def make_site(test_hosts: TestHosts, tmp_path: Path) -> Callable[..., Path]:
    """Write a site directory for some of the test hosts: ``make_site({"cp1": {...}, ...}, **keys)``."""

    def make(nodes: dict[str, Node], **keys: Any) -> Path:
        site = tmp_path / "site"
        site.mkdir(exist_ok=True)
        entries = []
        for name, extra in nodes.items():
            address = (
                test_hosts.hosts[name].address if name in test_hosts.hosts else test_hosts.unused_address
            )
            entries.append({"name": name, "address": address, **extra})
        assert test_hosts.key is not None
        data = {
            "ssh": {"user": "kdadmin", "key": str(test_hosts.key.private), "connect_timeout": 3},
            "nodes": entries,
            **keys,
        }
        (site / "site.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
        return site

    return make


def standin_config(tmp_path: Path) -> Any:
    return parse_config(
        {"onprem": {"kubespray_checkout": str(STANDIN)}, "cache_dir": str(tmp_path / "cache")}
    )


@pytest.fixture
def onprem(tmp_path: Path) -> Iterator[Callable[..., OnpremCluster]]:
    """An OnpremCluster for a site directory, driving the stand-in playbooks. Afterwards the SSH
    connections that runs made outside an operation (tests calling the runner directly) are closed."""
    made: list[OnpremCluster] = []

    def make(site: Path, **kwargs: Any) -> OnpremCluster:
        cluster = OnpremCluster(site, standin_config(tmp_path), REPO, **kwargs)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.runner.close_connections()


THREE = {"cp1": {"roles": ["control-plane", "etcd", "worker"]}, "node1": {}, "node2": {}}
