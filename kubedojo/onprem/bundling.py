"""Making the kubespray and lab part of a site bundle (``invoke site.bundle``), and putting its images
into the site's registry (``invoke site.serve``).

The bundle directory is the same one ``charts.pull --bundle DIR --images`` fills with the add-ons'
charts and images: one directory carries a whole workshop site. This part adds

* the files kubespray downloads, built here and packed (:mod:`sitebundle`),
* the images its nodes pull (:data:`~kubedojo.onprem.nodeimages.NODE_IMAGES`) and every lab's image,
  into the bundle's OCI layout (``images/``, shared layers stored once),

and records them in ``kubespray/manifest.yaml``. Building goes through an injectable
:class:`BundleBuilder` (kubedojo's :class:`~kubedojo.local.artifacts.Artifacts`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..addons.hooks import hooks_image
from ..addons.site_images import IMAGES_DIR, ImagePusher
from ..labs.definition import LabDefinition
from ..labs.images import lab_images
from ..local.binaries import GoProgramSet
from ..local.images import BASE, ImageRecipe
from .nodeimages import NODE_IMAGES
from .offline import FILES
from .sitebundle import BundledFile, load_image_paths, pack_file, write_manifest

__all__ = ["BundleBuilder", "SiteBundleReport", "make_site_bundle", "push_bundle_images", "workshop_images"]


class BundleBuilder(Protocol):
    def program(self, programs: GoProgramSet, program: str) -> Path: ...

    def export_image(self, recipe: ImageRecipe, layout: Path) -> str: ...


@dataclass(frozen=True)
class SiteBundleReport:
    files: tuple[BundledFile, ...]
    images: tuple[str, ...]


def workshop_images(
    project: Path, labs: Iterable[LabDefinition], left_out: Iterable[str] = ()
) -> list[ImageRecipe]:
    """What the labs need on a site besides the add-ons' images: the lab base image (grading's
    reader pods, the datasets' Job), kubedojo's webhook receiver and the image of every lab but those
    that need an add-on of ``left_out`` (the optional add-ons the workshop does not turn on: lab 11's
    PyTorch image alone is 5.6 GB)."""
    skipped = set(left_out)
    kept = [lab for lab in labs if not skipped & set(lab.addons)]
    return [BASE, hooks_image(project), *(image for lab in kept for image in lab_images(lab))]


def make_site_bundle(
    bundle: Path,
    builder: BundleBuilder,
    lab_images: Iterable[ImageRecipe] = (),
    on_step: Callable[[str], None] | None = None,
) -> SiteBundleReport:
    """Build and write the kubespray files, the node images and ``lab_images`` into ``bundle``."""
    files = []
    for served in FILES:
        if on_step is not None:
            on_step(f"file {served.key}")
        files.append(pack_file(served, lambda m: builder.program(m.programs, m.program), bundle))
    layout = bundle / IMAGES_DIR
    layout.mkdir(parents=True, exist_ok=True)
    images = []
    recipes = {f"{r.repository}:{r.tag}": r for r in (*NODE_IMAGES, *lab_images)}  # labs share images
    for recipe in recipes.values():
        if on_step is not None:
            on_step(f"image {recipe.repository}:{recipe.tag}")
        images.append(builder.export_image(recipe, layout))
    write_manifest(bundle, files, images)
    return SiteBundleReport(tuple(files), tuple(sorted(set(images))))


def push_bundle_images(
    bundle: Path,
    registry: str,
    pusher: ImagePusher,
    on_image: Callable[[str], None] | None = None,
) -> Sequence[str]:
    """Push the node and lab images the manifest lists from the bundle's layout to ``registry``
    (plain HTTP: the site's own registry); the paths pushed."""
    paths = load_image_paths(bundle)
    for path in paths:
        if on_image is not None:
            on_image(path)
        pusher.push_oci(bundle / IMAGES_DIR, path, registry, tls_verify=False)
    return paths
