"""An offline bundle: the pinned chart archives and the images they run, in one directory that can be
carried to a site without internet.

    <bundle>/bundle.yaml     what is in it: per release the chart archive, its sha256 and its images
    <bundle>/charts/*.tgz    the chart archives
    <bundle>/images.txt      every image, one per line (for mirroring into the site's registry)

Installing from a bundle contacts no chart repository; each archive is checked against the sha256
the bundle recorded (and that recorded against the release's pinned ``digest``, when it has one).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import AddonError, ConfigError
from ..files import write_atomic
from .releases import Release

__all__ = ["BUNDLE_FILE", "Bundle", "BundledChart", "images_in", "pod_template_spec", "sha256_of"]

BUNDLE_FILE = "bundle.yaml"
_POD_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


def sha256_of(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def pod_template_spec(obj: Mapping[str, Any]) -> Any:
    """The pod spec of a Pod or of a workload's pod template, as the object holds it (not a copy);
    None for an object of another kind or without one."""
    path = _POD_PATHS.get(str(obj.get("kind")))
    spec: Any = obj if path else None
    for key in path or ():
        spec = spec.get(key) if isinstance(spec, Mapping) else None
    return spec if isinstance(spec, Mapping) else None


def images_in(objects: Iterable[Mapping[str, Any]]) -> set[str]:
    """The images of every container of every pod template among rendered objects."""
    found: set[str] = set()
    for obj in objects:
        spec = pod_template_spec(obj)
        if spec is None:
            continue
        for field in ("initContainers", "containers", "ephemeralContainers"):
            for container in spec.get(field) or []:
                if isinstance(container, Mapping) and container.get("image"):
                    found.add(str(container["image"]))
    return found


@dataclass(frozen=True)
class BundledChart:
    release: str
    chart: str
    version: str
    file: str
    sha256: str
    images: tuple[str, ...]


class Bundle:
    """A bundle directory, read or being written."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def charts_dir(self) -> Path:
        return self.directory / "charts"

    def load(self) -> dict[str, BundledChart]:
        path = self.directory / BUNDLE_FILE
        try:
            data = yaml.safe_load(path.read_text())
            entries = data["releases"]
            return {
                name: BundledChart(
                    name,
                    str(e["chart"]),
                    str(e["version"]),
                    str(e["file"]),
                    str(e["sha256"]),
                    tuple(str(i) for i in e.get("images") or ()),
                )
                for name, e in entries.items()
            }
        except FileNotFoundError:
            raise ConfigError(
                f"{path}: no bundle here; make one with 'invoke charts.pull --bundle {self.directory}'"
            ) from None
        except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(f"{path}: not a kubedojo bundle ({type(exc).__name__}: {exc})") from None

    def chart_path(self, release: Release) -> Path:
        """The release's archive in the bundle, checked; :class:`AddonError` if absent or altered."""
        entries = self.load()
        entry = entries.get(release.name)
        if entry is None:
            raise AddonError(
                f"release {release.name}: the bundle {self.directory} has no chart for it; "
                "run 'invoke charts.pull'"
            )
        if entry.version != release.version:
            raise AddonError(
                f"release {release.name}: the bundle has chart version {entry.version}, releases.yaml pins "
                f"{release.version}; pull the bundle again"
            )
        path = self.directory / entry.file
        if not path.is_file():
            raise AddonError(f"release {release.name}: {path} is missing from the bundle")
        found = sha256_of(path)
        if found != entry.sha256:
            raise AddonError(
                f"release {release.name}: {path} has sha256 {found}, the bundle recorded {entry.sha256}"
            )
        return path

    def write(self, entries: Iterable[BundledChart]) -> None:
        entries = sorted(entries, key=lambda e: e.release)
        releases = {
            e.release: {
                "chart": e.chart,
                "version": e.version,
                "file": e.file,
                "sha256": e.sha256,
                "images": list(e.images),
            }
            for e in entries
        }
        images = sorted({i for e in entries for i in e.images})
        header = "# Made by 'invoke charts.pull'; install with 'invoke charts.install --bundle DIR'.\n"
        write_atomic(
            self.directory / BUNDLE_FILE,
            header
            + yaml.safe_dump({"kubedojo_bundle": 1, "releases": releases, "images": images}, sort_keys=False),
        )
        write_atomic(self.directory / "images.txt", "".join(f"{i}\n" for i in images))
