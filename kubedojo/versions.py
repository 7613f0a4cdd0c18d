"""Pinned versions of everything kubedojo builds, downloads or installs.

The on-prem path (kubespray) installs the same Kubernetes version as the local cluster.
"""

from __future__ import annotations

__all__ = [
    "COREDNS_VERSION",
    "GO_BUILD_FLAGS_VERSION",
    "HELM_VERSION",
    "KUBERNETES_VERSION",
    "KUBESPRAY_COMMIT",
    "KUBESPRAY_TREE",
    "KUBESPRAY_VERSION",
    "KUBE_NETWORK_POLICIES_VERSION",
    "KWOK_VERSION",
    "METRICS_SERVER_VERSION",
    "PAUSE_IMAGE_TAG",
]

KUBERNETES_VERSION = "v1.35.4"
"""Kubernetes, pinned to one patch release (kubespray v2.31.0's default)."""

KWOK_VERSION = "v0.8.0"
"""kwok, which simulates the extra nodes."""

COREDNS_VERSION = "v1.12.4"
"""CoreDNS, the cluster DNS (the version kubespray v2.31.0 deploys)."""

KUBE_NETWORK_POLICIES_VERSION = "v0.8.0"
"""sigs.k8s.io/kube-network-policies, the local cluster's NetworkPolicy enforcer (built with kubedojo's
own main and one local change: :data:`kubedojo.local.binaries.KUBE_NETWORK_POLICIES`)."""

METRICS_SERVER_VERSION = "v0.8.0"
"""metrics-server, built for the add-on of that name. Its chart (3.13.1) ships v0.8.1, which the Go
module proxy here refuses; v0.8.0 is the newest it serves of that line."""

PAUSE_IMAGE_TAG = "3.10-kubedojo1"
"""Tag of the locally built pause (sandbox) image."""

GO_BUILD_FLAGS_VERSION = 1
"""Bump when the way binaries are built changes, so cached builds are not reused."""

KUBESPRAY_VERSION = "v2.31.0"
"""kubespray, which provisions on-prem sites; its default Kubernetes is :data:`KUBERNETES_VERSION`."""

KUBESPRAY_COMMIT = "1c9add48975060f45396b34d8e022c30d7f80dab"
"""The commit the v2.31.0 tag names."""

KUBESPRAY_TREE = "be1344305045541c383b0f9e72ffe903653930c0"
"""The git tree ID of v2.31.0's files: what the release archive must unpack to."""

HELM_VERSION = "v4.3.1"
"""helm, which installs the add-ons (through pyhelm3); built from Go modules when not on PATH."""
