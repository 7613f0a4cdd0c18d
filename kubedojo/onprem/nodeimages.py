"""The images a kubespray v2.31.0 site pulls, built here for sites without internet: Kubernetes'
control plane and kube-proxy (for kubeadm), the flannel network, and the API server proxy that
workers run. The pod sandbox (pause) and CoreDNS are the local cluster's own builds.

kubeadm names its images itself (``<repository>/kube-apiserver:v1.35.4``): those keep Kubernetes'
names and version under ``kubedojo/``. The others carry kubedojo's tags (``-kubedojoN``), and the
inventory names them (:mod:`kubedojo.onprem.offline`).
"""

from __future__ import annotations

from ..local.binaries import KUBERNETES
from ..local.images import ADDON_BASE, COREDNS_IMAGE, PAUSE, BinaryImage, DebianImage, ImageRecipe
from ..versions import KUBERNETES_VERSION, SITE_NODE_VERSIONS
from .nodeprograms import FLANNEL, FLANNEL_CNI

__all__ = [
    "CONTROL_PLANE_IMAGES",
    "FLANNEL_CNI_IMAGE",
    "FLANNEL_IMAGE",
    "KUBE_PROXY_IMAGE",
    "NETWORK_BASE",
    "NGINX_IMAGE",
    "NODE_IMAGES",
]

_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

NETWORK_BASE = DebianImage(
    "node-network-base",
    "bookworm-1",
    "Debian 12 minbase with iptables, ipset, conntrack and iproute2: for kube-proxy and flannel",
    packages=("iptables", "ipset", "conntrack", "iproute2", "ca-certificates"),
)


def _control_plane(program: str, description: str) -> BinaryImage:
    # kubeadm's static pods run the program by name (`command: [kube-apiserver, ...]`), as root.
    return BinaryImage(
        program,
        KUBERNETES_VERSION,
        description,
        programs=KUBERNETES,
        program=program,
        path=f"/usr/local/bin/{program}",
        user="",
        env=(_PATH,),
    )


CONTROL_PLANE_IMAGES = (
    _control_plane("kube-apiserver", "Kubernetes API server"),
    _control_plane("kube-controller-manager", "Kubernetes controller manager"),
    _control_plane("kube-scheduler", "Kubernetes scheduler"),
)
KUBE_PROXY_IMAGE = BinaryImage(
    "kube-proxy",
    KUBERNETES_VERSION,
    "Kubernetes service proxy (iptables, ipset and conntrack from Debian)",
    programs=KUBERNETES,
    program="kube-proxy",
    path="/usr/local/bin/kube-proxy",
    user="",
    base=NETWORK_BASE,
)
FLANNEL_IMAGE = BinaryImage(
    "flannel",
    f"{SITE_NODE_VERSIONS['flannel']}-kubedojo1",
    "flannel: the pod network between nodes (VXLAN)",
    programs=FLANNEL,
    program="flannel",
    path="/opt/bin/flanneld",  # where kubespray's DaemonSet runs it
    user="",
    base=NETWORK_BASE,
)
FLANNEL_CNI_IMAGE = BinaryImage(
    "flannel-cni-plugin",
    f"{SITE_NODE_VERSIONS['flannel-cni']}-kubedojo1",
    "the flannel CNI plugin, which kubespray's init container copies into /opt/cni/bin",
    programs=FLANNEL_CNI,
    program="flannel",
    path="/flannel",
    user="",
    entrypoint=(),
    base=ADDON_BASE,  # the init container runs `cp`
)
NGINX_IMAGE = DebianImage(
    "nginx",
    "1.22-kubedojo2",
    "nginx with its stream module (Debian 12): the API server proxy kubespray runs on workers",
    packages=("nginx-light", "libnginx-mod-stream"),
    # kubespray mounts its own /etc/nginx (a stream{} block, no load_module): the module is loaded
    # from the command line, whose directives nginx reads before the configuration file.
    entrypoint=(
        "nginx",
        "-g",
        "daemon off; load_module /usr/lib/nginx/modules/ngx_stream_module.so;",
    ),
    # kubespray's configuration logs to nginx's default files: to the container's output, as in
    # upstream's image (the Debian root has no /var/log/nginx).
    links=(("/var/log/nginx/access.log", "/dev/stdout"), ("/var/log/nginx/error.log", "/dev/stderr")),
)
NODE_IMAGES: tuple[ImageRecipe, ...] = (
    PAUSE,
    COREDNS_IMAGE,
    *CONTROL_PLANE_IMAGES,
    KUBE_PROXY_IMAGE,
    FLANNEL_IMAGE,
    FLANNEL_CNI_IMAGE,
    NGINX_IMAGE,
)
"""Every image a site's nodes pull from the site's registry (bases are built on the way)."""
