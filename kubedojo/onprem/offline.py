"""What a kubespray v2.31.0 run downloads, and the inventory variables that point it at a site's own
files repository and registry instead of the internet.

kubespray fetches its binaries on every node from GitHub and dl.k8s.io, each checked against a
checksum variable, and pulls its images from registry.k8s.io, docker.io and quay.io. For a site
without internet, kubedojo builds them here (:mod:`nodeprograms`, :mod:`nodeimages`), packs each file
the way kubespray's install tasks unpack it, and serves them from the site: files under the paths of
their original hosts (``<files_repo>/github.com/...``, as kubespray's offline guide lays them out),
images from the site's registry. :func:`offline_variables` gives the inventory variables: every
download URL, every checksum (of what is served, from the bundle's manifest), every image's
repository and tag, and the base URLs and registries, so that nothing is fetched from anywhere else.

Two of kubespray's defaults are turned off because their images cannot be built here (their source is
not on the Go module proxy): NodeLocal DNSCache (nodes then resolve through CoreDNS's service) and
the DNS autoscaler (CoreDNS then runs 2 replicas).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..local.binaries import KUBEADM, KUBERNETES, GoProgramSet
from ..local.images import COREDNS_IMAGE, PAUSE, ImageRecipe
from ..versions import KUBERNETES_VERSION, SITE_NODE_VERSIONS
from .nodeimages import FLANNEL_CNI_IMAGE, FLANNEL_IMAGE, NGINX_IMAGE
from .nodeprograms import CNI_PLUGINS, CONTAINERD, CRICTL, ETCD, ETCDCTL, ETCDUTL, NERDCTL, RUNC

__all__ = [
    "ARCH",
    "FILES",
    "IMAGES",
    "ImageVariables",
    "Member",
    "ServedFile",
    "offline_variables",
]

ARCH = "amd64"
_K = KUBERNETES_VERSION
_V = {name: version.removeprefix("v") for name, version in SITE_NODE_VERSIONS.items()}


@dataclass(frozen=True)
class Member:
    """One program in a served file: ``name`` in the archive (or the file itself)."""

    name: str
    programs: GoProgramSet
    program: str


@dataclass(frozen=True)
class ServedFile:
    """A file kubespray downloads, as a site serves it."""

    key: str
    """kubespray's name for the download (its ``downloads`` dict)."""
    path: str
    """Where it is in the files repository: the original URL without its scheme."""
    url_variable: str
    checksum_variable: str
    members: tuple[Member, ...]
    """One member and no ``top``: the file is that program itself; else a ``.tar.gz`` of them."""
    top: str = ""
    """The directory the archive's members are in, when kubespray's unpacking expects one."""
    variables: Mapping[str, str] = field(default_factory=dict)
    """Other variables this file needs (a version kubespray names the file after, when ours differs)."""

    @property
    def is_archive(self) -> bool:
        return len(self.members) > 1 or bool(self.top) or self.path.endswith((".tar.gz", ".tgz"))


def _cni(program: str) -> Member:
    return Member(program, CNI_PLUGINS, program)


