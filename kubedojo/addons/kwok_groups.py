"""cluster-autoscaler's node groups on the local cluster: one per simulated pool of workshop.yaml.

The kwok cloud provider of cluster-autoscaler reads its configuration from a ConfigMap named by the
``KWOK_PROVIDER_CONFIGMAP`` environment variable, and its node templates from a second ConfigMap that
configuration names. The chart renders both with fixed sample content (kind's nodes), so kubedojo
renders its own through the chart's ``extraObjects`` and points the variable at them (``extraEnv``,
which comes after the chart's own setting of the same variable: the last one counts).

Each pool ``P`` becomes the group ``ca-P``, starting at 0 nodes and growing to the pool's
``autoscale_max``. Its nodes are made from a template like the pool's simulated nodes (labels,
capacity such as ``nvidia.com/gpu``, taints) and carry the annotation ``kwok.x-k8s.io/node: fake``,
so that the cluster's kwok makes them Ready and runs their pods. Groups are told apart by an
annotation rather than the pool label, so that ``cluster.up --sim-nodes`` nodes, which the autoscaler
did not make, are counted in no group. The provider's own ``kwok-provider`` taint is switched off
(``skipTaint``): with it, only pods tolerating it would make the autoscaler add nodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from ..config import SimPool
from ..local.simnodes import node_object

__all__ = [
    "GROUP_ANNOTATION",
    "PROVIDER_CONFIGMAP",
    "TEMPLATES_CONFIGMAP",
    "group_name",
    "kwok_node_groups_values",
    "node_template",
]

GROUP_ANNOTATION = "kubedojo.dev/autoscaler-pool"
PROVIDER_CONFIGMAP = "kubedojo-kwok-provider-config"
TEMPLATES_CONFIGMAP = "kubedojo-kwok-templates"
_SIZE_ANNOTATION = "cluster-autoscaler.kwok.nodegroup/{}-count"


def group_name(pool: str) -> str:
    return f"ca-{pool}"


def node_template(pool: str, spec: SimPool) -> dict[str, Any]:
    """The Node the provider copies for each node of ``pool``'s group (it adds a name suffix)."""
    node = node_object(pool, 0, spec)
    name = group_name(pool)
    node["metadata"]["name"] = name
    # The provider copies labels verbatim: a hostname label would name every node the same.
    del node["metadata"]["labels"]["kubernetes.io/hostname"]
    node["metadata"]["annotations"].update(
        {
            GROUP_ANNOTATION: name,
            _SIZE_ANNOTATION.format("min"): "0",
            _SIZE_ANNOTATION.format("max"): str(spec.autoscale_max),
        }
    )
    capacity = {"pods": "110", **spec.capacity}
    node["status"] = {"capacity": capacity, "allocatable": dict(capacity)}
    return node


def kwok_node_groups_values(pools: Mapping[str, SimPool], namespace: str) -> dict[str, Any]:
    """The chart values that give the kwok provider the pools' node groups: the two ConfigMaps
    (in ``namespace``, the release's) as ``extraObjects`` and the variable naming the first. Each
    group's maximum limits it; pools with ``autoscale_max: 0`` get no group."""
    scaled = {name: spec for name, spec in sorted(pools.items()) if spec.autoscale_max > 0}
    provider = {
        "apiVersion": "v1alpha1",
        "readNodesFrom": "configmap",
        "nodegroups": {"fromNodeAnnotationKey": GROUP_ANNOTATION},
        "nodes": {"skipTaint": True},
        "configmap": {"name": TEMPLATES_CONFIGMAP, "key": "templates"},
        "kwok": {},
    }
    templates = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [node_template(name, spec) for name, spec in scaled.items()],
    }

    def config_map(name: str, key: str, data: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {"app.kubernetes.io/part-of": "kubedojo"},
            },
            "data": {key: yaml.safe_dump(dict(data), sort_keys=False)},
        }

    return {
        "extraObjects": [
            config_map(PROVIDER_CONFIGMAP, "config", provider),
            config_map(TEMPLATES_CONFIGMAP, "templates", templates),
        ],
        "extraEnv": {"KWOK_PROVIDER_CONFIGMAP": PROVIDER_CONFIGMAP},
    }
