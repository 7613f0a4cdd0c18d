"""Health probes: one HTTP(S) request each, bounded in time."""

from __future__ import annotations

import contextlib
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HttpProbe", "UnixSocketProbe"]


@dataclass(frozen=True)
class HttpProbe:
    """Healthy when ``url`` answers 200 (optionally with a body that contains ``expect``)."""

    url: str
    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    verify: bool = True
    expect: str | None = None

    def __call__(self, timeout: float = 2.0) -> bool:
        context: ssl.SSLContext | None = None
        if self.url.startswith("https://"):
            context = ssl.create_default_context(cafile=str(self.ca) if self.ca else None)
            if not self.verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if self.cert is not None:
                context.load_cert_chain(str(self.cert), str(self.key) if self.key else None)
        try:
            with urllib.request.urlopen(self.url, timeout=timeout, context=context) as response:
                body = response.read(65536).decode("utf-8", "replace")
                return response.status == 200 and (self.expect is None or self.expect in body)
        except (urllib.error.URLError, OSError, ValueError):
            return False


@dataclass(frozen=True)
class UnixSocketProbe:
    """Healthy when something accepts connections on the socket."""

    path: Path

    def __call__(self, timeout: float = 2.0) -> bool:
        with contextlib.closing(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)) as sock:
            sock.settimeout(timeout)
            try:
                sock.connect(str(self.path))
            except OSError:
                return False
            return True
