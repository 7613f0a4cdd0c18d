"""The kubespray part of a site bundle: the files a kubespray run downloads, packed as its install tasks
unpack them, and a manifest of their checksums, next to the add-ons' charts and the images.

    <bundle>/kubespray/files/<host>/<path>   each file at its original URL's path (FILES)
    <bundle>/kubespray/manifest.yaml         per file its path and sha256; the images the nodes pull

Archives are written reproducibly (sorted members, fixed times and owners), so the same builds make
the same bytes and the same checksums. Reading the manifest checks it against the catalog: a bundle
made by another kubedojo (other versions) is refused by name, not served to kubespray to fail on.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..addons.bundle import sha256_of
from ..errors import ConfigError
from ..files import write_atomic
from ..versions import KUBESPRAY_VERSION
from .offline import FILES, Member, ServedFile

__all__ = [
    "KUBESPRAY_DIR",
    "MANIFEST",
    "BundledFile",
    "load_image_paths",
    "load_manifest",
    "pack_file",
    "write_manifest",
]

KUBESPRAY_DIR = "kubespray"
MANIFEST = f"{KUBESPRAY_DIR}/manifest.yaml"
FILES_DIR = f"{KUBESPRAY_DIR}/files"


@dataclass(frozen=True)
class BundledFile:
    key: str
    path: str
    sha256: str


def pack_file(served: ServedFile, program: Callable[[Member], Path], bundle: Path) -> BundledFile:
    """Write ``served`` into the bundle from the built programs (``program`` finds each member's
    binary) and return its entry. The file is written whole or not at all."""
    target = bundle / FILES_DIR / served.path
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.tmp")
    try:
        if not served.is_archive:
            shutil.copyfile(program(served.members[0]), staged)
            os.chmod(staged, 0o755)
        else:
            staged.write_bytes(_archive(served, program))
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    return BundledFile(served.key, served.path, sha256_of(target))


def _archive(served: ServedFile, program: Callable[[Member], Path]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        if served.top:
            directory = tarfile.TarInfo(served.top)
            directory.type, directory.mode, directory.mtime = tarfile.DIRTYPE, 0o755, 0
            tar.addfile(directory)
        for member in sorted(served.members, key=lambda m: m.name):
            data = program(member).read_bytes()
            info = tarfile.TarInfo(f"{served.top}/{member.name}" if served.top else member.name)
            info.size, info.mode, info.mtime = len(data), 0o755, 0
            tar.addfile(info, io.BytesIO(data))
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0) as zipped:
        zipped.write(raw.getvalue())
    return packed.getvalue()


def write_manifest(bundle: Path, files: Iterable[BundledFile], images: Iterable[str]) -> None:
    entries = {f.key: {"path": f.path, "sha256": f.sha256} for f in sorted(files, key=lambda f: f.key)}
    header = "# Made by 'invoke site.bundle': what kubespray downloads, served by 'invoke site.serve'.\n"
    write_atomic(
        bundle / MANIFEST,
        header
        + yaml.safe_dump(
            {"kubespray": KUBESPRAY_VERSION, "files": entries, "images": sorted(images)}, sort_keys=False
        ),
    )


def load_manifest(bundle: Path, check_files: bool = False) -> dict[str, BundledFile]:
    """The bundle's files by key; :class:`ConfigError` naming the manifest when it is missing, made for
    another kubespray, or lacks a file kubespray downloads (with ``check_files``: or a file on disk
    differs from its recorded checksum)."""
    return _read_manifest(bundle, check_files)[0]


def load_image_paths(bundle: Path) -> list[str]:
    """The images the manifest lists (their paths in a registry), after checking the manifest."""
    return _read_manifest(bundle, check_files=False)[1]


def _read_manifest(bundle: Path, check_files: bool) -> tuple[dict[str, BundledFile], list[str]]:
    path = bundle / MANIFEST
    try:
        data = yaml.safe_load(path.read_text())
        release = str(data["kubespray"])
        found = {
            str(key): BundledFile(str(key), str(entry["path"]), str(entry["sha256"]))
            for key, entry in data["files"].items()
        }
        images = data.get("images") or []
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: missing; this bundle has no kubespray files (make one with 'invoke site.bundle')"
        ) from None
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path}: not a kubedojo site bundle ({type(exc).__name__}: {exc})") from None
    if not isinstance(images, list):
        raise ConfigError(f"{path}: 'images' must be a list; make the bundle again")
    if release != KUBESPRAY_VERSION:
        raise ConfigError(
            f"{path}: made for kubespray {release}, this kubedojo runs {KUBESPRAY_VERSION}; "
            "make the bundle again"
        )
    for served in FILES:
        entry = found.get(served.key)
        if entry is None or entry.path != served.path:
            raise ConfigError(
                f"{path}: has no {served.key} at {served.path} (made by another kubedojo?); "
                "make the bundle again"
            )
        if check_files:
            on_disk = bundle / FILES_DIR / entry.path
            if not on_disk.is_file():
                raise ConfigError(f"{on_disk}: missing from the bundle; make the bundle again")
            if sha256_of(on_disk) != entry.sha256:
                raise ConfigError(
                    f"{on_disk}: differs from the sha256 the manifest recorded; make the bundle again"
                )
    return found, [str(i) for i in images]
