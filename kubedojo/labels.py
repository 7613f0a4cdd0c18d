"""The labels kubedojo puts on objects and nodes, in one place for every layer."""

from __future__ import annotations

__all__ = [
    "CLASS_LABEL",
    "GPU_NODE_LABEL",
    "LAB_LABEL",
    "MANAGED",
    "NODE_VOLUME_LABEL",
    "PARTICIPANT_LABEL",
    "POD_SECURITY",
    "SHARED_SERVICES",
    "SHARED_SERVICES_LABEL",
    "SIM_POOL_LABEL",
]

MANAGED = {"app.kubernetes.io/managed-by": "kubedojo"}
"""On everything kubedojo creates."""
PARTICIPANT_LABEL = "kubedojo.dev/participant"
"""On a participant's namespace: whose it is."""
CLASS_LABEL = "kubedojo.dev/class"
"""On a participant's namespace: which class made it."""
SHARED_SERVICES_LABEL = "kubedojo.dev/shared-services"
"""On a namespace whose services every participant may use (value ``true``): the default
NetworkPolicies of participants' namespaces let their pods connect to its pods, and its pods to
theirs. Only administrators can label namespaces."""
SHARED_SERVICES = {SHARED_SERVICES_LABEL: "true"}
LAB_LABEL = "kubedojo.dev/lab"
"""On a lab's start record: which lab."""
SIM_POOL_LABEL = "kubedojo.dev/sim-pool"
"""On a simulated (kwok) node: its pool."""
GPU_NODE_LABEL = "nvidia.com/gpu.present"
"""On a node with NVIDIA GPUs (``true``), as NVIDIA's GPU feature discovery labels them."""
NODE_VOLUME_LABEL = "kubedojo.dev/node-volume-of"
"""On a node directory volume (PersistentVolume) and its claim: the namespace it was made for."""

POD_SECURITY = {
    "pod-security.kubernetes.io/enforce": "baseline",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/warn-version": "latest",
}
"""On every participant namespace: the API server refuses pods beyond the ``baseline`` Pod Security
Standard (no privileged containers, host namespaces, hostPath volumes or added capabilities) and
warns of what ``restricted`` would refuse (the labs' images run as root, as the seeds' do)."""
