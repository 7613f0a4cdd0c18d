"""A directory served over HTTP on 127.0.0.1, for the download tests."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["serving"]


@contextlib.contextmanager
def serving(
    root: Path, handler: type[http.server.SimpleHTTPRequestHandler] = http.server.SimpleHTTPRequestHandler
) -> Iterator[str]:
    """Serve ``root`` (quietly, with ``handler``) while the block runs; yields the base URL."""

    class Quiet(handler):  # type: ignore[valid-type,misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
