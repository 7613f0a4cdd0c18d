"""Wiring: the add-ons of this checkout for one cluster — the local one, an on-prem site, or any
cluster named by a kubeconfig."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Literal

from ..client.helm import HelmClient, find_helm
from ..client.kubeapi import KubeAPI
from ..config import WorkshopConfig
from ..errors import ConfigError
from ..local.binaries import HELM, Binaries
from ..local.images import ADDON_IMAGES
from ..paths import CacheDirs
from ..target import LOCAL_REGISTRY_NAME, ClusterTarget
from .bundle import Bundle
from .context import GPU_NODE_LABEL, ClusterFacts
from .installer import Addons, ReleaseObserver
from .releases import ReleasesFile, load_releases
from .site_images import image_references, load_site_images

__all__ = [
    "addons_environment",
    "bundling_environment",
    "cluster_facts",
    "helm_binary",
    "optional_left_out",
]


def helm_binary(config: WorkshopConfig) -> str:
    cache = CacheDirs.under(config.cache_root)
    return find_helm(config.charts.helm, Binaries(cache).path(HELM, "helm"))


def cluster_facts(
    kube: KubeAPI | None,
    config: WorkshopConfig,
    kind: Literal["local", "kubespray"],
    cluster_name: str,
    registry: str,
    images: Mapping[str, str] | None = None,
) -> ClusterFacts:
    """What the releases' conditions and values depend on, read from the cluster and workshop.yaml.
    ``images``: the charts' images in the cluster's registry (:attr:`ClusterFacts.images`). Without
    a cluster (``kube`` None: making a bundle), no GPU nodes and no storage classes of its own."""
    gpu_nodes = 0 if kube is None else len(kube.nodes(label_selector=f"{GPU_NODE_LABEL}=true"))
    own_classes = frozenset(
        c["metadata"]["name"]
        for c in (kube.list("StorageClass") if kube is not None else [])
        if (c["metadata"].get("labels") or {}).get("app.kubernetes.io/managed-by") != "Helm"
    )
    provider: str = config.charts.autoscaler
    if provider == "auto":
        provider = "kwok" if kind == "local" else ""
    return ClusterFacts(
        kind=kind,
        gpu_nodes=gpu_nodes,
        nfs_server=config.charts.nfs.server,
        nfs_path=config.charts.nfs.path,
        autoscaler="" if provider == "none" else provider,
        cluster_name=cluster_name,
        registry=registry,
        own_storage_classes=own_classes,
        images=dict(images or {}),
        sim_pools=config.local.sim_pools if kind == "local" else {},
        optional=frozenset(config.charts.optional),
    )


def _checked_optional(config: WorkshopConfig, releases: ReleasesFile) -> None:
    """charts.optional names only optional releases of the releases file."""
    optional = [r.name for r in releases.releases if r.optional]
    for name in config.charts.optional:
        if name not in optional:
            raise ConfigError(
                f"workshop.yaml charts.optional: {name!r} is not an optional release of {releases.path} "
                f"(optional: {', '.join(optional) or 'none'})"
            )


def optional_left_out(config: WorkshopConfig) -> frozenset[str]:
    """The optional releases this workshop does not turn on (a site's bundle leaves out their labs)."""
    releases = load_releases(Path(config.charts.releases).expanduser())
    _checked_optional(config, releases)
    return frozenset(r.name for r in releases.releases if r.optional) - set(config.charts.optional)


def _built_images(registry: str) -> dict[str, str]:
    """kubedojo's builds of the charts' programs, by name, in ``registry``."""
    return {image.name: image.ref(registry) for image in ADDON_IMAGES}


@contextlib.contextmanager
def bundling_environment(
    config: WorkshopConfig,
    *,
    releases: str = "",
    observer: ReleaseObserver | None = None,
) -> Iterator[Addons]:
    """The add-ons without a cluster, to make a bundle (``charts.pull`` on a machine that runs none):
    every site's values are rendered from the local cluster's facts, with kubedojo's builds named in
    its registry, as :func:`addons_environment` gives them on a local cluster."""
    releases_file = load_releases(Path(releases or config.charts.releases).expanduser())
    _checked_optional(config, releases_file)
    registry = LOCAL_REGISTRY_NAME.format(port=config.local.registry_port)
    helm = HelmClient(helm_binary(config), None, CacheDirs.under(config.cache_root).root / "helm")
    facts = cluster_facts(None, config, "local", "kubedojo", registry, _built_images(registry))
    yield Addons(releases_file, helm, None, facts, observer=observer, sources=config.sources_root)


@contextlib.contextmanager
def addons_environment(
    config: WorkshopConfig,
    target: ClusterTarget | Callable[[], ClusterTarget],
    *,
    bundle: str = "",
    releases: str = "",
    registry: str = "",
    observer: ReleaseObserver | None = None,
) -> Iterator[Addons]:
    """The add-ons on ``target`` (``releases`` and ``bundle`` override workshop.yaml's). A target
    given as a function is resolved after the releases file is read, so that bad input is reported
    before a cluster that is not there.

    Where the charts' images come from: a bundle that holds images (``charts.pull``) names them in
    ``registry`` (default: the target's, where ``charts.push-images`` put them); otherwise the local
    cluster runs kubedojo's builds from its registry (``charts.install`` builds and pushes them first:
    :meth:`LocalCluster.ensure_addon_images`), and a site the charts' own images."""
    releases_file = load_releases(Path(releases or config.charts.releases).expanduser())
    _checked_optional(config, releases_file)
    target = target if isinstance(target, ClusterTarget) else target()
    kind: Literal["local", "kubespray"] = "kubespray" if target.kind == "kubespray" else "local"
    helm = HelmClient(
        helm_binary(config), target.kubeconfig, CacheDirs.under(config.cache_root).root / "helm"
    )
    chosen = bundle or config.charts.bundle
    carried = Bundle(Path(chosen).expanduser()) if chosen else None
    registry = registry or target.registry
    bundled = load_site_images(carried.directory) if carried is not None else []
    if bundled:
        images = image_references(bundled, registry)
    elif target.kind == "local":
        images = _built_images(registry)
    else:
        images = {}
    kube = target.client()
    try:
        facts = cluster_facts(kube, config, kind, target.name, registry, images)
        yield Addons(
            releases_file,
            helm,
            kube,
            facts,
            bundle=carried,
            images_from_bundle=bool(bundled),
            observer=observer,
            sources=config.sources_root,
        )
    finally:
        kube.close()
