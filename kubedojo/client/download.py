"""Downloads over HTTP(S): streamed to disk with the sha256 computed on the way, and a file that appears
whole or not at all (written beside the target, renamed into place only when complete and checked).

Every failure (an HTTP status, no connection, a timeout, a connection cut short, a checksum that does not
match) is one :class:`~kubedojo.errors.DownloadError` line naming the URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from ..errors import DownloadError

__all__ = ["download", "read_url"]

_CHUNK = 1 << 20


def download(url: str, target: Path, *, timeout: float, sha256: str = "") -> str:
    """Fetch ``url`` into ``target`` and return the content's sha256 (hex). With ``sha256`` given,
    other content is refused and nothing is written. ``timeout`` bounds each wait on the server."""
    digest = hashlib.sha256()
    handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with (
            os.fdopen(handle, "wb") as sink,
            _errors_named(url),
            urllib.request.urlopen(url, timeout=timeout) as response,
        ):
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                sink.write(chunk)
            missing = getattr(response, "length", None)  # promised by Content-Length, never sent
            if missing:
                raise http.client.IncompleteRead(b"", missing)
        found = digest.hexdigest()
        if sha256 and found != sha256.lower():
            raise DownloadError(
                f"{url}: sha256 {found} is not the expected {sha256.lower()}; nothing was kept"
            )
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)
    return found


def read_url(url: str, *, timeout: float, limit: int = 1 << 16) -> bytes:
    """The first ``limit`` bytes at ``url`` (a checksum file, a small manifest)."""
    with _errors_named(url), urllib.request.urlopen(url, timeout=timeout) as response:
        data: bytes = response.read(limit)
        return data


@contextlib.contextmanager
def _errors_named(url: str) -> Iterator[None]:
    try:
        yield
    except urllib.error.HTTPError as exc:
        raise DownloadError(f"cannot download {url}: HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise DownloadError(f"cannot download {url}: {exc.reason}") from None
    except http.client.IncompleteRead:
        raise DownloadError(f"cannot download {url}: the connection closed before the end") from None
    except (http.client.HTTPException, OSError) as exc:
        raise DownloadError(f"cannot download {url}: {exc or type(exc).__name__}") from None
