"""``invoke charts.*``: the add-on releases (charts/releases.yaml) on the local cluster or a site."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from invoke.collection import Collection
from invoke.context import Context

from .support import (
    RichReporter,
    cluster_target,
    confirm,
    console,
    emit_json,
    project_dir,
    settings,
    table,
    task,
)

_COMMON = {
    "inventory": "an on-prem site directory (inventory/<site>); without it, the local cluster",
    "kubeconfig": "another cluster's kubeconfig (instead of the local cluster's)",
    "releases": "a releases file other than workshop.yaml's charts.releases",
    "json": "print the result as JSON",
}
_ACTION_STYLE = {
    "installed": "green",
    "upgraded": "green",
    "unchanged": "dim",
    "skipped": "dim",
    "failed": "red",
    "not attempted": "yellow",
    "uninstalled": "green",
    "absent": "dim",
    "pulled": "green",
}


class _LiveReleases:
    """A live table of releases while they install (observer of the core)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.rows: dict[str, tuple[str, float]] = {}
        self.lock = threading.Lock()

    def started(self, release: str, doing: str) -> None:
        with self.lock:
            self.rows[release] = (doing, time.monotonic())

    def finished(self, result: Any) -> None:
        with self.lock:
            self.rows.pop(result.name, None)

    def render(self) -> Any:
        from rich.spinner import Spinner
        from rich.table import Table

        grid = Table.grid(padding=(0, 1))
        with self.lock:
            for name, (doing, since) in sorted(self.rows.items()):
                grid.add_row(Spinner("dots"), name, f"[dim]{doing} {time.monotonic() - since:.0f} s[/dim]")
        return grid

    @contextlib.contextmanager
    def showing(self) -> Iterator[None]:
        if self.quiet:
            yield
            return
        from rich.live import Live

        with Live(
            get_renderable=self.render, console=console(stderr=True), refresh_per_second=4, transient=True
        ):
            yield


def _bundle_dir(c: Context, bundle: str) -> Path:
    """``--bundle``, else workshop.yaml's charts.bundle, else charts/bundle; under the project."""
    path = Path(bundle or settings(c).charts.bundle or "charts/bundle").expanduser()
    return path if path.is_absolute() else project_dir(c) / path


def _names(names: str) -> list[str]:
    return [n.strip() for n in names.split(",") if n.strip()]


@contextlib.contextmanager
def _addons(
    c: Context,
    inventory: str,
    kubeconfig: str,
    releases: str,
    bundle: str = "",
    observer: Any = None,
    registry: str = "",
) -> Iterator[Any]:
    from ..addons import addons_environment

    def target() -> Any:
        return cluster_target(c, inventory, kubeconfig)

    with addons_environment(
        settings(c), target, bundle=bundle, releases=releases, registry=registry, observer=observer
    ) as addons:
        yield addons


def _results_table(title: str, results: list[Any]) -> Any:
    rows = []
    for r in results:
        style = _ACTION_STYLE.get(r.action, "")
        rows.append(
            [
                r.name,
                r.namespace,
                f"{Path(r.chart).name} {r.version}",
                f"[{style}]{r.action}[/{style}]" if style else r.action,
                str(r.revision or "-"),
                f"{r.seconds:.1f}" if r.seconds else "-",
                r.detail,
            ]
        )
    return table(title, ["release", "namespace", "chart", "result", "rev", "seconds", "detail"], rows)


def _results_json(results: list[Any]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in asdict(r).items() if k not in ("started", "finished")}
        | {"seconds": round(r.seconds, 2)}
        for r in results
    ]


