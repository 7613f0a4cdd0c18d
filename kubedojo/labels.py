"""The labels kubedojo puts on objects and nodes, in one place for every layer."""

from __future__ import annotations

import re

__all__ = [
    "CLASS_LABEL",
    "GPU_NODE_LABEL",
    "KATIB_INJECTION",
    "LAB_LABEL",
    "MANAGED",
    "NODE_VOLUME_LABEL",
    "PARTICIPANT_LABEL",
    "POD_SECURITY",
    "RELEASE_LABEL",
    "SHARED_SERVICES",
    "SHARED_SERVICES_LABEL",
    "SIM_POOL_LABEL",
    "label_key_problem",
    "label_value_problem",
]

MANAGED = {"app.kubernetes.io/managed-by": "kubedojo"}
RELEASE_LABEL = "kubedojo.dev/release"
"""On the CRDs kubedojo applies for a release of upstream manifests: the release's name (uninstalling
it finds its custom kinds by this label, without the upstream file)."""
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
KATIB_INJECTION = {"katib.kubeflow.org/metrics-collector-injection": "enabled"}
"""On every participant namespace too: Katib's pod webhook adds its metrics collector to trials' pods
in the namespaces labelled so (the label does nothing where Katib is not installed)."""


# -- what Kubernetes accepts as a label (apimachinery's validation of qualified names) -------------

_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def label_key_problem(key: str) -> str | None:
    """Why ``key`` is not a valid label key (an optional DNS-subdomain prefix and ``/``, then a name of
    at most 63 characters), or None."""
    prefix, slash, name = key.rpartition("/")
    if slash and not prefix:
        return f"label key {key!r} has an empty prefix before '/'"
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return f"label key {key!r}: its prefix must be a lower-case DNS subdomain (e.g. example.com)"
    if not name or len(name) > 63 or not _NAME.match(name):
        return (
            f"label key {key!r}: the name must be 1-63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit"
        )
    return None


def label_value_problem(value: str) -> str | None:
    """Why ``value`` is not a valid label value (empty, or at most 63 letters, digits, ``-``, ``_``
    and ``.`` starting and ending with a letter or digit), or None."""
    if value and (len(value) > 63 or not _NAME.match(value)):
        return (
            f"label value {value!r} must be at most 63 letters, digits, '-', '_' or '.', "
            "starting and ending with a letter or digit (or empty)"
        )
    return None
