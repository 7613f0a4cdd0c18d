"""Which Kubernetes version a site's run installs, and which upgrades kubespray and kubeadm allow.

kubespray installs only versions it has checksums for; kubeadm upgrades one minor version at a time
and never downgrades. The version a site's cluster runs is remembered (:class:`SiteState`), so a later
``cluster.up`` or ``cluster.scale`` converges on it instead of going back to the version pinned in
kubedojo or written in site.yaml before an upgrade.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..files import write_atomic
from ..versions import KUBESPRAY_VERSION
from .kubespray import version_tuple

__all__ = ["SiteState", "install_version", "upgrade_problem"]


@dataclass(frozen=True)
class SiteState:
    """What kubedojo remembers about a site's cluster between runs (``<site>/state.json``)."""

    path: Path

    @classmethod
    def of(cls, site_dir: Path) -> SiteState:
        return cls(site_dir / "state.json")

    def _read(self) -> dict[str, object]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"{self.path}: unreadable ({exc}); delete it only if the site has no cluster"
            ) from None
        return data if isinstance(data, dict) else {}

    @property
    def kubernetes_version(self) -> str:
        """The version the cluster was last brought to, or "" (none yet, or reset)."""
        return str(self._read().get("kubernetes_version") or "")

    def remember(self, version: str) -> None:
        data = self._read()
        data["kubernetes_version"] = version
        write_atomic(self.path, json.dumps(data, indent=2) + "\n")

    def forget(self) -> None:
        self.path.unlink(missing_ok=True)


def _minor(version: str) -> tuple[int, ...]:
    return version_tuple(version)[:2]


def _supported_problem(version: str, supported: Sequence[str]) -> str | None:
    if version in supported:
        return None
    same_minor = [v for v in supported if _minor(v) == _minor(version)]
    hint = f"; its {'.'.join(map(str, _minor(version)))} line ends at {same_minor[0]}" if same_minor else ""
    return (
        f"kubespray {KUBESPRAY_VERSION} has no checksums for Kubernetes {version} (it installs "
        f"{supported[-1]} to {supported[0]}{hint})"
    )


def install_version(wanted: str, remembered: str, pinned: str, supported: Sequence[str], source: str) -> str:
    """The version ``cluster.up``/``scale`` installs: the remembered one if the cluster has one, else
    site.yaml's ``kubernetes_version`` (``wanted``), else ``pinned``. ``source`` names site.yaml."""
    if remembered:
        if wanted and wanted != remembered:
            if version_tuple(wanted) < version_tuple(remembered):
                raise ConfigError(
                    f"{source}: 'kubernetes_version' {wanted} is older than the {remembered} the cluster "
                    "runs, and kubespray cannot go back; set it to that version or remove it"
                )
            raise ConfigError(
                f"{source}: 'kubernetes_version' {wanted} is newer than the {remembered} the cluster runs; "
                f"change it with 'invoke cluster.upgrade --version {wanted}', which upgrades node by node"
            )
        return remembered
    version = wanted or pinned
    problem = _supported_problem(version, supported)
    if problem:
        key = f"'kubernetes_version' {version}" if wanted else f"kubedojo's pinned Kubernetes {version}"
        raise ConfigError(f"{source}: {key}: {problem}")
    return version


def upgrade_problem(current: str, target: str, supported: Sequence[str]) -> str | None:
    """Why the cluster at ``current`` cannot be upgraded to ``target``, or None."""
    problem = _supported_problem(target, supported)
    if problem:
        return problem
    if version_tuple(target) < version_tuple(current):
        return f"{target} is older than the {current} the cluster runs; kubespray and kubeadm never downgrade"
    low, high = _minor(current), _minor(target)
    if high[0] != low[0] or high[1] > low[1] + 1:
        step = [v for v in supported if _minor(v) == (low[0], low[1] + 1)]
        first = f"'--version {step[0]}' first" if step else "the next minor version first"
        return (
            f"{current} to {target} skips a minor version, and kubeadm upgrades one at a time; "
            f"upgrade with {first}"
        )
    return None
