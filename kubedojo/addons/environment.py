"""Wiring: the add-ons of this checkout for one cluster — the local one, an on-prem site, or any
cluster named by a kubeconfig."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal

from ..client.helm import HelmClient, find_helm
from ..client.kubeapi import KubeAPI
from ..config import WorkshopConfig
from ..local.binaries import HELM, Binaries
from ..local.images import ADDON_IMAGES
from ..paths import CacheDirs
from ..target import ClusterTarget
from .bundle import Bundle
from .context import GPU_NODE_LABEL, ClusterFacts
from .installer import Addons, ReleaseObserver
from .releases import load_releases

__all__ = ["addons_environment", "cluster_facts", "helm_binary"]


def helm_binary(config: WorkshopConfig) -> str:
    cache = CacheDirs.under(config.cache_root)
    return find_helm(config.charts.helm, Binaries(cache).path(HELM, "helm"))


def cluster_facts(
    kube: KubeAPI,
    config: WorkshopConfig,
    kind: Literal["local", "kubespray"],
    cluster_name: str,
    registry: str,
    built_images: bool = False,
) -> ClusterFacts:
    """What the releases' conditions and values depend on, read from the cluster and workshop.yaml.

    On the local cluster the charts run kubedojo's builds of their programs from its registry
    (``invoke charts.install`` builds and pushes them first: :meth:`LocalCluster.ensure_addon_images`);
    on a site, the charts' own images. ``built_images``: the target is that local cluster."""
    gpu_nodes = len(kube.nodes(label_selector=f"{GPU_NODE_LABEL}=true"))
    own_classes = frozenset(
        c["metadata"]["name"]
        for c in kube.list("StorageClass")
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
        images={image.name: image.ref(registry) for image in ADDON_IMAGES} if built_images else {},
        sim_pools=config.local.sim_pools if kind == "local" else {},
    )


@contextlib.contextmanager
def addons_environment(
    config: WorkshopConfig,
    target: ClusterTarget | Callable[[], ClusterTarget],
    *,
    bundle: str = "",
    releases: str = "",
    observer: ReleaseObserver | None = None,
) -> Iterator[Addons]:
    """The add-ons on ``target`` (``releases`` and ``bundle`` override workshop.yaml's). A target
    given as a function is resolved after the releases file is read, so that bad input is reported
    before a cluster that is not there."""
    releases_file = load_releases(Path(releases or config.charts.releases).expanduser())
    target = target if isinstance(target, ClusterTarget) else target()
    kind: Literal["local", "kubespray"] = "kubespray" if target.kind == "kubespray" else "local"
    helm = HelmClient(
        helm_binary(config), target.kubeconfig, CacheDirs.under(config.cache_root).root / "helm"
    )
    kube = target.client()
    try:
        facts = cluster_facts(
            kube, config, kind, target.name, target.registry, built_images=target.kind == "local"
        )
        chosen = bundle or config.charts.bundle
        yield Addons(
            releases_file,
            helm,
            kube,
            facts,
            bundle=Bundle(Path(chosen).expanduser()) if chosen else None,
            observer=observer,
        )
    finally:
        kube.close()
