"""Reading an image registry (the Docker Registry HTTP API v2, plain HTTP): which digests an image
tag stands for.

Grading asks it for the digests of a lab's image, to compare with the ``imageID`` the kubelet
reports for the container that produced the evidence (:mod:`kubedojo.labs.integrity`).
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import RegistryError

__all__ = ["ImageDigests", "RegistryClient"]

_ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)

Opener = Callable[[urllib.request.Request, float], Any]


def _open(request: urllib.request.Request, timeout: float) -> Any:
    return urllib.request.urlopen(request, timeout=timeout)


@dataclass(frozen=True)
class ImageDigests:
    """What one tag stands for: its manifest's digest (what a node that pulled it reports as the
    image's repo digest) and its config's digest (the image ID)."""

    manifest: str
    config: str

    def all(self) -> frozenset[str]:
        return frozenset(d for d in (self.manifest, self.config) if d)


class RegistryClient:
    """One registry, read over plain HTTP (the local registry is on loopback)."""

    def __init__(self, address: str, timeout: float = 10.0, opener: Opener = _open) -> None:
        self.address = address
        self.timeout = timeout
        self._open = opener

    def digests(self, repository: str, tag: str) -> ImageDigests | None:
        """The digests of ``repository:tag``, or None when the registry has no such tag.

        Raises :class:`RegistryError` when the registry cannot be read."""
        url = f"http://{self.address}/v2/{repository}/manifests/{tag}"
        request = urllib.request.Request(url, headers={"Accept": _ACCEPT})
        try:
            with self._open(request, self.timeout) as response:
                body = response.read()
                header = response.headers.get("Docker-Content-Digest") or ""
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise RegistryError(f"registry {self.address}: {url} answered {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RegistryError(f"registry {self.address} cannot be reached: {reason}") from None
        try:
            manifest = json.loads(body)
        except ValueError:
            raise RegistryError(f"registry {self.address}: {url} is not a JSON manifest") from None
        manifest_digest = header or "sha256:" + hashlib.sha256(body).hexdigest()
        config = str((manifest.get("config") or {}).get("digest") or "")
        return ImageDigests(_hex(manifest_digest), _hex(config))


def _hex(digest: str) -> str:
    return digest.removeprefix("sha256:")
