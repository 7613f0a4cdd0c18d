"""Which cluster a command works on, answered once: the local cluster (the default), an on-prem site
(``-i inventory/<site>``) or any other cluster (``--kubeconfig``).

A :class:`ClusterTarget` carries what the labs, the add-ons and the classroom need to know about
it (its admin kubeconfig, its kind and name, the registry its nodes pull workshop images from, the
lab base image's reference) and, for the local cluster, how to put lab images into its registry.
Features are handed a target; none of them builds a provider to learn these facts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from .client.kube import KubeClient
from .config import WorkshopConfig
from .errors import NotRunningError
from .progress import NullReporter, Reporter

if TYPE_CHECKING:
    from .local.images import ContextImage

__all__ = ["ClusterKind", "ClusterTarget", "resolve_target"]

ClusterKind = Literal["local", "kubespray", "other"]
LOCAL_REGISTRY_NAME = "127.0.0.1:{port}"
"""The local registry's name; on-prem sites map it to their own registry (containerd mirrors), so
the same lab manifests and image references run on both."""


@dataclass(frozen=True)
class ClusterTarget:
    kubeconfig: Path
    kind: ClusterKind
    name: str
    registry: str
    """Where the cluster's nodes pull workshop images from (``host:port``)."""
    base_image: str
    """The lab base image's reference (reader pods, the sample Job)."""
    push_images: Callable[[Iterable[ContextImage]], list[tuple[str, str, str]]] | None = None
    """Builds changed lab images and pushes them to the registry (the local cluster); None where
    the images are put in place by other means (a site's registry filled from a bundle)."""
    bring_up: str = "invoke cluster.up"
    """The command that makes the cluster (and its kubeconfig), for error messages."""

    def require_running(self) -> None:
        if not self.kubeconfig.exists():
            raise NotRunningError(f"{self.kubeconfig}: no kubeconfig; run '{self.bring_up}' first")

    def client(self) -> KubeClient:
        """A client as the cluster's administrator (close it when done)."""
        self.require_running()
        return KubeClient.from_kubeconfig(self.kubeconfig)


def _base_image(registry: str) -> str:
    from .local.images import IMAGES

    return next(r for r in IMAGES if r.name == "base").ref(registry)


def resolve_target(
    config: WorkshopConfig,
    project: Path,
    *,
    site: Path | None = None,
    kubeconfig: Path | None = None,
    reporter: Reporter | None = None,
) -> ClusterTarget:
    """The cluster named by ``site`` or ``kubeconfig`` (both: that site, through that kubeconfig),
    else the local cluster, which must be running (``reporter`` shows its image builds)."""
    local_registry = LOCAL_REGISTRY_NAME.format(port=config.local.registry_port)
    if site is not None:
        from .onprem.cluster import OnpremCluster

        onprem = OnpremCluster(site, config, project)
        return ClusterTarget(
            kubeconfig or onprem.kubeconfig_path,
            "kubespray",
            onprem.site.cluster_name,
            onprem.site.registry.address,
            _base_image(local_registry),
            bring_up=f"invoke cluster.up -i {site}",
        )
    if kubeconfig is not None:
        target = ClusterTarget(
            kubeconfig, "other", kubeconfig.stem, local_registry, _base_image(local_registry)
        )
        target.require_running()
        return target
    from .local.provider import LocalCluster

    local = LocalCluster(config, reporter=reporter or NullReporter())
    local.require_running()
    return ClusterTarget(
        local.kubeconfig_path,
        "local",
        "kubedojo",
        local_registry,
        local.image_ref("base"),
        push_images=local.ensure_context_images,
    )
