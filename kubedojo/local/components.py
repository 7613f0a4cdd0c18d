"""What each component of the local cluster runs with: command lines, configuration files and
health probes. Pure: it computes, the provider writes and starts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..client.probes import HttpProbe, UnixSocketProbe
from ..client.processes import Daemon
from ..config import LocalSettings
from ..kubeconfig import render_kubeconfig
from ..paths import RUNTIME_DIR, StateDirs
from .images import PAUSE
from .simnodes import kwok_stages

__all__ = ["Component", "Layout", "components"]

CONTAINERD_SOCKET = RUNTIME_DIR / "containerd" / "containerd.sock"
MOUNT_NAMESPACE = RUNTIME_DIR / "mntns"
RUNC_ROOT = RUNTIME_DIR / "runc"
CGROUP_ROOT = "kubedojo"
CLUSTER_DOMAIN = "cluster.local"
KWOK_PORT = 10247


@dataclass(frozen=True)
class Layout:
    """Paths and addresses every component agrees on."""

    settings: LocalSettings
    state: StateDirs
    k8s_bin: Path
    kwok_bin: Path

    @property
    def registry(self) -> str:
        return f"127.0.0.1:{self.settings.registry_port}"

    @property
    def api_url(self) -> str:
        return f"https://{self.settings.network.node_ip}:{self.settings.api_port}"

    def pki(self, name: str) -> Path:
        return self.state.pki / name

    def kubeconfig_path(self, identity: str) -> Path:
        return self.state.config / f"{identity}.kubeconfig"


@dataclass(frozen=True)
class Component:
    """One daemon of the cluster."""

    name: str
    daemon: Daemon
    probe: Callable[..., bool]
    stage: int
    """Start order: every component of a stage is started together, after the earlier stages are healthy."""
    files: Mapping[Path, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """Changes whenever the command line, environment or a configuration file does."""
        digest = hashlib.sha256(json.dumps([list(self.daemon.argv), dict(self.daemon.env)]).encode())
        for path in sorted(self.files):
            digest.update(str(path).encode() + b"\0" + self.files[path].encode())
        return digest.hexdigest()


def _daemon(
    layout: Layout,
    name: str,
    argv: list[str],
    *,
    mount_ns: bool = False,
    env: Mapping[str, str] | None = None,
) -> Daemon:
    return Daemon(
        name=name,
        argv=argv,
        log=layout.state.logs / f"{name}.log",
        pidfile=layout.state.pids / f"{name}.pid",
        env=dict(env or {}),
        mount_namespace=MOUNT_NAMESPACE if mount_ns else None,
    )


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


def components(layout: Layout, registry_storage: Path) -> list[Component]:
    """Every daemon of the local cluster, in start order."""
    s = layout.settings
    net = s.network
    st = layout.state
    cfg = st.config
    pki = layout.pki
    kbin = layout.k8s_bin
    comps: list[Component] = []

    # -- stage 0: registry, etcd, containerd ------------------------------------------------
    registry_cfg = cfg / "registry.yaml"
    comps.append(
        Component(
            "registry",
            _daemon(layout, "registry", ["/usr/bin/docker-registry", "serve", str(registry_cfg)]),
            HttpProbe(f"http://{layout.registry}/v2/"),
            0,
            {
                registry_cfg: yaml.safe_dump(
                    {
                        "version": 0.1,
                        "log": {"level": "warn", "accesslog": {"disabled": True}},
                        "storage": {
                            "filesystem": {"rootdirectory": str(registry_storage)},
                            "delete": {"enabled": True},
                        },
                        "http": {"addr": layout.registry},
                    }
                )
            },
        )
    )

    etcd_client = f"https://127.0.0.1:{s.etcd_port}"
    peer = f"http://127.0.0.1:{s.etcd_port + 1}"
    metrics_port = s.etcd_port + 2
    comps.append(
        Component(
            "etcd",
            _daemon(
                layout,
                "etcd",
                [
                    "/usr/bin/etcd",
                    "--name",
                    "kubedojo",
                    "--data-dir",
                    str(st.etcd),
                    "--listen-client-urls",
                    etcd_client,
                    "--advertise-client-urls",
                    etcd_client,
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
    )

    containerd_cfg = cfg / "containerd.toml"
    hosts_toml = cfg / "certs.d" / layout.registry / "hosts.toml"
    comps.append(
        Component(
            "containerd",
            _daemon(
                layout,
                "containerd",
                ["/usr/bin/containerd", "--config", str(containerd_cfg)],
                mount_ns=True,
            ),
            UnixSocketProbe(CONTAINERD_SOCKET),
            0,
            {
                containerd_cfg: _containerd_toml(layout),
                hosts_toml: (
                    f'server = "http://{layout.registry}"\n\n'
                    f'[host."http://{layout.registry}"]\n  capabilities = ["pull", "resolve"]\n'
                ),
            },
        )
    )

    # -- stage 1: the API server ------------------------------------------------------------
    comps.append(
        Component(
            "kube-apiserver",
            _daemon(
                layout,
                "kube-apiserver",
                [
                    str(kbin / "kube-apiserver"),
                    f"--advertise-address={net.node_ip}",
                    f"--bind-address={net.node_ip}",
                    f"--secure-port={s.api_port}",
                    "--allow-privileged=true",
                    "--authorization-mode=Node,RBAC",
                    "--enable-admission-plugins=NodeRestriction,ExtendedResourceToleration",
                    f"--client-ca-file={pki('ca.crt')}",
                    f"--tls-cert-file={pki('apiserver.crt')}",
                    f"--tls-private-key-file={pki('apiserver.key')}",
                    f"--etcd-servers={etcd_client}",
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
    )

    # -- stage 2: everything that talks to the API server -----------------------------------
    def identity(name: str, cert: str) -> tuple[Path, str]:
        path = layout.kubeconfig_path(name)
        text = render_kubeconfig(
            layout.api_url, pki("ca.crt"), name, cert=pki(f"{cert}.crt"), key=pki(f"{cert}.key")
        )
        return path, text

    cm_kc, cm_kc_text = identity("controller-manager", "controller-manager")
    comps.append(
        Component(
            "kube-controller-manager",
            _daemon(
                layout,
                "kube-controller-manager",
                [
                    str(kbin / "kube-controller-manager"),
                    *_secure_client_args(cm_kc, 10257),
                    f"--client-ca-file={pki('ca.crt')}",
                    f"--requestheader-client-ca-file={pki('front-proxy-ca.crt')}",
                    "--cluster-name=kubedojo",
                    f"--cluster-signing-cert-file={pki('ca.crt')}",
                    f"--cluster-signing-key-file={pki('ca.key')}",
                    f"--root-ca-file={pki('ca.crt')}",
                    f"--service-account-private-key-file={pki('sa.key')}",
                    f"--service-cluster-ip-range={net.service_cidr}",
                    "--use-service-account-credentials=true",
                    "--controllers=*,bootstrapsigner,tokencleaner",
                    # Volumes for the 'nfs-storage' class: directories under /tmp/hostpath_pv on
                    # this one node (see dns_storage.storage_objects).
                    "--enable-hostpath-provisioner=true",
                ],
            ),
            HttpProbe("https://127.0.0.1:10257/healthz", verify=False),
            2,
            {cm_kc: cm_kc_text},
        )
    )

    sched_kc, sched_kc_text = identity("scheduler", "scheduler")
    comps.append(
        Component(
            "kube-scheduler",
            _daemon(
                layout,
                "kube-scheduler",
                [
                    str(kbin / "kube-scheduler"),
                    *_secure_client_args(sched_kc, 10259),
                ],
            ),
            HttpProbe("https://127.0.0.1:10259/healthz", verify=False),
            2,
            {sched_kc: sched_kc_text},
        )
    )

    kubelet_kc, kubelet_kc_text = identity("kubelet", "kubelet-client")
    kubelet_cfg = cfg / "kubelet.yaml"
    resolv = cfg / "resolv.conf"
    labels = ",".join(f"{k}={v}" for k, v in sorted(s.node_labels.items()))
    kubelet_argv = [
        str(kbin / "kubelet"),
        f"--config={kubelet_cfg}",
        f"--kubeconfig={kubelet_kc}",
        f"--root-dir={st.kubelet}",
        f"--hostname-override={s.node_name}",
        f"--node-ip={net.node_ip}",
        "--v=1",
    ]
    if labels:
        kubelet_argv.append(f"--node-labels={labels}")
    comps.append(
        Component(
            "kubelet",
            _daemon(layout, "kubelet", kubelet_argv, mount_ns=True),
            HttpProbe("http://127.0.0.1:10248/healthz"),
            2,
            {
                kubelet_kc: kubelet_kc_text,
                kubelet_cfg: _kubelet_yaml(layout, resolv),
                resolv: "# pods get their resolver from the cluster DNS; this machine's is not reachable\n",
            },
        )
    )

    proxy_kc, proxy_kc_text = identity("kube-proxy", "kube-proxy")
    proxy_cfg = cfg / "kube-proxy.yaml"
    comps.append(
        Component(
            "kube-proxy",
            _daemon(layout, "kube-proxy", [str(kbin / "kube-proxy"), f"--config={proxy_cfg}", "--v=1"]),
            HttpProbe("http://127.0.0.1:10256/healthz"),
            2,
            {
                proxy_kc: proxy_kc_text,
                proxy_cfg: yaml.safe_dump(
                    {
                        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
                        "kind": "KubeProxyConfiguration",
                        "clientConnection": {"kubeconfig": str(proxy_kc)},
                        "mode": "iptables",
                        "clusterCIDR": net.pod_cidr,
                        "hostnameOverride": s.node_name,
                        "healthzBindAddress": "127.0.0.1:10256",
                        "metricsBindAddress": "127.0.0.1:10249",
                        "nodePortAddresses": [f"{net.node_ip}/32"],
                        "iptables": {"localhostNodePorts": False},
                        "conntrack": {
                            "maxPerCore": 0,
                            "min": 0,
                            "tcpEstablishedTimeout": "0s",
                            "tcpCloseWaitTimeout": "0s",
                        },
                    }
                ),
            },
        )
    )

    kwok_kc, kwok_kc_text = identity("kwok", "kwok")
    comps.append(
        Component(
            "kwok",
            _daemon(
                layout,
                "kwok",
                [
                    str(layout.kwok_bin),
                    f"--kubeconfig={kwok_kc}",
                    "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                    f"--cidr={net.sim_subnet}",
                    f"--node-ip={net.node_ip}",
                    f"--server-address=127.0.0.1:{KWOK_PORT}",
                    "--config=" + str(cfg / "kwok.yaml"),
                ],
            ),
            HttpProbe(f"http://127.0.0.1:{KWOK_PORT}/healthz"),
            2,
            {
                kwok_kc: kwok_kc_text,
                cfg / "kwok.yaml": yaml.safe_dump_all(
                    [
                        {
                            "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
                            "kind": "KwokConfiguration",
                            "options": {
                                "enableCNI": False,
                                "nodePlayStageParallelism": 4,
                                "podPlayStageParallelism": 4,
                                "podsOnNodeSyncParallelism": 4,
                                "nodeLeaseDurationSeconds": 40,
                                "nodeLeaseParallelism": 2,
                            },
                        },
                        *kwok_stages(),
                    ],
                    sort_keys=False,
                ),
            },
        )
    )
    return comps


def _containerd_toml(layout: Layout) -> str:
    st = layout.state
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{st.containerd}"
state = "{RUNTIME_DIR / "containerd" / "state"}"
disabled_plugins = [
  "io.containerd.internal.v1.opt",
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "{CONTAINERD_SOCKET}"

[ttrpc]
  address = "{CONTAINERD_SOCKET}.ttrpc"

[{cri}]
  sandbox_image = "{PAUSE.ref(layout.registry)}"
  restrict_oom_score_adj = true

[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[{cri}.containerd.runtimes.runc.options]
  BinaryName = "/usr/sbin/runc"
  Root = "{RUNC_ROOT}"
  SystemdCgroup = false

[{cri}.cni]
  bin_dir = "/usr/lib/cni"
  conf_dir = "{st.cni / "net.d"}"

[{cri}.registry]
  config_path = "{st.config / "certs.d"}"
"""


