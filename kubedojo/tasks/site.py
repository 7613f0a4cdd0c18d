"""``invoke site.*``: an on-prem site without internet — its bundle, and serving it to the nodes."""

from __future__ import annotations

from invoke.collection import Collection
from invoke.context import Context

from .support import RichReporter, console, emit_json, project_dir, settings, site_dir, table, task

_INVENTORY = "the site directory, inventory/<site> (its site.yaml names offline.bundle)"


@task(
    help={
        "bundle": "the bundle directory (default: workshop.yaml charts.bundle, else charts/bundle), "
        "the one 'charts.pull --bundle DIR --images' fills with the add-ons",
        "labs": "also the labs' images, the lab base image and the webhook receiver (default: yes)",
        "json": "print the result as JSON",
    }
)
def bundle(c: Context, bundle: str = "", labs: bool = True, json: bool = False) -> None:
    """Write what kubespray downloads (built here), the images its nodes pull and the labs' images
    into a site bundle, to carry to a site without internet."""
    from ..addons.environment import optional_left_out
    from ..labs.catalog import Catalog
    from ..local.provider import LocalCluster
    from ..onprem.bundling import make_site_bundle, workshop_images
    from .charts import _bundle_dir

    reporter = RichReporter(quiet=json)
    target = _bundle_dir(c, bundle)
    local = LocalCluster(settings(c), reporter=reporter)
    left_out = optional_left_out(settings(c))
    images = workshop_images(project_dir(c), Catalog(project_dir(c)).all(), left_out) if labs else []
    report = make_site_bundle(target, local.artifacts, images, reporter.note)
    if json:
        emit_json(
            {
                "bundle": str(target),
                "files": [{"key": f.key, "path": f.path, "sha256": f.sha256} for f in report.files],
                "images": list(report.images),
            }
        )
        return
    out = console()
    out.print(
        table(
            "kubespray's files",
            ["file", "path", "sha256"],
            [[f.key, f.path, f.sha256[:16]] for f in report.files],
        )
    )
    out.print(
        f"{len(report.images)} images in {target / 'images'}; serve it with 'invoke site.serve -i SITE'."
    )


@task(
    help={
        "inventory": _INVENTORY,
        "stop": "stop serving",
        "json": "print the result as JSON",
    }
)
def serve(c: Context, inventory: str = "", stop: bool = False, json: bool = False) -> None:
    """Serve the site's bundle to its nodes (a files repository and a registry, kept running) and
    put its images into the registry; with --stop, stop both."""
    from ..errors import ConfigError
    from ..local.images import ImageBuilder

    if not inventory:
        raise ConfigError("site.serve: name the site with -i inventory/<site>")
    from ..onprem.cluster import OnpremCluster
    from ..paths import CacheDirs

    config = settings(c)
    site = OnpremCluster(site_dir(c, inventory), config, project_dir(c), reporter=RichReporter(quiet=json))
    if stop:
        stopped = site.server().stop()
        if json:
            emit_json({"stopped": stopped})
        else:
            console().print(f"Stopped: {', '.join(stopped) or 'nothing was running'}.")
        return
    report, pushed = site.serve(ImageBuilder(CacheDirs.under(config.cache_root)))
    if json:
        emit_json(
            {
                "files_repo": report.files_repo,
                "registry": report.registry,
                "started": list(report.started),
                "images": pushed,
            }
        )
        return
    console().print(
        f"Serving the bundle: files at {report.files_repo}, images at {report.registry} "
        f"({len(pushed)} images); 'invoke cluster.up -i {inventory}' installs from it."
    )


ns = Collection("site")
ns.add_task(bundle)
ns.add_task(serve)
