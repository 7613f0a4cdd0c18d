"""Where pods run, one function per daemon: the image registry, containerd, the kubelet and
kube-proxy; and the pod network they share. Pure: each computes its command line, files and health
probe.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from ..client.probes import HttpProbe, UnixSocketProbe
from ..paths import RUNTIME_DIR
from .images import PAUSE
from .layout import (
    CGROUP_ROOT,
    CLUSTER_DOMAIN,
    CONTAINERD_SOCKET,
    RUNC_ROOT,
    Component,
    Layout,
    client_kubeconfig,
    daemon,
)

__all__ = ["cni_conflist", "containerd", "kube_proxy", "kubelet", "registry", "registry_config"]


def registry(layout: Layout, storage: Path) -> Component:
    """The image registry on loopback, where the cluster's images and the labs' are pushed."""
    registry_cfg = layout.state.config / "registry.yaml"
    return Component(
        "registry",
        daemon(layout, "registry", ["/usr/bin/docker-registry", "serve", str(registry_cfg)]),
        HttpProbe(f"http://{layout.registry}/v2/"),
        0,
        {registry_cfg: registry_config(storage, layout.registry, delete=True)},
    )


def registry_config(storage: Path, address: str, delete: bool) -> str:
    """docker-registry's configuration: plain HTTP on ``address``, images under ``storage``, quiet;
    ``delete``: the API may delete images (only where no one else reaches it: the local registry)."""
    filesystem: dict[str, object] = {"filesystem": {"rootdirectory": str(storage)}}
    if delete:
        filesystem["delete"] = {"enabled": True}
    return yaml.safe_dump(
        {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": filesystem,
            "http": {"addr": address},
        }
    )


def containerd(layout: Layout) -> Component:
    """containerd in the cluster's mount namespace, pulling from the local registry."""
    containerd_cfg = layout.state.config / "containerd.toml"
    hosts_toml = layout.state.config / "certs.d" / layout.registry / "hosts.toml"
    return Component(
        "containerd",
        daemon(
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


def kubelet(layout: Layout) -> Component:
    """The kubelet in the cluster's mount namespace, registering this machine as the node."""
    s = layout.settings
    cfg = layout.state.config
    kc, kc_text = client_kubeconfig(layout, "kubelet", "kubelet-client")
    kubelet_cfg = cfg / "kubelet.yaml"
    resolv = cfg / "resolv.conf"
    labels = ",".join(f"{k}={v}" for k, v in sorted(s.node_labels.items()))
    argv = [
        str(layout.k8s_bin / "kubelet"),
        f"--config={kubelet_cfg}",
        f"--kubeconfig={kc}",
        f"--root-dir={layout.state.kubelet}",
        f"--hostname-override={s.node_name}",
        f"--node-ip={s.network.node_ip}",
        "--v=1",
    ]
    if labels:
        argv.append(f"--node-labels={labels}")
    return Component(
        "kubelet",
        daemon(layout, "kubelet", argv, mount_ns=True),
        HttpProbe("http://127.0.0.1:10248/healthz"),
        2,
        {
            kc: kc_text,
            kubelet_cfg: _kubelet_yaml(layout, resolv),
            resolv: "# pods get their resolver from the cluster DNS; this machine's is not reachable\n",
        },
    )


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
            # No image garbage collection by share of the disk: the node's disk is the machine's, and
            # the kubelet counts as used what the filesystem reserves (capacity less what is
            # available), so on a machine whose disk is mostly reserved it would remove every image not
            # in use, the sandbox image too (containerd 1.6 does not pin it), and pods could then not
            # start while the registry is out of reach. Below 1 GiB free the eviction above still
            # removes unused images.
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
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


def kube_proxy(layout: Layout) -> Component:
    """kube-proxy in iptables mode, with node ports on the bridge address only."""
    s = layout.settings
    net = s.network
    kc, kc_text = client_kubeconfig(layout, "kube-proxy", "kube-proxy")
    proxy_cfg = layout.state.config / "kube-proxy.yaml"
    return Component(
        "kube-proxy",
        daemon(layout, "kube-proxy", [str(layout.k8s_bin / "kube-proxy"), f"--config={proxy_cfg}", "--v=1"]),
        HttpProbe("http://127.0.0.1:10256/healthz"),
        2,
        {
            kc: kc_text,
            proxy_cfg: yaml.safe_dump(
                {
                    "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
                    "kind": "KubeProxyConfiguration",
                    "clientConnection": {"kubeconfig": str(kc)},
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