@task(
    help={
        "names": "releases to install, comma-separated (and what they need); empty: all",
        "bundle": "install from this bundle directory (charts.pull), contacting no repository",
        "registry": "with a bundle holding images: the registry they were pushed to (default: the site's)",
        **_COMMON,
    },
)
def install(
    c: Context,
    names: str = "",
    inventory: str = "",
    kubeconfig: str = "",
    bundle: str = "",
    registry: str = "",
    releases: str = "",
    json: bool = False,
) -> None:
    """Install or upgrade the add-ons in dependency order, each waiting until ready (rolled back if not).
    On the local cluster, kubedojo's builds of the charts' programs are built and pushed first (unless
    a bundle brings the images)."""
    from ..addons import InstallFailed

    live = _LiveReleases(quiet=json)
    with _addons(c, inventory, kubeconfig, releases, bundle, observer=live, registry=registry) as addons:
        # The local cluster: its registry gets kubedojo's builds first.
        if addons.facts.images and not addons.images_from_bundle:
            from ..local.provider import LocalCluster

            LocalCluster(settings(c), reporter=RichReporter(quiet=json)).ensure_addon_images(
                addons.built_images(_names(names))
            )
        with live.showing():
            try:
                results = addons.install(_names(names))
            except InstallFailed as exc:
                if json:
                    emit_json({"results": _results_json(exc.results), "error": str(exc)})
                else:
                    console().print(_results_table("Add-ons", exc.results))
                raise
    if json:
        emit_json({"results": _results_json(results)})
        return
    console().print(_results_table("Add-ons", results))


@task(
    help={
        "names": "releases to compare, comma-separated; empty: all",
        "manifests": "also show the rendered objects' differences (Secrets' data hidden)",
        **_COMMON,
    },
)
def diff(
    c: Context,
    names: str = "",
    manifests: bool = False,
    inventory: str = "",
    kubeconfig: str = "",
    releases: str = "",
    json: bool = False,
) -> None:
    """What charts.install would change: per release install, upgrade (chart, values keys) or unchanged."""
    with _addons(c, inventory, kubeconfig, releases) as addons:
        diffs = addons.diff(_names(names), manifests=manifests)
    if json:
        emit_json([asdict(d) for d in diffs])
        return
    out = console()
    out.print(
        table(
            "What charts.install would do",
            ["release", "namespace", "action", "changes"],
            [[d.name, d.namespace, d.action, "; ".join(d.changes)] for d in diffs],
        )
    )
    for d in diffs:
        if d.manifest_diff:
            out.print(f"[bold]{d.name}[/bold]")
            out.print(d.manifest_diff, markup=False, highlight=False)


@task(help=_COMMON)
def status(
    c: Context, inventory: str = "", kubeconfig: str = "", releases: str = "", json: bool = False
) -> None:
    """Each release: the pinned and the deployed chart version, helm's status, and whether it applies here."""
    with _addons(c, inventory, kubeconfig, releases) as addons:
        states = addons.status()
    if json:
        emit_json([asdict(s) for s in states])
        return
    console().print(
        table(
            "Add-ons",
            ["release", "namespace", "pinned", "deployed", "status", "rev", "updated", "applies"],
            [
                [
                    s.name,
                    s.namespace,
                    s.wanted,
                    s.deployed,
                    s.status,
                    str(s.revision or "-"),
                    s.updated,
                    "yes" if not s.applies else f"no: {s.applies}",
                ]
                for s in states
            ],
        )
    )


@task(
    help={"names": "releases to remove, comma-separated; empty: all", "yes": "do not ask", **_COMMON},
)
def uninstall(
    c: Context,
    names: str = "",
    yes: bool = False,
    inventory: str = "",
    kubeconfig: str = "",
    releases: str = "",
    json: bool = False,
) -> None:
    """Remove add-ons in reverse dependency order (credentials Secrets and namespaces stay)."""
    wanted = _names(names)
    confirm(f"Uninstall {', '.join(wanted) or 'every add-on'}?", yes or json)
    live = _LiveReleases(quiet=json)
    with _addons(c, inventory, kubeconfig, releases, observer=live) as addons, live.showing():
        results = addons.uninstall(wanted)
    if json:
        emit_json({"results": _results_json(results)})
        return
    console().print(_results_table("Uninstalled", results))


