"""The charts' images for a site without internet: written into a bundle as OCI archives, pushed from
there into the site's registry, and named by the charts' values on install (one mechanism for every
chart: :func:`kubedojo.addons.context.image_values`).

    <bundle>/images/              one OCI image layout holding every image (shared layers once)
    <bundle>/site-images.yaml     per image: its path in a registry, where it came from, whether it is in
    <bundle>/sources/             the module archives of the AGPL programs whose images are in it

kubedojo's builds go in as ``kubedojo/<name>:<tag>``; an upstream image (``upstream`` in releases.yaml,
one kubedojo does not build) goes in under its path without the registry, when its registry can be
reached from where the bundle is made, and is otherwise listed as missing: the site must mirror it from
``images.txt`` by other means.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import yaml

from ..errors import ConfigError, KubedojoError
from ..files import write_atomic
from .releases import Release

__all__ = [
    "IMAGES_DIR",
    "SITE_IMAGES_FILE",
    "ImageExporter",
    "ImagePusher",
    "SiteImage",
    "export_site_images",
    "image_references",
    "load_site_images",
    "push_site_images",
    "upstream_path",
]

SITE_IMAGES_FILE = "site-images.yaml"
IMAGES_DIR = "images"
"""The bundle's one OCI layout: the add-ons' images, and the node and lab images of a site bundle."""


@dataclass(frozen=True)
class SiteImage:
    key: str
    """The releases' name for it (:attr:`ChartImage.key`): a build's name or the upstream reference."""
    path: str
    """Its repository and tag in a registry, without the registry: ``kubedojo/minio:<tag>``."""
    upstream: str = ""
    """The upstream reference it was mirrored from ('' for kubedojo's builds)."""
    included: bool = True
    """Whether the bundle holds it (an upstream image is missing when its registry was unreachable)."""
    note: str = ""


class ImageExporter(Protocol):
    """Writes images into an OCI layout (kubedojo's :class:`~kubedojo.local.artifacts.Artifacts`)."""

    def export_addon_image(self, name: str, layout: Path) -> str:
        """Build the add-on image ``name`` if needed, write it into ``layout``; its path there."""
        ...

    def mirror_image(self, reference: str, layout: Path, path: str) -> None: ...

    def addon_sources(self, name: str) -> list[tuple[str, Path]]:
        """Source archives a copy of the image must carry (AGPL programs), each with the file name
        it gets in the bundle; may be empty."""
        ...


class ImagePusher(Protocol):
    def push_oci(self, layout: Path, path: str, registry: str, tls_verify: bool = True) -> None: ...


def upstream_path(reference: str) -> str:
    """``nvcr.io/nvidia/k8s-device-plugin:v0.20.0`` → ``nvidia/k8s-device-plugin:v0.20.0``."""
    return reference.split("/", 1)[1]


def export_site_images(
    bundle: Path,
    releases: Iterable[Release],
    exporter: ImageExporter,
    on_image: Callable[[str], None] | None = None,
    upstream: bool = True,
) -> list[SiteImage]:
    """Write every image the releases name into ``bundle``; the list is also recorded there.
    ``upstream`` False: kubedojo's builds only (no registry on the internet is contacted)."""
    layout = bundle / IMAGES_DIR
    layout.mkdir(parents=True, exist_ok=True)
    found: dict[str, SiteImage] = {}
    sources: dict[str, Path] = {}
    for release in releases:
        for image in release.images:
            if image.key in found:
                continue
            if on_image is not None:
                on_image(image.key)
            if image.build:
                path = exporter.export_addon_image(image.build, layout)
                found[image.key] = SiteImage(image.key, path)
                sources.update(exporter.addon_sources(image.build))
                continue
            path = upstream_path(image.upstream)
            if not upstream:
                note = "not mirrored: the bundle was made without upstream images"
                found[image.key] = SiteImage(image.key, path, image.upstream, included=False, note=note)
                continue
            try:
                exporter.mirror_image(image.upstream, layout, path)
            except KubedojoError as exc:
                found[image.key] = SiteImage(image.key, path, image.upstream, included=False, note=str(exc))
            else:
                found[image.key] = SiteImage(image.key, path, image.upstream)
    if sources:
        (bundle / "sources").mkdir(exist_ok=True)
        for name, source in sorted(sources.items()):
            shutil.copyfile(source, bundle / "sources" / name)
    images = sorted(found.values(), key=lambda i: i.path)
    header = "# The charts' images, in images/ (OCI layout): 'invoke charts.push-images' pushes them.\n"
    write_atomic(
        bundle / SITE_IMAGES_FILE,
        header + yaml.safe_dump({"images": [asdict(i) for i in images]}, sort_keys=False),
    )
    return images


def load_site_images(bundle: Path) -> list[SiteImage]:
    """The bundle's image list; empty for a bundle made without images."""
    path = bundle / SITE_IMAGES_FILE
    if not path.is_file():
        return []
    try:
        data = yaml.safe_load(path.read_text())
        return [SiteImage(**entry) for entry in data["images"]]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a kubedojo image list ({type(exc).__name__}: {exc})") from None


def image_references(images: Iterable[SiteImage], registry: str) -> Mapping[str, str]:
    """Where each image is in the site's ``registry``, for the charts' values (missing ones too: the
    site mirrors them by other means, and the charts still name only its registry)."""
    return {image.key: f"{registry}/{image.path}" for image in images}


def push_site_images(
    bundle: Path,
    registry: str,
    pusher: ImagePusher,
    tls_verify: bool = True,
    on_image: Callable[[str], None] | None = None,
) -> list[tuple[SiteImage, str]]:
    """Push every image the bundle holds to ``registry``; (image, "pushed" | why not) per image."""
    images = load_site_images(bundle)
    if not images:
        raise ConfigError(
            f"{bundle}: the bundle holds no images; make it with 'invoke charts.pull --bundle {bundle}'"
        )
    results = []
    for image in images:
        if not image.included:
            results.append((image, f"not in the bundle: mirror {image.upstream} by other means"))
            continue
        if on_image is not None:
            on_image(image.path)
        pusher.push_oci(bundle / IMAGES_DIR, image.path, registry, tls_verify)
        results.append((image, "pushed"))
    return results
