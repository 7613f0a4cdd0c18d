"""Pinned versions of everything kubedojo builds, downloads or installs.

The on-prem path (kubespray) installs the same Kubernetes version as the local cluster.
"""

from __future__ import annotations

__all__ = [
    "COREDNS_VERSION",
    "GO_BUILD_FLAGS_VERSION",
    "KUBERNETES_VERSION",
    "KWOK_VERSION",
    "PAUSE_IMAGE_TAG",
]

KUBERNETES_VERSION = "v1.35.4"
"""Kubernetes, pinned to one patch release (kubespray v2.31.0's default)."""

KWOK_VERSION = "v0.8.0"
"""kwok, which simulates the extra nodes."""

COREDNS_VERSION = "v1.12.4"
"""CoreDNS, the cluster DNS (the version kubespray v2.31.0 deploys)."""

PAUSE_IMAGE_TAG = "3.10-kubedojo1"
"""Tag of the locally built pause (sandbox) image."""

GO_BUILD_FLAGS_VERSION = 1
"""Bump when the way binaries are built changes, so cached builds are not reused."""
