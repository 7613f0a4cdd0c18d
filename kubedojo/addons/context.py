"""What decides which releases apply and what their values say: facts about the target cluster.

Values files may use ``${name}`` placeholders for these facts (``${nfs_server}``, ``${registry}`` …);
an unknown placeholder is an error naming the file. Values files merge in order, as helm merges
``-f`` files: mappings deeply, anything else (lists included) replaced by the later file.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..config import SimPool
from ..errors import ConfigError
from ..labels import GPU_NODE_LABEL
from ..yamlfiles import parse_yaml
from .jupyterhub import class_hub_values, local_home_values
from .kwok_groups import kwok_node_groups_values
from .releases import Release, When

__all__ = [
    "GPU_NODE_LABEL",
    "ClusterFacts",
    "applies",
    "image_values",
    "merge_values",
    "release_applies",
    "render_values",
]


@dataclass(frozen=True)
class ClusterFacts:
    kind: Literal["local", "kubespray"]
    gpu_nodes: int
    """Nodes labelled ``nvidia.com/gpu.present=true``."""
    nfs_server: str = ""
    nfs_path: str = "/srv/nfs/kubedojo"
    autoscaler: str = ""
    """The cluster-autoscaler provider that fits the site ('' where none does)."""
    cluster_name: str = "kubedojo"
    registry: str = ""
    own_storage_classes: frozenset[str] = frozenset()
    """StorageClasses the cluster has that no helm release made (the local cluster's nfs-storage)."""
    images: Mapping[str, str] = field(default_factory=dict)
    """The charts' images the cluster's registry holds (:class:`ChartImage` key → reference there):
    kubedojo's builds by name (``metrics-server`` → ``127.0.0.1:5000/kubedojo/metrics-server:
    v0.8.0-kubedojo1``), mirrored images by their upstream reference."""
    sim_pools: Mapping[str, SimPool] = field(default_factory=dict)
    """The simulated node pools (the local cluster's), for the autoscaler's node groups."""
    optional: frozenset[str] = frozenset()
    """The optional releases the workshop turns on (``charts.optional`` in workshop.yaml)."""

    def placeholders(self) -> dict[str, str]:
        return {
            "cluster_kind": self.kind,
            "nfs_server": self.nfs_server,
            "nfs_path": self.nfs_path,
            "autoscaler": self.autoscaler,
            "cluster_name": self.cluster_name,
            "registry": self.registry,
        }


def applies(when: When, facts: ClusterFacts) -> str | None:
    """None if the condition holds, else why the release does not apply here."""
    if when.gpu_nodes is not None and when.gpu_nodes != (facts.gpu_nodes > 0):
        return "no GPU nodes" if when.gpu_nodes else "the cluster has GPU nodes"
    if when.nfs_server is not None and when.nfs_server != bool(facts.nfs_server):
        return (
            "no NFS server configured (charts.nfs.server)"
            if when.nfs_server
            else "an NFS server is configured"
        )
    if when.cluster is not None and facts.kind not in when.cluster:
        return f"not on a {facts.kind} cluster"
    if when.storage_class_free is not None and when.storage_class_free in facts.own_storage_classes:
        return f"the cluster has its own StorageClass {when.storage_class_free}, which stays"
    if when.autoscaler is not None and facts.autoscaler not in when.autoscaler:
        why = f"provider {facts.autoscaler!r}" if facts.autoscaler else "no provider fits this cluster"
        return f"autoscaler: {why} (charts.autoscaler)"
    return None


def release_applies(release: Release, facts: ClusterFacts) -> str | None:
    """None if the release applies here, else why not: an optional release the workshop does not
    turn on, or its ``when``."""
    if release.optional and release.name not in facts.optional:
        return f"optional, not turned on (add {release.name} to charts.optional in workshop.yaml)"
    return applies(release.when, facts)


def merge_values(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_values(merged[key], value)
        else:
            merged[key] = value
    return merged


def render_values(release: Release, directory: Path, facts: ClusterFacts) -> dict[str, Any]:
    """The release's values: its files that apply here, placeholders filled, merged in order."""
    merged: dict[str, Any] = {}
    for values in release.values:
        if applies(values.when, facts) is not None:
            continue
        if values.generate == "kwok-node-groups":
            merged = merge_values(merged, kwok_node_groups_values(facts.sim_pools, release.namespace))
            continue
        if values.generate == "jupyterhub-class":
            merged = merge_values(merged, class_hub_values(release.namespace))
            continue
        if values.generate == "jupyterhub-local-home":
            merged = merge_values(merged, local_home_values(_built_image(release, facts, "singleuser.image")))
            continue
        path = directory / values.file
        try:
            text = string.Template(path.read_text(encoding="utf-8")).substitute(facts.placeholders())
        except KeyError as exc:
            known = ", ".join(sorted(facts.placeholders()))
            raise ConfigError(f"{path}: unknown placeholder ${{{exc.args[0]}}} (known: {known})") from None
        except ValueError as exc:
            raise ConfigError(
                f"{path}: a '$' that is not a placeholder ({exc}); write '$$' for a dollar"
            ) from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
        data = parse_yaml(text, str(path)) or {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"{path}: values must be a mapping")
        merged = merge_values(merged, data)
    return merge_values(merged, image_values(release, facts))


def _built_image(release: Release, facts: ClusterFacts, at: str) -> str:
    """The reference of the release's image at ``at`` here (as :func:`image_values` sets it)."""
    image = next((i for i in release.images if i.at == at), None)
    reference = facts.images.get(image.key) if image is not None else None
    if reference is None:
        raise ConfigError(f"release {release.name}: no image for {at} here (releases.yaml images)")
    return reference


def image_values(release: Release, facts: ClusterFacts) -> dict[str, Any]:
    """The values that point the release's built images (``images`` in releases.yaml) at the
    references in ``facts.images``; the same way for the local registry and a site's."""
    values: dict[str, Any] = {}
    for image in release.images:
        reference = facts.images.get(image.key)
        if reference is None:
            continue
        if image.replaces:  # a wrapper chart's images: upstream reference -> reference here
            values.setdefault("images", {})[image.replaces] = reference
            continue
        repository, _, tag = reference.rpartition(":")
        branch = values
        *parents, last = image.at.split(".")
        for key in parents:
            branch = branch.setdefault(key, {})
        if image.style == "split":
            registry, _, path = repository.partition("/")
            branch[last] = {"registry": registry, "repository": path, "tag": tag}
        elif image.style == "name":
            branch[last] = {"name": repository, "tag": tag}
        else:
            branch[last] = {"repository": repository, "tag": tag}
    return values
