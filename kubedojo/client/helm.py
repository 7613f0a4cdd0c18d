"""helm, through pyhelm3 (and, for downloading chart archives, the helm CLI directly). Only this module
imports ``pyhelm3``.

pyhelm3's calls are coroutines; the core awaits them so that independent releases install
concurrently. helm keeps its configuration, cache and data under kubedojo's cache
(``HELM_CONFIG_HOME`` …), never in the user's home, and is told the cluster by ``--kubeconfig``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AddonError, ToolMissingError
from .commands import Runner

__all__ = ["ChartRef", "DeployedRelease", "HelmClient", "find_helm"]

_MIN_MAJOR = 3


def _version_of(binary: str, runner: Runner) -> str:
    out = runner.run([binary, "version", "--template", "{{ .Version }}"], timeout=30, check=False)
    return out.stdout.strip() if out.returncode == 0 else ""


def find_helm(configured: str, built: Path, runner: Runner | None = None) -> str:
    """The helm binary to use: the configured one, kubedojo's pinned build, or helm 3+ on PATH."""
    runner = runner or Runner()
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file() or not os.access(path, os.X_OK):
            raise ToolMissingError(configured, "charts.helm in workshop.yaml names no executable file")
        return str(path)
    if built.is_file():
        return str(built)
    found = shutil.which("helm")
    if found:
        version = _version_of(found, runner)
        match = re.match(r"v(\d+)\.\d+\.\d+", version)
        if match and int(match.group(1)) >= _MIN_MAJOR:
            return found
    raise ToolMissingError(
        "helm",
        "run 'invoke charts.helm' to build the pinned helm from Go modules (needs Go), "
        "or put helm v4 on PATH",
    )


@dataclass(frozen=True)
class ChartRef:
    """Where a chart comes from: a repository (URL and name) or a local directory or archive."""

    name: str
    version: str
    repo: str = ""
    path: str = ""

    @property
    def reference(self) -> str:
        return self.path or self.name


@dataclass(frozen=True)
class DeployedRelease:
    name: str
    namespace: str
    revision: int
    status: str
    chart: str
    chart_version: str
    values: Mapping[str, Any]
    updated: str


def _message(exc: Exception) -> str:
    stderr = getattr(exc, "stderr", None)
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else str(stderr or exc)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("WARNING")]
    return (lines[-1] if lines else type(exc).__name__).removeprefix("Error: ")


