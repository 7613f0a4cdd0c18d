"""The local cluster's NetworkPolicy enforcer: kube-network-policies (sigs.k8s.io, Apache-2.0), built
by kubedojo with its own main and one local change (:data:`~kubedojo.local.binaries.KUBE_NETWORK_POLICIES`),
run as a host daemon beside kube-proxy; its identity's permissions; and the nftables table it leaves
behind when it is killed.

How it enforces: it keeps ``table inet kube-network-policies``, whose POSTROUTING chain sends the
first packet of each new connection to or from a pod that some NetworkPolicy selects to a netfilter
queue; the daemon reads the queue and accepts or drops the packet by the policies (the rest of the
connection follows conntrack). Pods no policy selects are never queued.

**Fail-open.** ``-fail-open``: while nothing reads the queue (the daemon crashed, was killed or is
restarting) the kernel accepts the queued packets. A dead enforcer then means "no policy", not
"policed pods lose every connection, DNS included" — for a workshop, availability over isolation.
The window is visible: ``cluster.status`` shows the component unhealthy and ``cluster.up`` restarts it.

The table is deleted by the daemon when it stops (SIGTERM), and by ``cluster.down`` in any case
(after SIGKILL, or a crash, it stays with its rules until then): :data:`NFT_TABLE`.
"""

from __future__ import annotations

from typing import Any

from ..client.probes import HttpProbe
from ..labels import MANAGED
from .layout import Component, Layout, client_kubeconfig, daemon

__all__ = [
    "CERT_NAME",
    "CLUSTER_ROLE",
    "METRICS_PORT",
    "NAME",
    "NFQUEUE_ID",
    "NFT_TABLE",
    "USER",
    "network_policies",
    "rbac_objects",
    "rbac_rules",
]

NAME = "kube-network-policies"
"""The component, its program and its log (``<state_dir>/logs/kube-network-policies.log``)."""
NFQUEUE_ID = 3100
"""The netfilter queue the enforcer reads: any number no other program on this machine uses
(upstream's default, 100, is a common choice, so not that one)."""
METRICS_PORT = 10246
"""Its Prometheus ``/metrics`` on 127.0.0.1 (also the readiness probe); loopback because pods can
reach every address of the node whatever the policies (packets to the node are never queued)."""
NFT_TABLE = ("inet", NAME)
"""The nftables table the enforcer keeps (upstream's name for it)."""
USER = "system:kube-network-policies"
"""Its identity: the common name of its client certificate (no group; nothing but :func:`rbac_rules`)."""
CERT_NAME = NAME
"""Its client certificate's file stem in the PKI directory."""
CLUSTER_ROLE = "kubedojo:kube-network-policies"


def rbac_rules() -> list[dict[str, Any]]:
    """What the enforcer reads, and nothing more: pods (to know which IPs to police and whose they
    are), namespaces (for namespace selectors) and NetworkPolicies, with list and watch (its
    informers never get single objects). It records no Events and, without the AdminNetworkPolicy
    flags that kubedojo's build does not have, reads no Nodes."""
    return [
        {"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["list", "watch"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["list", "watch"]},
    ]


def rbac_objects() -> list[dict[str, Any]]:
    """The ClusterRole with :func:`rbac_rules` and its binding to :data:`USER`."""
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": CLUSTER_ROLE, "labels": MANAGED},
            "rules": rbac_rules(),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": CLUSTER_ROLE, "labels": MANAGED},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": CLUSTER_ROLE},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USER}],
        },
    ]


def network_policies(layout: Layout) -> Component:
    """kube-network-policies as a host process (root, the host's network namespace: it writes the
    host's nftables and reads a netfilter queue), policing the pods of this node, fail-open."""
    kc, kc_text = client_kubeconfig(layout, NAME, CERT_NAME)
    return Component(
        NAME,
        daemon(
            layout,
            NAME,
            [
                str(layout.netpol_bin),
                f"-kubeconfig={kc}",
                # Only pods whose spec.nodeName is this are policed: the kubelet's node name.
                f"-hostname-override={layout.settings.node_name}",
                f"-nfqueue-id={NFQUEUE_ID}",
                "-fail-open",
                f"-metrics-bind-address=127.0.0.1:{METRICS_PORT}",
                # Its PREROUTING chain works around a conntrack race with DNS that Linux 6.12 fixed
                # (netfilter bug 1766) by sending policed pods' DNS queries through the queue too.
                "-netfilter-bug-1766-fix=false",
                "-v=1",
            ],
        ),
        HttpProbe(f"http://127.0.0.1:{METRICS_PORT}/metrics"),
        2,
        {kc: kc_text},
    )
