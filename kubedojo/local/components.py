"""Every daemon of the local cluster, in start order. Each has one function, in the module of its
part of the cluster: :mod:`.controlplane`, :mod:`.node`, :mod:`.netpolicy` (the NetworkPolicy
enforcer) and :mod:`.simnodes` (kwok); what they share is in :mod:`.layout`.
"""

from __future__ import annotations

from pathlib import Path

from .controlplane import etcd, kube_apiserver, kube_controller_manager, kube_scheduler
from .layout import Component, Layout
from .netpolicy import network_policies
from .node import containerd, kube_proxy, kubelet, registry
from .simnodes import kwok

__all__ = ["components"]


def components(layout: Layout, registry_storage: Path) -> list[Component]:
    """Every daemon of the local cluster, in start order (each component's ``stage``): the registry,
    etcd and containerd; then the API server; then everything that talks to the API server."""
    return [
        registry(layout, registry_storage),
        etcd(layout),
        containerd(layout),
        kube_apiserver(layout),
        kube_controller_manager(layout),
        kube_scheduler(layout),
        kubelet(layout),
        kube_proxy(layout),
        network_policies(layout),
        kwok(layout),
    ]
