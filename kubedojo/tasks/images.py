"""``invoke images.*``: the images kubedojo builds locally."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context

from ..errors import ConfigError
from .support import RichReporter, console, emit_json, project_dir, settings, table, task


@task(
    help={
        "rebuild": "build again even when the image exists",
        "addons": "also the add-ons' images (their programs built from Go modules: minutes when cold)",
        "debian_only": "only what needs no Go build: the Debian-based images (the add-ons' too) and the "
        "labs' (PyTorch's among them): disk and network work, which can run beside the Go builds",
        "json": "print as JSON",
    }
)
def build(
    c: Context, rebuild: bool = False, addons: bool = False, debian_only: bool = False, json: bool = False
) -> None:
    """Build the pause, coredns, lab base and every lab's image (and with --addons the add-ons');
    push them when the registry runs."""
    from ..labs.catalog import Catalog
    from ..labs.images import lab_images
    from ..local.images import ADDON_BASE, ADDON_IMAGES, BASE, IMAGES, DebianImage
    from ..local.provider import LocalCluster

    if debian_only and addons:
        raise ConfigError("images.build: choose --debian-only or --addons (add-ons are Go builds)")
    cluster = LocalCluster(settings(c), reporter=RichReporter(quiet=json))
    # The add-ons' Debian images (no Go build) come with --debian-only.
    debian = [BASE, ADDON_BASE, *(r for r in ADDON_IMAGES if isinstance(r, DebianImage))]
    rows = cluster.build_images(rebuild=rebuild, recipes=debian if debian_only else IMAGES)
    labs = [image for lab in Catalog(project_dir(c)).all() for image in lab_images(lab)]
    rows += cluster.ensure_context_images(labs, rebuild=rebuild, require_registry=False)
    if addons:
        rows += cluster.ensure_addon_images(require_registry=False)
    if json:
        emit_json([{"image": r[0], "built": r[1], "pushed": r[2]} for r in rows])
        return
    console().print(
        table(
            "Images",
            ["image", "build", "registry"],
            [[ref, built, pushed] for ref, built, pushed in rows],
        )
    )


@task(name="list", help={"json": "print as JSON"})
def list_(c: Context, json: bool = False) -> None:
    """The images and the references pods use."""
    from ..labs.catalog import Catalog
    from ..labs.images import lab_images
    from ..local.images import ADDON_IMAGES, IMAGES
    from ..local.provider import LocalCluster

    cluster = LocalCluster(settings(c))
    labs = (image for lab in Catalog(project_dir(c)).all() for image in lab_images(lab))
    recipes = [*IMAGES, *labs, *ADDON_IMAGES]
    rows = [[r.ref(cluster.layout.registry), r.description] for r in recipes]
    if json:
        emit_json([{"image": ref, "description": d} for ref, d in rows])
    else:
        console().print(table("Images", ["reference", "what"], rows))


ns = Collection("images", build, list_)
