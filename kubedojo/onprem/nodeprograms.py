"""The programs the nodes of a kubespray v2.31.0 site run besides Kubernetes, as Go builds: what an
offline site's files repository serves in place of kubespray's downloads from GitHub.

Versions are :data:`~kubedojo.versions.SITE_NODE_VERSIONS` (kubespray's pins, except where the module
proxy lacks one; that table says why). Every program is Apache-2.0; runc links libseccomp (LGPL-2.1)
statically, as upstream's release binary does.
"""

from __future__ import annotations

from ..local.binaries import GoProgramSet, SourceEdit
from ..versions import SITE_NODE_VERSIONS

__all__ = [
    "CNI_PLUGINS",
    "CONTAINERD",
    "CRICTL",
    "ETCD",
    "ETCDCTL",
    "ETCDUTL",
    "FLANNEL",
    "FLANNEL_CNI",
    "NERDCTL",
    "NODE_PROGRAMS",
    "RUNC",
]

_V = SITE_NODE_VERSIONS

ETCD = GoProgramSet(
    name="etcd",
    module="go.etcd.io/etcd/server/v3",
    version=_V["etcd"],
    # The server's main package is the server module's root: `go build` names it "server".
    packages=("go.etcd.io/etcd/server/v3",),
)
ETCDCTL = GoProgramSet(
    name="etcdctl",
    module="go.etcd.io/etcd/etcdctl/v3",
    version=_V["etcd"],
    packages=("go.etcd.io/etcd/etcdctl/v3",),
)
ETCDUTL = GoProgramSet(
    name="etcdutl",
    module="go.etcd.io/etcd/etcdutl/v3",
    version=_V["etcd"],
    packages=("go.etcd.io/etcd/etcdutl/v3",),
)
_CONTAINERD = "github.com/containerd/containerd/v2"
CONTAINERD = GoProgramSet(
    name="containerd",
    module=_CONTAINERD,
    version=_V["containerd"],
    packages=tuple(f"{_CONTAINERD}/cmd/{p}" for p in ("containerd", "containerd-shim-runc-v2", "ctr")),
    ldflags=(
        f"-X {_CONTAINERD}/version.Version={_V['containerd']}",
        f"-X {_CONTAINERD}/version.Package={_CONTAINERD}",
    ),
    # As upstream's release build: no btrfs (a C library), user and network lookups in Go.
    tags=("no_btrfs", "netgo", "osusergo"),
)
RUNC = GoProgramSet(
    name="runc",
    module="github.com/opencontainers/runc",
    version=_V["runc"],
    packages=("github.com/opencontainers/runc",),
    ldflags=(f"-X main.version={_V['runc'].removeprefix('v')}",),
    # runc's nsenter is C; seccomp filters need libseccomp (Debian's libseccomp-dev, linked statically).
    cgo=True,
    tags=("seccomp", "netgo", "osusergo"),
)
_CNI = "github.com/containernetworking/plugins"
_CNI_PLUGINS = (
    "main/bridge",
    "main/dummy",
    "main/host-device",
    "main/ipvlan",
    "main/loopback",
    "main/macvlan",
    "main/ptp",
    "main/tap",
    "main/vlan",
    "ipam/dhcp",
    "ipam/host-local",
    "ipam/static",
    "meta/bandwidth",
    "meta/firewall",
    "meta/portmap",
    "meta/sbr",
    "meta/tuning",
    "meta/vrf",
)
CNI_PLUGINS = GoProgramSet(
    name="cni-plugins",
    module=_CNI,
    version=_V["cni-plugins"],
    packages=tuple(f"{_CNI}/plugins/{p}" for p in _CNI_PLUGINS),
    ldflags=(f"-X {_CNI}/pkg/utils/buildversion.BuildVersion={_V['cni-plugins']}",),
)
FLANNEL_CNI = GoProgramSet(
    name="flannel-cni",
    module=_CNI,
    version=_V["flannel-cni"],
    packages=(f"{_CNI}/plugins/meta/flannel",),
)
CRICTL = GoProgramSet(
    name="crictl",
    module="sigs.k8s.io/cri-tools",
    version=_V["crictl"],
    packages=("sigs.k8s.io/cri-tools/cmd/crictl",),
    ldflags=(f"-X sigs.k8s.io/cri-tools/pkg/version.Version={_V['crictl']}",),
)
_NERDCTL = "github.com/containerd/nerdctl/v2"
NERDCTL = GoProgramSet(
    name="nerdctl",
    module=_NERDCTL,
    version=_V["nerdctl"],
    packages=(f"{_NERDCTL}/cmd/nerdctl",),
    ldflags=(f"-X {_NERDCTL}/pkg/version.Version={_V['nerdctl']}",),
    tags=("no_btrfs", "netgo", "osusergo"),
    # Its test helpers import nerdctl/mod/tigron, a module of nerdctl's repository that is not
    # published: tidy tolerates the tests, and the one helper file the program's package compiles
    # (cosign and compose helpers for tests, which nothing else calls) is left out by a build tag.
    tidy_tolerant=True,
    edits=(
        SourceEdit(
            "cmd/nerdctl/helpers/testing_linux.go",
            "/*\n   Copyright The containerd Authors.\n",
            "//go:build kubedojo_nerdctl_tests\n\n/*\n   Copyright The containerd Authors.\n",
            "the license header of the test helpers",
        ),
    ),
)
FLANNEL = GoProgramSet(
    name="flannel",
    module="github.com/flannel-io/flannel",
    version=_V["flannel"],
    packages=("github.com/flannel-io/flannel",),
    ldflags=(f"-X github.com/flannel-io/flannel/pkg/version.Version={_V['flannel']}",),
    cgo=True,  # its udp backend has C parts, as upstream builds it
    # Without the Tencent Cloud VPC backend: its SDK is not on the module proxy, and an on-prem site
    # uses VXLAN (kubespray's default backend) anyway.
    edits=(
        SourceEdit(
            "main.go",
            '\t_ "github.com/flannel-io/flannel/pkg/backend/tencentvpc"\n',
            "",
            "the import of the tencentvpc backend",
        ),
    ),
)

NODE_PROGRAMS = (ETCD, ETCDCTL, ETCDUTL, CONTAINERD, RUNC, CNI_PLUGINS, CRICTL, NERDCTL, FLANNEL, FLANNEL_CNI)
