"""The add-ons (``invoke charts.*``): pinned chart releases installed with pyhelm3.

``releases`` reads charts/releases.yaml; ``context`` holds the cluster facts that decide where a
release applies and fill its values; ``credentials`` makes the Secrets releases need; ``bundle`` is
the offline bundle; ``installer`` installs, compares, lists and removes; ``environment`` wires them
for one cluster.
"""

from __future__ import annotations

from .bundle import Bundle, BundledChart, images_in
from .context import ClusterFacts, applies, merge_values, render_values
from .credentials import ensure_credentials
from .environment import addons_environment, bundling_environment, cluster_facts, helm_binary
from .installer import (
    Addons,
    InstallFailed,
    NullObserver,
    ReleaseDiff,
    ReleaseObserver,
    ReleaseResult,
    ReleaseState,
)
from .releases import (
    Credential,
    Release,
    ReleasesFile,
    When,
    levels,
    load_releases,
    parse_releases,
    with_needs,
)
from .site_images import (
    SiteImage,
    export_site_images,
    image_references,
    load_site_images,
    push_site_images,
)

__all__ = [
    "Addons",
    "Bundle",
    "BundledChart",
    "ClusterFacts",
    "Credential",
    "InstallFailed",
    "NullObserver",
    "Release",
    "ReleaseDiff",
    "ReleaseObserver",
    "ReleaseResult",
    "ReleaseState",
    "ReleasesFile",
    "SiteImage",
    "When",
    "addons_environment",
    "applies",
    "bundling_environment",
    "cluster_facts",
    "ensure_credentials",
    "export_site_images",
    "helm_binary",
    "image_references",
    "images_in",
    "levels",
    "load_releases",
    "load_site_images",
    "merge_values",
    "parse_releases",
    "push_site_images",
    "render_values",
    "with_needs",
]
