"""Where each kind lives in the API: its group/version, its plural and whether it is namespaced.

The kinds kubedojo uses every day are listed here, so reading them needs no discovery request.
Any other kind (a custom resource such as an Argo ``Workflow`` or a ``PyTorchJob``) is looked up
once per client through the API server's discovery and cached (:meth:`KubeClient.kind`).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

__all__ = ["BUILTIN_KINDS", "KindInfo", "builtin_kind"]


@dataclass(frozen=True)
class KindInfo:
    kind: str
    api_version: str
    plural: str
    namespaced: bool

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str = "") -> str:
        """The REST path of the collection (``name`` None) or of one object; a namespaced kind
        with ``namespace`` None means every namespace."""
        base = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        scope = f"/namespaces/{quote(namespace, safe='')}" if self.namespaced and namespace else ""
        path = f"{base}{scope}/{self.plural}"
        if name is not None:
            path += f"/{quote(name, safe='')}"
        if subresource:
            path += f"/{subresource}"
        return path


def _kinds(*rows: tuple[str, str, str, bool]) -> dict[str, KindInfo]:
    return {
        kind: KindInfo(kind, api_version, plural, namespaced)
        for kind, api_version, plural, namespaced in rows
    }


BUILTIN_KINDS = _kinds(
    ("Pod", "v1", "pods", True),
    ("Event", "v1", "events", True),
    ("ConfigMap", "v1", "configmaps", True),
    ("Secret", "v1", "secrets", True),
    ("Service", "v1", "services", True),
    ("ServiceAccount", "v1", "serviceaccounts", True),
    ("PersistentVolumeClaim", "v1", "persistentvolumeclaims", True),
    ("ResourceQuota", "v1", "resourcequotas", True),
    ("LimitRange", "v1", "limitranges", True),
    ("Node", "v1", "nodes", False),
    ("Namespace", "v1", "namespaces", False),
    ("PersistentVolume", "v1", "persistentvolumes", False),
    ("Job", "batch/v1", "jobs", True),
    ("CronJob", "batch/v1", "cronjobs", True),
    ("Deployment", "apps/v1", "deployments", True),
    ("DaemonSet", "apps/v1", "daemonsets", True),
    ("StatefulSet", "apps/v1", "statefulsets", True),
    ("ReplicaSet", "apps/v1", "replicasets", True),
    ("Role", "rbac.authorization.k8s.io/v1", "roles", True),
    ("RoleBinding", "rbac.authorization.k8s.io/v1", "rolebindings", True),
    ("ClusterRole", "rbac.authorization.k8s.io/v1", "clusterroles", False),
    ("ClusterRoleBinding", "rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    ("StorageClass", "storage.k8s.io/v1", "storageclasses", False),
    ("NetworkPolicy", "networking.k8s.io/v1", "networkpolicies", True),
    ("EndpointSlice", "discovery.k8s.io/v1", "endpointslices", True),
    ("CustomResourceDefinition", "apiextensions.k8s.io/v1", "customresourcedefinitions", False),
    ("PodMetrics", "metrics.k8s.io/v1beta1", "pods", True),
    ("NodeMetrics", "metrics.k8s.io/v1beta1", "nodes", False),
    ("ValidatingAdmissionPolicy", "admissionregistration.k8s.io/v1", "validatingadmissionpolicies", False),
    (
        "ValidatingAdmissionPolicyBinding",
        "admissionregistration.k8s.io/v1",
        "validatingadmissionpolicybindings",
        False,
    ),
)


def builtin_kind(kind: str, api_version: str | None = None) -> KindInfo | None:
    """The table's entry for ``kind`` (at ``api_version``, when given), or None."""
    info = BUILTIN_KINDS.get(kind)
    if info is None or (api_version is not None and api_version != info.api_version):
        return None
    return info
