"""Serving a site bundle to the nodes of a site without internet: a files repository and a registry,
started by kubedojo on a machine the nodes reach (``invoke site.serve``).

* the **files repository** serves ``<bundle>/kubespray/files`` over HTTP (Python's own threading HTTP
  server): kubespray's downloads, at the paths :func:`~kubedojo.onprem.offline.offline_variables`
  points the nodes at;
* the **registry** is Debian's ``docker-registry`` (the CNCF distribution registry), plain HTTP, its
  storage in the site's directory; the bundle's images are pushed into it once it answers.

Both are daemons with pidfiles in ``inventory/<site>/serve/`` that outlive the command, so the nodes
keep pulling (new pods, new nodes, lab images) for the whole workshop; ``site.serve --stop`` ends them.
Starting again finds them running and leaves them alone.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ..client.probes import HttpProbe
from ..client.processes import Daemon, ProcessTable
from ..errors import ConfigError, WaitTimeout
from ..files import write_atomic
from ..local.node import registry_config
from .sitebundle import FILES_DIR, load_manifest

__all__ = ["ServeReport", "SiteServer"]

_REGISTRY = "/usr/bin/docker-registry"


@dataclass(frozen=True)
class ServeReport:
    files_repo: str
    registry: str
    started: tuple[str, ...]
    """The daemons started now (empty: both were running)."""


class SiteServer:
    """The files repository and registry of one site, from its bundle."""

    def __init__(
        self,
        bundle: Path,
        state_dir: Path,
        files_repo: str,
        registry: str,
        processes: ProcessTable | None = None,
    ) -> None:
        self.bundle = bundle
        self.state_dir = state_dir
        self.files_repo = files_repo.rstrip("/")
        self.registry = registry
        self.processes = processes or ProcessTable()
        files = urlsplit(self.files_repo)
        if files.scheme != "http" or not files.hostname or not files.port:
            raise ConfigError(f"offline.files_repo {files_repo!r}: kubedojo serves http://host:port")
        self._files_host, self._files_port = files.hostname, files.port

    # -- the daemons -----------------------------------------------------------------------------

    @property
    def files_daemon(self) -> Daemon:
        return Daemon(
            "files",
            [
                sys.executable,
                "-m",
                "http.server",
                "--bind",
                self._files_host,
                "--directory",
                str(self.bundle / FILES_DIR),
                str(self._files_port),
            ],
            self.state_dir / "files.log",
            self.state_dir / "files.pid",
        )

    @property
    def registry_daemon(self) -> Daemon:
        return Daemon(
            "registry",
            [_REGISTRY, "serve", str(self.state_dir / "registry.yaml")],
            self.state_dir / "registry.log",
            self.state_dir / "registry.pid",
        )

    def _probes(self) -> dict[str, HttpProbe]:
        return {
            "files": HttpProbe(f"{self.files_repo}/"),
            "registry": HttpProbe(f"http://{self.registry}/v2/"),
        }

    def start(self, timeout: float = 30.0) -> ServeReport:
        """Start whichever daemon is not running and wait until both answer (``timeout`` seconds)."""
        load_manifest(self.bundle)  # a bundle kubespray can use, before anything starts
        if not Path(_REGISTRY).is_file():
            raise ConfigError(f"{_REGISTRY}: missing; 'apt-get install docker-registry' (scripts/setup does)")
        write_atomic(
            self.state_dir / "registry.yaml",
            registry_config(self.state_dir / "registry", self.registry, delete=False),
        )
        started = []
        for daemon in (self.files_daemon, self.registry_daemon):
            if not self.processes.alive(daemon):
                self.processes.start(daemon)
                started.append(daemon.name)
        self._wait(timeout)
        return ServeReport(self.files_repo, self.registry, tuple(started))

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting = dict(self._probes())
        while waiting:
            waiting = {name: probe for name, probe in waiting.items() if not probe()}
            if not waiting:
                return
            for name in waiting:
                daemon = self.files_daemon if name == "files" else self.registry_daemon
                if not self.processes.alive(daemon):
                    raise ConfigError(
                        f"the site's {name} server stopped at once; see {daemon.log} (is the address "
                        f"{self.files_repo if name == 'files' else self.registry} one of this machine's?)"
                    )
            if time.monotonic() > deadline:
                raise WaitTimeout(
                    f"the site's {' and '.join(waiting)} server to answer (logs in {self.state_dir})", timeout
                )
            time.sleep(0.2)

    def stop(self) -> list[str]:
        """Stop both daemons; the names of those that were running."""
        return [d.name for d in (self.files_daemon, self.registry_daemon) if self.processes.stop(d)]

    def running(self) -> dict[str, bool]:
        return {d.name: self.processes.alive(d) for d in (self.files_daemon, self.registry_daemon)}
