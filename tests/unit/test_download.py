"""The one download helper, against a file server on loopback: a file appears whole and checked, or not
at all, and every failure is one DownloadError line naming the URL."""

from __future__ import annotations

import hashlib
import http.server
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubedojo.client.download import download, read_url
from kubedojo.errors import DownloadError

from .fileserver import serving

BODY = b"release bytes\n" * 1000
DIGEST = hashlib.sha256(BODY).hexdigest()


class CutShort(http.server.SimpleHTTPRequestHandler):
    """``/short`` promises more bytes than it sends, then hangs up; other paths are files."""

    def do_GET(self) -> None:
        if self.path != "/short":
            super().do_GET()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY[:100])
        self.close_connection = True


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "www"
    root.mkdir()
    (root / "file").write_bytes(BODY)
    with serving(root, CutShort) as url:
        yield url


@pytest.fixture
def into(tmp_path: Path) -> Path:
    directory = tmp_path / "into"
    directory.mkdir()
    return directory


def test_a_download_is_written_whole_and_returns_its_sha256(site: str, into: Path) -> None:
    assert download(f"{site}/file", into / "f", timeout=10) == DIGEST
    assert (into / "f").read_bytes() == BODY
    assert download(f"{site}/file", into / "f", timeout=10, sha256=DIGEST.upper()) == DIGEST
    assert [p.name for p in into.iterdir()] == ["f"]


def test_a_checksum_mismatch_leaves_nothing_behind(site: str, into: Path) -> None:
    with pytest.raises(DownloadError) as error:
        download(f"{site}/file", into / "f", timeout=10, sha256="0" * 64)
    assert (
        str(error.value) == f"{site}/file: sha256 {DIGEST} is not the expected {'0' * 64}; nothing was kept"
    )
    assert list(into.iterdir()) == []


def test_a_checksum_mismatch_keeps_the_file_that_was_there(site: str, into: Path) -> None:
    (into / "f").write_bytes(b"old")
    with pytest.raises(DownloadError):
        download(f"{site}/file", into / "f", timeout=10, sha256="0" * 64)
    assert [p.read_bytes() for p in into.iterdir()] == [b"old"]


def test_a_missing_file_is_its_http_status(site: str, into: Path) -> None:
    with pytest.raises(DownloadError, match=rf"^cannot download {site}/nothing: HTTP 404$"):
        download(f"{site}/nothing", into / "f", timeout=10)
    with pytest.raises(DownloadError, match=rf"^cannot download {site}/nothing.sha256: HTTP 404$"):
        read_url(f"{site}/nothing.sha256", timeout=10)
    assert list(into.iterdir()) == []


def test_a_connection_cut_short_is_a_download_error(site: str, into: Path) -> None:
    with pytest.raises(DownloadError, match=rf"^cannot download {site}/short: the connection closed before"):
        download(f"{site}/short", into / "f", timeout=10)
    assert list(into.iterdir()) == []


def test_no_server_is_a_download_error(into: Path) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{unused.getsockname()[1]}/file"
    with pytest.raises(DownloadError, match=rf"^cannot download {url}: .*refused"):
        download(url, into / "f", timeout=10)
    assert list(into.iterdir()) == []


def test_read_url_reads_at_most_the_limit(site: str) -> None:
    assert read_url(f"{site}/file", timeout=10, limit=14) == b"release bytes\n"
