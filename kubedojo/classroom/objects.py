"""What kubedojo creates for each participant: a namespace with an identity (enforcing Pod Security
``baseline``), a Role that is enough for every lab and no more, a ResourceQuota, a LimitRange and
the NetworkPolicies that keep other participants' pods out. Pure data; applying is the service's job."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..addons.releases import Release
from ..config import ClassNetworkSettings, ClassSettings
from ..labels import CLASS_LABEL, KATIB_INJECTION, MANAGED, PARTICIPANT_LABEL, POD_SECURITY, SHARED_SERVICES
from ..labs.workflowaccess import workflow_access_objects
from .roster import Participant
from .workflowpolicy import workflow_status_policy

__all__ = [
    "ADDON_ROLE_PREFIX",
    "CLASS_LABEL",
    "EGRESS_POLICY",
    "INGRESS_POLICY",
    "MANAGED",
    "NODE_READER",
    "NON_PUBLIC_IPV4",
    "PARTICIPANT_LABEL",
    "ROLE_NAME",
    "SERVICE_ACCOUNT",
    "ApiEndpoint",
    "addon_grants",
    "api_endpoints",
    "cluster_objects",
    "network_policies",
    "node_binding_name",
    "participant_objects",
    "role_rules",
]

SERVICE_ACCOUNT = "participant"
ROLE_NAME = "kubedojo-participant"
ADDON_ROLE_PREFIX = "kubedojo-addon-"
"""The Role (and RoleBinding) of an add-on's rights in a participant's namespace: this + its name."""
NODE_READER = "kubedojo-participant-nodes"
"""The ClusterRole that lets participants read Nodes (labs check the node stayed healthy; hints say
'kubectl describe node'); bound to each participant by a ClusterRoleBinding of their own."""

INGRESS_POLICY = "kubedojo-ingress"
EGRESS_POLICY = "kubedojo-egress"
NON_PUBLIC_IPV4 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16")
"""Private, shared (carrier-grade NAT) and link-local addresses: where clusters put pods, Services and
nodes; "the internet" of :class:`~kubedojo.config.ClassNetworkSettings` is every IPv4 address but these."""
CLUSTER_DNS_PORTS = (53, 1053)
"""The cluster DNS pods' ports, as NetworkPolicies see them (after the Service's DNAT): 1053 on the
local cluster (its CoreDNS listens there, the Service maps 53 to it), 53 elsewhere (kubespray)."""

ApiEndpoint = tuple[str, int]
"""An address and port where the API server receives what pods send to the ``kubernetes`` Service."""

_ALL = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
_READ = ["get", "list", "watch"]


def role_rules() -> list[dict[str, Any]]:
    """Jobs, Argo Workflows, PyTorchJobs, Katib Experiments (their Trials and Suggestions read only:
    the controller's) and their pods (with logs), ConfigMaps and claims: what the labs use; the pods'
    metrics (``kubectl top pod``). No Secrets, no RBAC, nothing of Argo's but
    Workflows (not the controller's configuration, not the task results its executor reports),
    nothing cluster-wide (a Role cannot grant that anyway). A Workflow's status is the controller's:
    the admission policy of :mod:`.workflowpolicy` refuses a participant's writing it; a PyTorchJob's
    is behind its status subresource, which the Role does not grant."""
    return [
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": _ALL},
        {"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": _ALL},
        {"apiGroups": ["kubeflow.org"], "resources": ["pytorchjobs", "experiments"], "verbs": _ALL},
        {"apiGroups": ["kubeflow.org"], "resources": ["trials", "suggestions"], "verbs": _READ},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch", "create", "delete"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["configmaps", "persistentvolumeclaims"], "verbs": _ALL},
        {"apiGroups": [""], "resources": ["events", "resourcequotas", "limitranges"], "verbs": _READ},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": _READ},
        {"apiGroups": ["metrics.k8s.io"], "resources": ["pods"], "verbs": ["get", "list"]},
    ]


def cluster_objects() -> list[dict[str, Any]]:
    """What every class shares: read access to Nodes (nothing else cluster-wide), and the admission
    policy that keeps a Workflow's status the controller's (:mod:`.workflowpolicy`)."""
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": NODE_READER, "labels": MANAGED},
            "rules": [
                {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": ["metrics.k8s.io"], "resources": ["nodes"], "verbs": ["get", "list"]},
            ],
        },
        *workflow_status_policy(SERVICE_ACCOUNT),
    ]


def node_binding_name(namespace: str) -> str:
    return f"{NODE_READER}-{namespace}"


def api_endpoints(slices: Iterable[Mapping[str, Any]]) -> list[ApiEndpoint]:
    """The API server's addresses and ports from the EndpointSlices of the ``kubernetes`` Service
    (``default/kubernetes``): after the Service's DNAT, what a pod's packets to the API are
    addressed to, and what a NetworkPolicy must allow (on the local cluster, the node's address and
    6443; on a kubespray site, every control-plane node's)."""
    found: set[ApiEndpoint] = set()
    for piece in slices:
        ports = [p["port"] for p in piece.get("ports") or [] if p.get("protocol", "TCP") == "TCP"]
        for endpoint in piece.get("endpoints") or []:
            for address in endpoint.get("addresses") or []:
                found.update((address, port) for port in ports)
    return sorted(found)


def _port(protocol: str, port: int) -> dict[str, Any]:
    return {"protocol": protocol, "port": port}


def _host_network(address: str) -> str:
    ip = ipaddress.ip_address(address)
    return f"{ip}/{ip.max_prefixlen}"


def network_policies(
    namespace: str,
    labels: Mapping[str, str],
    network: ClassNetworkSettings,
    endpoints: Sequence[ApiEndpoint],
    addons: Sequence[Release] = (),
) -> list[dict[str, Any]]:
    """A participant's namespace's NetworkPolicies, for every pod in it.

    Ingress only from the namespace's own pods and from namespaces labelled shared services
    (:data:`~kubedojo.labels.SHARED_SERVICES`). Egress to the namespace's own pods; to the cluster
    DNS (its pods' ports, :data:`CLUSTER_DNS_PORTS`; and port 53 on link-local addresses, where a
    node-local DNS cache such as kubespray's nodelocaldns, 169.254.25.10, answers); to the API server
    (``endpoints``: addresses, not pods, so an ipBlock); to shared services; with
    ``network.internet`` to every public IPv4 address; and to ``network.egress_cidrs``. Everything
    else — above all other participants' pods and Services, which are pods behind a DNAT — is
    refused. Besides, the pods and ports the ``addons`` name (:class:`~kubedojo.addons.releases.
    ParticipantAccess`: Katib's database manager, reached by trials' metrics collectors; Katib's
    controller, reaching the suggestion service it runs in the participant's namespace), selected by
    their namespace's name, which the API server sets and participants cannot take.
    """

    def meta(name: str) -> dict[str, Any]:
        return {"name": name, "namespace": namespace, "labels": dict(labels)}

    def addon_pods(release: Release, pods: Mapping[str, str]) -> dict[str, Any]:
        return {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": release.namespace}},
            "podSelector": {"matchLabels": dict(pods)},
        }

    shared = {"namespaceSelector": {"matchLabels": dict(SHARED_SERVICES)}}
    ingress: list[dict[str, Any]] = [{"from": [{"podSelector": {}}, shared]}]
    ingress += [
        {"from": [addon_pods(release, peer.pods)], "ports": [_port("TCP", peer.port)]}
        for release in addons
        for peer in release.participants.reached_by
    ]
    both = ("UDP", "TCP")
    egress: list[dict[str, Any]] = [
        {"to": [{"podSelector": {}}]},
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [_port(proto, port) for port in CLUSTER_DNS_PORTS for proto in both],
        },
        {"to": [{"ipBlock": {"cidr": "169.254.0.0/16"}}], "ports": [_port(proto, 53) for proto in both]},
    ]
    if endpoints:
        egress.append(
            {
                "to": [{"ipBlock": {"cidr": _host_network(a)}} for a in sorted({a for a, _ in endpoints})],
                "ports": [_port("TCP", p) for p in sorted({p for _, p in endpoints})],
            }
        )
    egress.append({"to": [shared]})
    egress += [
        {"to": [addon_pods(release, peer.pods)], "ports": [_port("TCP", peer.port)]}
        for release in addons
        for peer in release.participants.reach
    ]
    if network.internet:
        egress.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(NON_PUBLIC_IPV4)}}]})
    if network.egress_cidrs:
        egress.append({"to": [{"ipBlock": {"cidr": cidr}} for cidr in network.egress_cidrs]})
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta(INGRESS_POLICY),
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": ingress,
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta(EGRESS_POLICY),
            "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": egress},
        },
    ]