_GH = "github.com"
FILES: tuple[ServedFile, ...] = (
    ServedFile(
        "kubeadm",
        f"dl.k8s.io/release/{_K}/bin/linux/{ARCH}/kubeadm",
        "kubeadm_download_url",
        "kubeadm_binary_checksum",
        (Member("kubeadm", KUBEADM, "kubeadm"),),
    ),
    ServedFile(
        "kubelet",
        f"dl.k8s.io/release/{_K}/bin/linux/{ARCH}/kubelet",
        "kubelet_download_url",
        "kubelet_binary_checksum",
        (Member("kubelet", KUBERNETES, "kubelet"),),
    ),
    ServedFile(
        "kubectl",
        f"dl.k8s.io/release/{_K}/bin/linux/{ARCH}/kubectl",
        "kubectl_download_url",
        "kubectl_binary_checksum",
        (Member("kubectl", KUBERNETES, "kubectl"),),
    ),
    ServedFile(
        "etcd",
        f"{_GH}/etcd-io/etcd/releases/download/v{_V['etcd']}/etcd-v{_V['etcd']}-linux-{ARCH}.tar.gz",
        "etcd_download_url",
        "etcd_binary_checksum",
        (
            Member("etcd", ETCD, "server"),
            Member("etcdctl", ETCDCTL, "etcdctl"),
            Member("etcdutl", ETCDUTL, "etcdutl"),
        ),
        top=f"etcd-v{_V['etcd']}-linux-{ARCH}",
    ),
    ServedFile(
        "cni",
        f"{_GH}/containernetworking/plugins/releases/download/v{_V['cni-plugins']}/"
        f"cni-plugins-linux-{ARCH}-v{_V['cni-plugins']}.tgz",
        "cni_download_url",
        "cni_binary_checksum",
        tuple(_cni(p) for p in CNI_PLUGINS.program_names()),
    ),
    ServedFile(
        "crictl",
        f"{_GH}/kubernetes-sigs/cri-tools/releases/download/v{_V['crictl']}/crictl-v{_V['crictl']}-linux-{ARCH}.tar.gz",
        "crictl_download_url",
        "crictl_binary_checksum",
        (Member("crictl", CRICTL, "crictl"),),
        variables={"crictl_version": _V["crictl"]},
    ),
    ServedFile(
        "runc",
        f"{_GH}/opencontainers/runc/releases/download/v{_V['runc']}/runc.{ARCH}",
        "runc_download_url",
        "runc_binary_checksum",
        (Member("runc", RUNC, "runc"),),
    ),
    ServedFile(
        "containerd",
        f"{_GH}/containerd/containerd/releases/download/v{_V['containerd']}/"
        f"containerd-{_V['containerd']}-linux-{ARCH}.tar.gz",
        "containerd_download_url",
        "containerd_archive_checksum",
        tuple(Member(p, CONTAINERD, p) for p in CONTAINERD.program_names()),
        top="bin",  # unpacked with --strip-components=1 into /usr/local/bin
    ),
    ServedFile(
        "nerdctl",
        f"{_GH}/containerd/nerdctl/releases/download/v{_V['nerdctl']}/nerdctl-{_V['nerdctl']}-linux-{ARCH}.tar.gz",
        "nerdctl_download_url",
        "nerdctl_archive_checksum",
        (Member("nerdctl", NERDCTL, "nerdctl"),),
    ),
)
"""Every file a kubespray run downloads for a containerd site with the flannel network."""


@dataclass(frozen=True)
class ImageVariables:
    """An image kubespray pulls, and the variables naming its repository and tag."""

    recipe: ImageRecipe
    repository_variable: str
    tag_variable: str


IMAGES: tuple[ImageVariables, ...] = (
    ImageVariables(PAUSE, "pod_infra_image_repo", "pod_infra_image_tag"),
    ImageVariables(COREDNS_IMAGE, "coredns_image_repo", "coredns_image_tag"),
    ImageVariables(NGINX_IMAGE, "nginx_image_repo", "nginx_image_tag"),
    ImageVariables(FLANNEL_IMAGE, "flannel_image_repo", "flannel_image_tag"),
    ImageVariables(FLANNEL_CNI_IMAGE, "flannel_init_image_repo", "flannel_init_image_tag"),
)
"""The images kubespray names by variables; kubeadm's own (the control plane, kube-proxy) are found
under ``kubeadm_image_repo`` by their Kubernetes names. A site network other than flannel needs
images this list lacks."""

_BASE_URLS = ("github_url", "dl_k8s_io_url", "storage_googleapis_url", "get_helm_url")
_BASE_REGISTRIES = (
    "kube_image_repo",
    "gcr_image_repo",
    "docker_image_repo",
    "quay_image_repo",
    "github_image_repo",
)
_HOSTS = {
    "github_url": "github.com",
    "dl_k8s_io_url": "dl.k8s.io",
    "storage_googleapis_url": "storage.googleapis.com",
    "get_helm_url": "get.helm.sh",
}


def offline_variables(files_repo: str, registry: str, checksums: Mapping[str, str]) -> dict[str, Any]:
    """The inventory variables of an offline site: ``files_repo`` (``http://host:port``) serves the
    files, ``registry`` (``host:port``) the images, ``checksums`` gives each file's sha256 by its
    key (from the bundle's manifest)."""
    base = files_repo.rstrip("/")
    variables: dict[str, Any] = {"files_repo": base, "registry_host": registry}
    for name in _BASE_URLS:
        variables[name] = f"{base}/{_HOSTS[name]}"
    for name in _BASE_REGISTRIES:
        variables[name] = registry
    for served in FILES:
        variables[served.url_variable] = f"{base}/{served.path}"
        variables[served.checksum_variable] = f"sha256:{checksums[served.key]}"
        variables.update(served.variables)
    variables["kubeadm_image_repo"] = f"{registry}/kubedojo"
    for image in IMAGES:
        variables[image.repository_variable] = f"{registry}/{image.recipe.repository}"
        variables[image.tag_variable] = image.recipe.tag
    variables["enable_nodelocaldns"] = False
    variables["enable_dns_autoscaler"] = False
    # kubeadm's preflight pulls its own list of images, among them upstream's pause:3.10.1, which the
    # site's registry does not hold (its sandbox image is kubedojo's pause, which containerd uses):
    # kubespray has pulled every other image kubeadm needs from the site's registry before.
    variables["kubeadm_ignore_preflight_errors"] = ["ImagePull"]
    return variables