@task(
    help={
        "names": "releases to pull, comma-separated; empty: all",
        "bundle": "the bundle directory (default: workshop.yaml charts.bundle, else charts/bundle)",
        "images": "also write the charts' images into the bundle (kubedojo's builds, and upstream ones "
        "where their registry can be reached); --no-images for the charts alone",
        "upstream": "with the images, also pull the upstream ones (those kubedojo does not build) from "
        "their registries; --no-upstream to contact none",
        **_COMMON,
    },
)
def pull(
    c: Context,
    names: str = "",
    bundle: str = "",
    images: bool = True,
    upstream: bool = True,
    inventory: str = "",
    kubeconfig: str = "",
    releases: str = "",
    json: bool = False,
) -> None:
    """Download the pinned charts (digests checked) and their images into a bundle for offline sites."""
    from ..addons import Bundle, bundling_environment, export_site_images
    from ..local.provider import LocalCluster

    config = settings(c)
    target = _bundle_dir(c, bundle)
    live = _LiveReleases(quiet=json)
    # A bundle needs no cluster: without -i or --kubeconfig, none is asked.
    opened = (
        _addons(c, inventory, kubeconfig, releases, observer=live)
        if inventory or kubeconfig
        else bundling_environment(config, releases=releases, observer=live)
    )
    with opened as addons:
        with live.showing():
            entries = addons.pull(Bundle(target), _names(names))
        carried = []
        if images:
            exporter = LocalCluster(config, reporter=RichReporter(quiet=json)).artifacts
            carried = export_site_images(target, addons.selected(_names(names)), exporter, upstream=upstream)
    if json:
        emit_json(
            {
                "bundle": str(target),
                "charts": [asdict(e) for e in entries],
                "images": [asdict(i) for i in carried],
            }
        )
        return
    if carried:
        console().print(
            table(
                f"Images in {target / 'images'}",
                ["image", "from", "in the bundle"],
                [
                    [i.path, i.upstream or "built here", "yes" if i.included else f"no: {i.note}"]
                    for i in carried
                ],
            )
        )
    console().print(
        table(
            f"Bundle {target}",
            ["release", "chart", "version", "sha256", "images"],
            [[e.release, e.chart, e.version, e.sha256[:16] + "…", "\n".join(e.images)] for e in entries],
        )
    )
    console().print(f"Images to mirror: {target / 'images.txt'}")


@task(
    help={
        "bundle": "the bundle directory (default: workshop.yaml charts.bundle, else charts/bundle)",
        "registry": "the registry to fill, host[:port] (default: the site's, with -i)",
        "insecure": "plain HTTP or an unverified certificate (a registry on loopback or a test network)",
        "inventory": _COMMON["inventory"],
        "json": "print the result as JSON",
    }
)
def push_images(
    c: Context,
    bundle: str = "",
    registry: str = "",
    insecure: bool = False,
    inventory: str = "",
    json: bool = False,
) -> None:
    """Push a bundle's images into a site's registry, for 'charts.install --bundle' to use offline."""
    from ..addons import push_site_images
    from ..errors import ConfigError
    from ..local.images import ImageBuilder
    from ..paths import CacheDirs

    config = settings(c)
    source = _bundle_dir(c, bundle)
    if not registry and inventory:
        registry = cluster_target(c, inventory, "").registry
    if not registry:
        raise ConfigError("charts.push-images: name the registry (--registry host:port) or the site (-i)")
    reporter = RichReporter(quiet=json)
    pusher = ImageBuilder(CacheDirs.under(config.cache_root))
    with reporter.step(f"Pushing the bundle's images to {registry}"):
        results = push_site_images(
            source, registry, pusher, tls_verify=not insecure, on_image=lambda p: reporter.note(p)
        )
    if json:
        emit_json([{"image": f"{registry}/{i.path}", "result": r} for i, r in results])
        return
    console().print(table("Images", ["image", "result"], [[f"{registry}/{i.path}", r] for i, r in results]))


@task(help={"json": "print the result as JSON"})
def helm(c: Context, json: bool = False) -> None:
    """Build the pinned helm from Go modules into the cache (unless built), for the charts.* commands."""
    from ..local.binaries import HELM, Binaries
    from ..paths import CacheDirs
    from ..versions import HELM_VERSION

    cache = CacheDirs.under(settings(c).cache_root)
    binaries = Binaries(cache)
    with RichReporter(quiet=json).step(f"helm {HELM_VERSION} from Go modules"):
        built = binaries.ensure_built(HELM, cache.logs / "build-helm.log")
    path = binaries.path(HELM, "helm")
    if json:
        emit_json({"helm": str(path), "version": HELM_VERSION, "built": built})
    else:
        console().print(f"{'Built' if built else 'Already built'}: {path}")


ns = Collection("charts", install, diff, status, uninstall, pull, push_images, helm)