class HelmClient:
    """One helm binary, one cluster (kubeconfig), kubedojo's own helm homes."""

    def __init__(
        self, binary: str, kubeconfig: Path | None, home: Path, runner: Runner | None = None
    ) -> None:
        from pyhelm3 import Client

        # pyhelm3 logs every helm command that fails, including the expected "release: not found" of
        # a release not installed yet; kubedojo reports failures itself, in one line.
        logging.getLogger("pyhelm3").addHandler(logging.NullHandler())
        logging.getLogger("pyhelm3").propagate = False
        self.binary = binary
        self.kubeconfig = kubeconfig
        self.runner = runner or Runner()
        self.home = home
        self.env = {
            "HELM_CONFIG_HOME": str(home / "config"),
            "HELM_CACHE_HOME": str(home / "cache"),
            "HELM_DATA_HOME": str(home / "data"),
        }
        for key, value in self.env.items():
            os.environ[key] = value  # pyhelm3's helm processes inherit the environment
        try:
            self._client = Client(
                executable=binary, kubeconfig=kubeconfig, unpack_directory=str(home / "unpack")
            )
        except (AssertionError, ValueError, OSError) as exc:
            raise ToolMissingError(binary, f"is not a working helm ({exc})") from None
        self.version = str(self._client.version)

    # -- charts --------------------------------------------------------------------------------

    async def chart(self, ref: ChartRef) -> Any:
        """The chart's metadata (pyhelm3's Chart), from its repository or path."""
        from pyhelm3 import errors

        try:
            if ref.path:
                return await self._client.get_chart(Path(ref.path), version=ref.version)
            return await self._client.get_chart(ref.name, repo=ref.repo, version=ref.version)
        except errors.Error as exc:
            raise AddonError(
                f"chart {ref.name} {ref.version} from {ref.repo or ref.path}: {_message(exc)}"
            ) from None

    async def template(
        self, chart: Any, release: str, values: Mapping[str, Any], namespace: str
    ) -> list[dict[str, Any]]:
        """The objects the chart renders (CRDs and hooks included)."""
        from pyhelm3 import errors

        try:
            objects = await self._client.template_resources(
                chart, release, dict(values), include_crds=True, namespace=namespace
            )
            return [obj for obj in objects if obj]
        except errors.Error as exc:
            raise AddonError(f"release {release}: rendering failed: {_message(exc)}") from None

    def pull(self, ref: ChartRef, into: Path) -> Path:
        """Download a repository chart's archive into ``into``; its path."""
        into.mkdir(parents=True, exist_ok=True)
        argv = [
            self.binary,
            "pull",
            ref.name,
            "--repo",
            ref.repo,
            "--version",
            ref.version,
            "--destination",
            str(into),
        ]
        result = self.runner.run(argv, timeout=300, env=self.env, check=False)
        if result.returncode != 0:
            detail = _message(Exception(result.stderr or result.stdout))
            raise AddonError(f"chart {ref.name} {ref.version} from {ref.repo}: {detail}")
        return into / f"{ref.name}-{ref.version}.tgz"

    def package(self, chart_dir: Path, into: Path) -> Path:
        """Package a chart directory into an archive in ``into``; its path."""
        into.mkdir(parents=True, exist_ok=True)
        result = self.runner.run(
            [self.binary, "package", str(chart_dir), "--destination", str(into)],
            timeout=120,
            env=self.env,
            check=False,
        )
        if result.returncode != 0:
            raise AddonError(f"packaging {chart_dir}: {_message(Exception(result.stderr or result.stdout))}")
        saved = result.stdout.strip().rsplit(":", 1)[-1].strip()
        return Path(saved)

    # -- releases ------------------------------------------------------------------------------

    async def deployed(self, release: str, namespace: str) -> DeployedRelease | None:
        """The release's current revision (any status), or None if it does not exist."""
        from pyhelm3 import errors

        try:
            revision = await self._client.get_current_revision(release, namespace=namespace)
            metadata = await revision.chart_metadata()
            values = await revision.values()
        except errors.ReleaseNotFoundError:
            return None
        except errors.Error as exc:
            raise AddonError(f"release {release} in {namespace}: {_message(exc)}") from None
        return DeployedRelease(
            name=release,
            namespace=namespace,
            revision=int(revision.revision),
            status=str(getattr(revision.status, "value", revision.status)),
            chart=metadata.name,
            chart_version=metadata.version,
            values=values or {},
            updated=str(revision.updated),
        )

    async def manifest(self, release: str, namespace: str) -> list[dict[str, Any]]:
        from pyhelm3 import errors

        try:
            revision = await self._client.get_current_revision(release, namespace=namespace)
            return [obj for obj in await revision.resources() if obj]
        except errors.ReleaseNotFoundError:
            return []
        except errors.Error as exc:
            raise AddonError(f"release {release} in {namespace}: {_message(exc)}") from None

    async def install(
        self,
        release: str,
        chart: Any,
        values: Mapping[str, Any],
        namespace: str,
        timeout: float,
        server_side: bool = True,
    ) -> int:
        """Install or upgrade, waiting for readiness; on failure helm rolls back (or uninstalls a
        first install) before :class:`AddonError` is raised. Returns the new revision.
        ``server_side``: False makes helm apply client-side (its 3-way merge)."""
        from pyhelm3 import errors

        try:
            revision = await self._client.install_or_upgrade_release(
                release,
                chart,
                dict(values),
                rollback_on_failure=True,
                create_namespace=False,
                namespace=namespace,
                timeout=f"{int(timeout)}s",
                wait=True,
                server_side=None if server_side else "false",
            )
        except errors.Error as exc:
            raise AddonError(_message(exc)) from None
        return int(revision.revision)

    async def uninstall(self, release: str, namespace: str, timeout: float) -> None:
        from pyhelm3 import errors

        try:
            await self._client.uninstall_release(
                release, namespace=namespace, wait=True, timeout=f"{int(timeout)}s"
            )
        except errors.Error as exc:
            raise AddonError(f"uninstalling {release} from {namespace}: {_message(exc)}") from None

    async def releases(self) -> list[dict[str, Any]]:
        """Every release in every namespace, whatever its status (helm list -a -A)."""
        from pyhelm3 import errors

        try:
            found = await self._client.list_release_definitions(
                all_namespaces=True,
                include_deployed=True,
                include_failed=True,
                include_pending=True,
                include_superseded=True,
                include_uninstalling=True,
            )
            return [dict(r) for r in found]
        except errors.Error as exc:
            raise AddonError(f"listing releases: {_message(exc)}") from None
