"""Wiring: the add-ons of this checkout for one cluster — the local one, an on-prem site, or any
cluster named by a kubeconfig."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from ..client.helm import HelmClient, find_helm
from ..client.kube import KubeClient
from ..config import WorkshopConfig
from ..local.binaries import HELM, Binaries
from ..paths import CacheDirs
from .bundle import Bundle
from .context import GPU_NODE_LABEL, ClusterFacts
from .installer import Addons, ReleaseObserver
from .releases import load_releases

__all__ = ["addons_environment", "cluster_facts", "helm_binary"]


def _under(project: Path, raw: str) -> Path:
    path = Path(raw).expanduser()
    return path if path.is_absolute() else project / path


def helm_binary(config: WorkshopConfig) -> str:
    cache = CacheDirs.under(config.cache_root)
    return find_helm(config.charts.helm, Binaries(cache).path(HELM, "helm"))


def cluster_facts(
    kube: KubeClient,
    config: WorkshopConfig,
    kind: Literal["local", "kubespray"],
    cluster_name: str,
    registry: str,
) -> ClusterFacts:
    """What the releases' conditions and values depend on, read from the cluster and workshop.yaml."""
    gpu_nodes = len(kube.core.list_node(label_selector=f"{GPU_NODE_LABEL}=true").items)
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
    )


@contextlib.contextmanager
def addons_environment(
    config: WorkshopConfig,
    project: Path,
    *,
    site: Path | None = None,
    kubeconfig: Path | None = None,
    bundle: str = "",
    releases: str = "",
    observer: ReleaseObserver | None = None,
) -> Iterator[Addons]:
    """The local cluster's add-ons, or an on-prem site's (``site``), or another cluster's."""
    releases_file = load_releases(_under(project, releases or config.charts.releases))
    kind: Literal["local", "kubespray"] = "local"
    if site is not None:
        from ..onprem.cluster import OnpremCluster

        onprem = OnpremCluster(site, config, project)
        kubeconfig = kubeconfig or onprem.kubeconfig_path
        kind, name = "kubespray", onprem.site.cluster_name
        registry = onprem.site.registry.address
    else:
        from ..local.provider import LocalCluster

        local = LocalCluster(config)
        if kubeconfig is None:
            local.require_running()
            kubeconfig = local.kubeconfig_path
        name, registry = "kubedojo", f"127.0.0.1:{config.local.registry_port}"
    if not kubeconfig.exists():
        from ..errors import NotRunningError

        raise NotRunningError(f"{kubeconfig}: no kubeconfig; bring the cluster up first")
    helm = HelmClient(helm_binary(config), kubeconfig, CacheDirs.under(config.cache_root).root / "helm")
    kube = KubeClient.from_kubeconfig(kubeconfig)
    try:
        facts = cluster_facts(kube, config, kind, name, registry)
        chosen = bundle or config.charts.bundle
        yield Addons(
            releases_file,
            helm,
            kube,
            facts,
            bundle=Bundle(_under(project, chosen)) if chosen else None,
            observer=observer,
        )
    finally:
        kube.close()
