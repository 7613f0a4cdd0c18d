"""The control plane of the local cluster, one function per daemon: etcd, the API server, the
controller manager and the scheduler. Pure: each computes its command line, files and health probe.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..client.probes import HttpProbe
from ..tuning import controller_manager_flags, scheduler_client
from .layout import CLUSTER_DOMAIN, Component, Layout, client_kubeconfig, daemon

__all__ = [
    "etcd",
    "kube_apiserver",
    "kube_controller_manager",
    "kube_scheduler",
]


def etcd(layout: Layout) -> Component:
    """etcd on loopback: clients with certificates over TLS, its one peer in plain HTTP."""
    s = layout.settings
    pki = layout.pki
    peer = f"http://127.0.0.1:{s.etcd_port + 1}"
    metrics_port = s.etcd_port + 2
    return Component(
        "etcd",
        daemon(
            layout,
            "etcd",
            [
                "/usr/bin/etcd",
                "--name",
                "kubedojo",
                "--data-dir",
                str(layout.state.etcd),
                "--listen-client-urls",
                layout.etcd_url,
                "--advertise-client-urls",
                layout.etcd_url,
                "--listen-peer-urls",
                peer,
                "--initial-advertise-peer-urls",
                peer,
                "--initial-cluster",
                f"kubedojo={peer}",
                "--listen-metrics-urls",
                f"http://127.0.0.1:{metrics_port}",
                "--cert-file",
                str(pki("etcd-server.crt")),
                "--key-file",
                str(pki("etcd-server.key")),
                "--trusted-ca-file",
                str(pki("etcd-ca.crt")),
                "--client-cert-auth",
                "--snapshot-count",
                "10000",
                "--logger",
                "zap",
                "--log-level",
                "warn",
            ],
        ),
        HttpProbe(f"http://127.0.0.1:{metrics_port}/health", expect='"health":"true"'),
        0,
    )


def kube_apiserver(layout: Layout) -> Component:
    """The API server on the bridge address, with Node and RBAC authorization."""
    s = layout.settings
    net = s.network
    pki = layout.pki
    return Component(
        "kube-apiserver",
        daemon(
            layout,
            "kube-apiserver",
            [
                str(layout.k8s_bin / "kube-apiserver"),
                f"--advertise-address={net.node_ip}",
                f"--bind-address={net.node_ip}",
                f"--secure-port={s.api_port}",
                "--allow-privileged=true",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                f"--client-ca-file={pki('ca.crt')}",
                f"--tls-cert-file={pki('apiserver.crt')}",
                f"--tls-private-key-file={pki('apiserver.key')}",
                f"--etcd-servers={layout.etcd_url}",
                f"--etcd-cafile={pki('etcd-ca.crt')}",
                f"--etcd-certfile={pki('apiserver-etcd-client.crt')}",
                f"--etcd-keyfile={pki('apiserver-etcd-client.key')}",
                f"--kubelet-client-certificate={pki('apiserver-kubelet-client.crt')}",
                f"--kubelet-client-key={pki('apiserver-kubelet-client.key')}",
                f"--kubelet-certificate-authority={pki('ca.crt')}",
                "--kubelet-preferred-address-types=InternalIP",
                f"--proxy-client-cert-file={pki('front-proxy-client.crt')}",
                f"--proxy-client-key-file={pki('front-proxy-client.key')}",
                f"--requestheader-client-ca-file={pki('front-proxy-ca.crt')}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-username-headers=X-Remote-User",
                "--enable-aggregator-routing=true",
                f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
                f"--service-account-key-file={pki('sa.pub')}",
                f"--service-account-signing-key-file={pki('sa.key')}",
                f"--service-cluster-ip-range={net.service_cidr}",
                "--profiling=false",
                # Debian's etcd 3.4.23 predates the watch-progress requests that serving a list as a
                # watch stream needs (etcd >= 3.4.31), so the API server broke such streams off after
                # they began; kwok's informers then stalled for up to half a minute at a time. Turned
                # off, the request is refused at once and clients list instead.
                "--feature-gates=WatchList=false",
                "--v=1",
            ],
        ),
        HttpProbe(
            f"{layout.api_url}/readyz",
            ca=pki("ca.crt"),
            cert=pki("admin.crt"),
            key=pki("admin.key"),
        ),
        1,
    )


def kube_controller_manager(layout: Layout) -> Component:
    """The controller manager, which also signs certificates and provisions hostPath volumes."""
    pki = layout.pki
    kc, kc_text = client_kubeconfig(layout, "controller-manager", "controller-manager")
    return Component(
        "kube-controller-manager",
        daemon(
            layout,
            "kube-controller-manager",
            [
                str(layout.k8s_bin / "kube-controller-manager"),
                *_secure_client_args(kc, 10257),
                f"--client-ca-file={pki('ca.crt')}",
                f"--requestheader-client-ca-file={pki('front-proxy-ca.crt')}",
                "--cluster-name=kubedojo",
                f"--cluster-signing-cert-file={pki('ca.crt')}",
                f"--cluster-signing-key-file={pki('ca.key')}",
                f"--root-ca-file={pki('ca.crt')}",
                f"--service-account-private-key-file={pki('sa.key')}",
                f"--service-cluster-ip-range={layout.settings.network.service_cidr}",
                "--use-service-account-credentials=true",
                "--controllers=*,bootstrapsigner,tokencleaner",
                # Volumes for the 'nfs-storage' class: directories under /tmp/hostpath_pv on
                # this one node (see dns_storage.storage_objects).
                "--enable-hostpath-provisioner=true",
                # Sized for a class submitting at once (kubedojo/tuning.py).
                *(f"--{flag}={value}" for flag, value in controller_manager_flags().items()),
            ],
        ),
        HttpProbe("https://127.0.0.1:10257/healthz", verify=False),
        2,
        {kc: kc_text},
    )


def kube_scheduler(layout: Layout) -> Component:
    """The scheduler, from a KubeSchedulerConfiguration (its client's rate is set only there)."""
    kc, kc_text = client_kubeconfig(layout, "scheduler", "scheduler")
    config = layout.state.config / "kube-scheduler.yaml"
    config_text = yaml.safe_dump(
        {
            "apiVersion": "kubescheduler.config.k8s.io/v1",
            "kind": "KubeSchedulerConfiguration",
            "clientConnection": {"kubeconfig": str(kc), **scheduler_client()},
            "leaderElection": {"leaderElect": False},
        },
        sort_keys=False,
    )
    argv = [arg for arg in _secure_client_args(kc, 10259) if arg.split("=")[0] not in _IN_CONFIG]
    return Component(
        "kube-scheduler",
        daemon(
            layout, "kube-scheduler", [str(layout.k8s_bin / "kube-scheduler"), f"--config={config}", *argv]
        ),
        HttpProbe("https://127.0.0.1:10259/healthz", verify=False),
        2,
        {kc: kc_text, config: config_text},
    )


_IN_CONFIG = frozenset({"--kubeconfig", "--leader-elect"})
"""Flags the scheduler ignores once it has a --config: the file says them."""


def _secure_client_args(kubeconfig_file: Path, port: int) -> list[str]:
    """Flags the controller manager and the scheduler share: one identity for talking to the API
    server and for checking who calls their own HTTPS endpoint on loopback; no leader election."""
    return [
        f"--kubeconfig={kubeconfig_file}",
        f"--authentication-kubeconfig={kubeconfig_file}",
        f"--authorization-kubeconfig={kubeconfig_file}",
        "--bind-address=127.0.0.1",
        f"--secure-port={port}",
        "--leader-elect=false",
        "--v=1",
    ]
