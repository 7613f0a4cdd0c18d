"""Serving a site bundle: the files repository and the registry start as real daemons (on loopback),
answer, are found running by a second start, and stop; a wrong bundle or address is refused in one line."""

from __future__ import annotations

import hashlib
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubedojo.errors import ConfigError
from kubedojo.onprem.offline import FILES, Member
from kubedojo.onprem.sitebundle import load_manifest, pack_file, write_manifest
from kubedojo.onprem.siteserve import SiteServer

from ..ci import skip_or_fail

REGISTRY = Path("/usr/bin/docker-registry")


def _need_registry() -> None:
    if not REGISTRY.is_file():
        skip_or_fail(f"{REGISTRY} is not installed (run ./scripts/setup)", "serving a site bundle")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    built = tmp_path / "built"
    built.mkdir()

    def program(member: Member) -> Path:
        path = built / f"{member.programs.name}-{member.program}"
        path.write_bytes(f"{member.programs.name}/{member.program}\n".encode())
        return path

    directory = tmp_path / "bundle"
    write_manifest(directory, [pack_file(f, program, directory) for f in FILES], [])
    return directory


@pytest.fixture
def server(bundle: Path, tmp_path: Path) -> Iterator[SiteServer]:
    _need_registry()
    made = SiteServer(
        bundle, tmp_path / "serve", f"http://127.0.0.1:{_free_port()}", f"127.0.0.1:{_free_port()}"
    )
    try:
        yield made
    finally:
        made.stop()


def test_the_files_and_the_registry_are_served_until_stopped(server: SiteServer, bundle: Path) -> None:
    report = server.start()
    assert report.started == ("files", "registry")
    kubelet = load_manifest(bundle)["kubelet"]
    with urllib.request.urlopen(f"{server.files_repo}/{kubelet.path}", timeout=5) as response:
        assert hashlib.sha256(response.read()).hexdigest() == kubelet.sha256
    with urllib.request.urlopen(f"http://{server.registry}/v2/", timeout=5) as response:
        assert response.status == 200
    # Started again (a second cluster.up, say): both are found running and left alone.
    assert server.start().started == ()
    assert server.running() == {"files": True, "registry": True}
    assert sorted(server.stop()) == ["files", "registry"]
    assert server.running() == {"files": False, "registry": False}
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{server.files_repo}/", timeout=2)


def test_a_bundle_without_kubesprays_files_starts_nothing(tmp_path: Path) -> None:
    server = SiteServer(tmp_path, tmp_path / "serve", "http://127.0.0.1:18080", "127.0.0.1:15000")
    with pytest.raises(ConfigError, match=r"manifest.yaml: missing"):
        server.start()
    assert not (tmp_path / "serve").exists()


def test_an_address_that_is_not_this_machines_is_named(bundle: Path, tmp_path: Path) -> None:
    _need_registry()
    server = SiteServer(bundle, tmp_path / "serve", "http://192.0.2.7:8080", f"127.0.0.1:{_free_port()}")
    try:
        with pytest.raises(
            ConfigError, match=r"the site's files server stopped at once; see .*files.log \(is "
        ):
            server.start(timeout=10)
    finally:
        server.stop()
    with pytest.raises(ConfigError, match=r"kubedojo serves http://host:port"):
        SiteServer(bundle, tmp_path, "https://127.0.0.1", "127.0.0.1:5000")