def _kubelet_yaml(layout: Layout, resolv: Path) -> str:
    s = layout.settings
    pki = layout.pki
    return yaml.safe_dump(
        {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": s.network.node_ip,
            "port": 10250,
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": 10248,
            "authentication": {
                "anonymous": {"enabled": False},
                "webhook": {"enabled": True},
                "x509": {"clientCAFile": str(pki("ca.crt"))},
            },
            "authorization": {"mode": "Webhook"},
            "tlsCertFile": str(pki("kubelet-server.crt")),
            "tlsPrivateKeyFile": str(pki("kubelet-server.key")),
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": f"/{CGROUP_ROOT}",
            "failCgroupV1": False,
            "failSwapOn": False,
            "containerRuntimeEndpoint": f"unix://{CONTAINERD_SOCKET}",
            "clusterDNS": [s.network.dns_service_ip],
            "clusterDomain": CLUSTER_DOMAIN,
            "resolvConf": str(resolv),
            "podLogsDir": str(layout.state.pod_logs),
            "evictionHard": {
                "memory.available": "200Mi",
                "nodefs.available": "1Gi",
                "imagefs.available": "1Gi",
                "nodefs.inodesFree": "5%",
            },
            "serializeImagePulls": False,
            "protectKernelDefaults": False,
            "rotateCertificates": False,
            "serverTLSBootstrap": False,
            "registerNode": True,
            "enforceNodeAllocatable": ["pods"],
            "shutdownGracePeriod": "0s",
            "nodeStatusReportFrequency": "10s",
            "syncFrequency": "10s",
            "fileCheckFrequency": "20s",
        },
        sort_keys=False,
    )


def cni_conflist(layout: Layout) -> str:
    """The pod network: one bridge on this machine, and routes only to pods and Services."""
    net = layout.settings.network
    return (
        json.dumps(
            {
                "cniVersion": "1.0.0",
                "name": "kubedojo",
                "plugins": [
                    {
                        "type": "bridge",
                        "bridge": net.bridge,
                        "isGateway": True,
                        "ipMasq": False,
                        "hairpinMode": True,
                        "ipam": {
                            "type": "host-local",
                            "dataDir": str(layout.state.cni / "ipam"),
                            "ranges": [[{"subnet": str(net.node_subnet), "gateway": net.node_ip}]],
                            "routes": [{"dst": net.pod_cidr}, {"dst": net.service_cidr}],
                        },
                    }
                ],
            },
            indent=2,
        )
        + "\n"
    )
