"""What ``up`` does through the API once the daemons run: the simulated node pools made as asked, and
the waits for the node, the cluster DNS and the simulated nodes to be Ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..client.kubeapi import KubeAPI
from ..client.probes import HttpProbe
from ..clusterstatus import condition, node_ready
from ..config import LocalSettings
from .dns_storage import COREDNS_READY_PORT
from .simnodes import SIM_POOL_LABEL, node_object, sim_node_name

__all__ = ["reconcile_sim_nodes", "wait_dns_ready", "wait_node_ready"]


def wait_node_ready(client: KubeAPI, settings: LocalSettings, since: datetime | None) -> None:
    """Ready, and (when the kubelet was just started, at ``since``) reported by this kubelet, not left
    in etcd by the previous run."""
    name = settings.node_name

    def ready_now(node: Mapping[str, Any]) -> bool:
        ready = condition(node, "Ready")
        beat = (ready or {}).get("lastHeartbeatTime")
        return bool(
            ready is not None
            and ready.get("status") == "True"
            and (since is None or (beat is not None and datetime.fromisoformat(beat) >= since))
        )

    client.wait_for(f"node {name} to be Ready", "Node", ready_now, settings.start_timeout, name=name)


def wait_dns_ready(client: KubeAPI, settings: LocalSettings) -> None:
    """A coredns pod that the API calls Ready and whose readiness endpoint answers now (the
    API may still show a pod of the previous run until the kubelet has caught up)."""

    def serving(pod: Mapping[str, Any]) -> bool:
        ready = condition(pod, "Ready")
        ip = (pod.get("status") or {}).get("podIP")
        return bool(
            pod["metadata"].get("deletionTimestamp") is None
            and ready is not None
            and ready.get("status") == "True"
            and ip
            and HttpProbe(f"http://{ip}:{COREDNS_READY_PORT}/ready")(timeout=1.0)
        )

    client.wait_for(
        "the cluster DNS (coredns) to be Ready",
        "Pod",
        serving,
        settings.start_timeout,
        "kube-system",
        label_selector="k8s-app=kube-dns",
        relist_every=1.0,
    )


def reconcile_sim_nodes(
    client: KubeAPI, settings: LocalSettings, counts: Mapping[str, int]
) -> list[tuple[str, str]]:
    """Give each pool in ``counts`` that many simulated nodes (adding and removing), and wait until
    they are Ready; the ``(subject, action)`` pairs of an up report."""
    actions: list[tuple[str, str]] = []
    existing = {n["metadata"]["name"] for n in client.nodes(label_selector=SIM_POOL_LABEL)}
    for pool, count in counts.items():
        spec = settings.sim_pools[pool]
        wanted = {sim_node_name(pool, i) for i in range(count)}
        mine = {n for n in existing if n.startswith(f"sim-{pool}-")}
        new = [node_object(pool, i, spec) for i in range(count) if sim_node_name(pool, i) not in mine]
        if new:
            client.apply(new)
            actions.append((f"sim pool {pool}", f"added {len(new)} node(s)"))
        for extra in sorted(mine - wanted):
            client.delete("Node", extra)
            actions.append((f"sim pool {pool}", f"removed {extra}"))
        if not new and not (mine - wanted):
            actions.append((f"sim pool {pool}", "unchanged"))
        for name in sorted(wanted):
            client.wait_for(
                f"simulated node {name} to be Ready", "Node", node_ready, settings.start_timeout, name=name
            )
    return actions
