"""What ``cluster.status`` reports, for the local cluster and for an on-prem site alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .labels import SIM_POOL_LABEL

__all__ = [
    "ClusterStatus",
    "ComponentStatus",
    "NodeStatus",
    "condition",
    "node_ready",
    "node_simulated",
    "node_status",
]


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int | None
    healthy: bool
    log: str
    """Where its log is (local), or what was seen (on-prem)."""
    restarts: int = 0
    """How often the local cluster's supervisor started it again after it died."""


@dataclass(frozen=True)
class NodeStatus:
    name: str
    ready: bool
    simulated: bool
    pool: str
    kubelet_version: str
    allocatable: Mapping[str, str]


@dataclass(frozen=True)
class ClusterStatus:
    state_dir: str
    components: list[ComponentStatus]
    nodes: list[NodeStatus]
    api_url: str
    kubeconfig: str
    warnings: list[str] = field(default_factory=list)
    """What works, but not as it should (the cluster can still be healthy)."""

    @property
    def healthy(self) -> bool:
        return all(c.healthy for c in self.components) and any(
            n.ready and not n.simulated for n in self.nodes
        )


def condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    """An object's status condition of type ``kind`` (a plain object), or None."""
    for found in (obj.get("status") or {}).get("conditions") or []:
        if found.get("type") == kind:
            return dict(found)
    return None


def node_ready(node: Mapping[str, Any]) -> bool:
    found = condition(node, "Ready")
    return bool(found is not None and found.get("status") == "True")


def node_simulated(node: Mapping[str, Any]) -> bool:
    """Whether kwok simulates the node (labelled ``type: kwok``): no kubelet runs there, so nothing
    it runs writes a log or really executes."""
    return bool((node["metadata"].get("labels") or {}).get("type") == "kwok")


def node_status(node: Mapping[str, Any], pool_label: str = SIM_POOL_LABEL) -> NodeStatus:
    """A Node (a plain object) as a :class:`NodeStatus`."""
    labels = node["metadata"].get("labels") or {}
    status = node.get("status") or {}
    return NodeStatus(
        name=node["metadata"]["name"],
        ready=node_ready(node),
        simulated=node_simulated(node),
        pool=labels.get(pool_label, ""),
        kubelet_version=(status.get("nodeInfo") or {}).get("kubeletVersion", ""),
        allocatable=dict(status.get("allocatable") or {}),
    )