def addon_grants(
    namespace: str, labels: Mapping[str, str], addons: Sequence[Release]
) -> list[dict[str, Any]]:
    """A Role and its RoleBinding in the participant's namespace for each release that asks for
    rights there (:class:`~kubedojo.addons.releases.ParticipantGrant`), bound to the release's own
    ServiceAccount in the release's namespace (which participants cannot take); inert until the
    release is installed."""
    objects: list[dict[str, Any]] = []
    for release in addons:
        grant = release.participants.grant
        if grant is None:
            continue
        name = f"{ADDON_ROLE_PREFIX}{release.name}"
        meta = {"name": name, "namespace": namespace, "labels": dict(labels)}
        objects += [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": meta,
                "rules": [rule.model_dump() for rule in grant.rules],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": meta,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": [
                    {"kind": "ServiceAccount", "name": grant.service_account, "namespace": release.namespace}
                ],
            },
        ]
    return objects


def participant_objects(
    person: Participant,
    namespace: str,
    settings: ClassSettings,
    class_name: str,
    endpoints: Sequence[ApiEndpoint],
    addons: Sequence[Release] = (),
) -> list[dict[str, Any]]:
    """Everything a participant gets, in the order to apply it; ``endpoints``: the API server's
    (:func:`api_endpoints`), which their pods may reach; ``addons``: the releases whose pods they
    may reach or be reached by (:func:`network_policies`), or which have rights there
    (:func:`addon_grants`)."""
    labels = {**MANAGED, CLASS_LABEL: class_name, PARTICIPANT_LABEL: person.name}
    annotations = {
        k: v for k, v in (("kubedojo.dev/email", person.email), ("kubedojo.dev/group", person.group)) if v
    }
    quota, limits = settings.quota, settings.limits
    hard: dict[str, str] = {
        "requests.cpu": quota.cpu,
        "requests.memory": quota.memory,
        "limits.memory": quota.memory,
        "pods": str(quota.pods),
        "count/jobs.batch": str(quota.jobs),
        "persistentvolumeclaims": str(quota.claims),
        "requests.storage": quota.storage,
        "configmaps": str(quota.configmaps),
        "requests.nvidia.com/gpu": str(quota.gpus),
    }

    def meta(name: str) -> dict[str, Any]:
        return {"name": name, "namespace": namespace, "labels": labels}

    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": namespace,
                "labels": {**labels, **POD_SECURITY, **KATIB_INJECTION},
                "annotations": annotations,
            },
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(SERVICE_ACCOUNT)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta(ROLE_NAME),
            "rules": role_rules(),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta(ROLE_NAME),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ROLE_NAME},
            "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": namespace}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": node_binding_name(namespace), "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NODE_READER},
            "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": namespace}],
        },
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": meta("kubedojo-quota"),
            "spec": {"hard": hard},
        },
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": meta("kubedojo-limits"),
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "default": {"cpu": limits.default_cpu, "memory": limits.default_memory},
                        "defaultRequest": {
                            "cpu": limits.default_request_cpu,
                            "memory": limits.default_request_memory,
                        },
                        "max": {"cpu": limits.max_cpu, "memory": limits.max_memory},
                    }
                ]
            },
        },
        *workflow_access_objects(namespace, labels),
        *addon_grants(namespace, labels, addons),
        *network_policies(namespace, labels, settings.network, endpoints, addons),
    ]
