"""Pinned versions of everything kubedojo builds, downloads or installs.

The on-prem path (kubespray) installs the same Kubernetes version as the local cluster.
"""

from __future__ import annotations

__all__ = [
    "ARGO_COMMIT",
    "ARGO_VERSION",
    "CHP_VERSION",
    "CLUSTER_AUTOSCALER_VERSION",
    "COREDNS_VERSION",
    "GO_BUILD_FLAGS_VERSION",
    "HELM_VERSION",
    "JUPYTERHUB_CHART_VERSION",
    "JUPYTERHUB_VERSION",
    "KATIB_VERSION",
    "KUBERNETES_VERSION",
    "KUBESPRAY_COMMIT",
    "KUBESPRAY_TREE",
    "KUBESPRAY_VERSION",
    "KUBE_NETWORK_POLICIES_VERSION",
    "KWOK_VERSION",
    "MC_RELEASE",
    "MC_VERSION",
    "METRICS_SERVER_VERSION",
    "MINIO_RELEASE",
    "MINIO_VERSION",
    "PAUSE_IMAGE_TAG",
    "SITE_NODE_VERSIONS",
    "TRAINING_OPERATOR_COMMIT",
    "TRAINING_OPERATOR_VERSION",
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

CLUSTER_AUTOSCALER_VERSION = "1.35.2"
"""cluster-autoscaler, whose minor matches Kubernetes'. Its chart (9.59.0) ships 1.35.0; the module
proxy serves none (its tags are no Go module versions), so it is built from the upstream source
archive of the tag (:data:`kubedojo.local.binaries.CLUSTER_AUTOSCALER`)."""

ARGO_VERSION = "v4.0.10"
"""Argo Workflows: the newest patch of the v4.0 line whose v4.0.6 the chart (1.0.18) ships. The
module proxy serves only v4.0.5, which has reported security flaws; built from the source archive."""

ARGO_COMMIT = "2334ea9dd8ccb0e5a6bfd1399fb84a114279e7d6"
"""The commit the v4.0.10 tag names (stamped into the binaries, as upstream's Makefile does)."""

MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"
"""MinIO server (AGPL-3.0: built unmodified, run as its own program, never linked into kubedojo): the
only version the module proxy serves, RELEASE.2025-10-15T17-29-55Z and 11 later commits, the last of
the archived repository. The chart (5.4.0) ships RELEASE.2024-12-18T13-15-44Z, which is not served."""

MINIO_RELEASE = "DEVELOPMENT.2026-02-12T20-18-48Z"
"""What the MinIO build calls itself: not a ``RELEASE.`` tag, because the commit is none."""

MC_VERSION = "v0.0.0-20241121172154-1681e4497c09"
"""MinIO's client mc (AGPL-3.0, unmodified, run by the chart's Jobs): the module pseudo-version of the
tag the chart's ``mcImage`` names."""

MC_RELEASE = "RELEASE.2024-11-21T17-21-54Z"
"""That tag."""

TRAINING_OPERATOR_VERSION = "v1.9.4"
"""Kubeflow's training operator: v1.9.4 is the last release of the ``kubeflow.org/v1`` line (PyTorchJob
and its kin; v2 became Kubeflow Trainer). Its module keeps the old path, github.com/kubeflow/
training-operator, which the module proxy serves at this exact version (it lists only v1.8.1)."""

TRAINING_OPERATOR_COMMIT = "4445c12aa62e4345b0c2c6ac9b215a70eca46ed7"
"""The commit the v1.9.4 tag names (upstream's manifests pin the image ``v1-93c5489``)."""

KATIB_VERSION = "v0.19.0"
"""Katib, Kubeflow's hyper-parameter tuner: the newest release (its Go programs from the module proxy;
its Experiments run trials of batch Jobs or of the training operator's kinds)."""

JUPYTERHUB_CHART_VERSION = "4.4.0"
"""The Zero-to-JupyterHub chart (``../shared/charts``), whose hub runs JupyterHub :data:`JUPYTERHUB_VERSION`
with KubeSpawner 7.0.0 (the hub image's requirements, kubedojo/local/assets)."""
JUPYTERHUB_VERSION = "5.5.0"
"""The chart's appVersion: the hub and the single-user servers' ``jupyterhub``."""
CHP_VERSION = "4.6.2"
"""configurable-http-proxy, JupyterHub's proxy, from the npm registry: the chart's 5.2.0 needs Node.js 20,
Debian 12 has 18; 4.6.2 takes every flag the chart passes (its dependencies are plain JavaScript)."""

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


SITE_NODE_VERSIONS = {
    "etcd": "v3.6.10",
    "containerd": "v2.2.3",
    "runc": "v1.4.2",
    "cni-plugins": "v1.9.1",
    "nerdctl": "v2.2.2",
    # kubespray pins 1.35.0, which the Go module proxy does not serve; crictl is a client of the
    # CRI API, which 1.34 speaks the same.
    "crictl": "v1.34.0",
    # kubespray pins 0.28.4, one of whose dependencies the module proxy does not serve; 0.28.10 is
    # the newest patch of the same line.
    "flannel": "v0.28.10",
    # The flannel CNI plugin (a shim that hands the pod to bridge/host-local with the node's flannel
    # subnet): flannel-io/cni-plugin is not served; its source before it moved there is, in the CNI
    # project's plugins at v0.9.1 (plugins/meta/flannel).
    "flannel-cni": "v0.9.1",
}
"""What the nodes of a kubespray v2.31.0 site run besides Kubernetes, at kubespray's pins unless noted:
built here from Go modules for offline sites (:mod:`kubedojo.onprem.offline`)."""
