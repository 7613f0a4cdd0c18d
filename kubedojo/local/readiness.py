"""What ``up`` does through the API once the daemons run: the permissions of the NetworkPolicy
enforcer, the simulated node pools made as asked, the admission policy that keeps their outcome
annotation for administrators, and the waits for the node, the cluster DNS and the simulated nodes to
be Ready.
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
from .netpolicy import rbac_objects
from .simnodes import SIM_POOL_LABEL, node_object, sim_node_name
from .simpolicy import POLICY_NAME, sim_outcome_policy

__all__ = [
    "install_enforcer_rbac",
    "install_sim_outcome_policy",
    "reconcile_sim_nodes",
    "wait_dns_ready",
    "wait_node_ready",
]


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


def install_sim_outcome_policy(client: KubeAPI, settings: LocalSettings) -> list[tuple[str, str]]:
    """Apply the policy that keeps ``kubedojo.dev/sim-outcome`` for administrators
    (:mod:`.simpolicy`) and its binding, and wait (bounded by ``start_timeout``) until the
    controller manager has observed the policy's current generation; the ``(subject, action)``
    pairs of an up report.

    Installed on every ``up``, with simulated nodes or without: kwok runs either way, a later
    ``up --sim-nodes`` adds nodes to a cluster whose participants may already have submitted (an
    annotated pod left pending would complete as soon as a simulated node appears), and the policy
    costs nothing where the annotation means nothing. It is applied before the simulated nodes
    are made, so none exists without it.

    What the wait proves: the policy is stored and the controller manager's status controller has
    read and type-checked this generation (``status.observedGeneration``). The API server's own
    admission plugin reloads policies from its informer about once a second; only a request as an
    untrusted identity proves the refusal, which ``up`` has none of (the cluster test makes one).

    Changed means the stored policy or binding differs, as :meth:`KubeAPI.apply` counts it: the
    apply after the status controller wrote the status is stored again with only the managedFields'
    time moved, which is no change.
    """
    applied = client.apply(sim_outcome_policy())

    def observed(obj: Mapping[str, Any]) -> bool:
        seen = (obj.get("status") or {}).get("observedGeneration")
        return seen is not None and seen >= obj["metadata"].get("generation", 0)

    client.wait_for(
        f"the controller manager to observe ValidatingAdmissionPolicy {POLICY_NAME}",
        "ValidatingAdmissionPolicy",
        observed,
        settings.start_timeout,
        name=POLICY_NAME,
    )
    return [("sim-outcome policy", f"applied {', '.join(applied)}" if applied else "unchanged")]


def install_enforcer_rbac(client: KubeAPI) -> list[tuple[str, str]]:
    """Apply the NetworkPolicy enforcer's ClusterRole and its binding (:mod:`.netpolicy`); the
    ``(subject, action)`` pairs of an up report. ``up`` does it before the enforcer starts, so that
    its first list of pods, namespaces and policies is allowed (a refused one is retried only after
    a back-off, and enforcement would start late)."""
    applied = client.apply(rbac_objects())
    return [("network policy enforcer RBAC", f"applied {', '.join(applied)}" if applied else "unchanged")]
