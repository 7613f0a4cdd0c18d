"""Where kubedojo keeps things.

* The **cache** (``~/.cache/kubedojo/v1`` or ``$KUBEDOJO_CACHE/v1``) holds what is expensive to make
  and safe to share between clusters: the Go build and module caches, built binaries, the image
  recipes' results and the local registry's storage. ``v1`` is the cache layout version: bump
  :data:`CACHE_LAYOUT` when the layout changes, and old caches are simply ignored.
* The **state directory** (``/var/lib/kubedojo/local`` by default) belongs to one cluster: its PKI,
  etcd data, container store, configuration and the logs of every component.
* The **runtime directory** (``/run/kubedojo``) holds sockets, the mount namespace and the lock, and
  is removed by ``cluster.down``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["CACHE_LAYOUT", "RUNTIME_DIR", "CacheDirs", "StateDirs"]

CACHE_LAYOUT = "v1"
RUNTIME_DIR = Path("/run/kubedojo")


@dataclass(frozen=True)
class CacheDirs:
    root: Path

    @classmethod
    def under(cls, base: Path) -> CacheDirs:
        return cls(base / CACHE_LAYOUT)

    @property
    def go_build(self) -> Path:
        return self.root / "go" / "build"

    @property
    def go_mod(self) -> Path:
        return self.root / "go" / "mod"

    @property
    def go_src(self) -> Path:
        return self.root / "go" / "src"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def registry(self) -> Path:
        return self.root / "registry"

    @property
    def buildah(self) -> Path:
        """buildah's image storage (overlay driver)."""
        return self.root / "buildah-overlay"

    @property
    def buildah_vfs(self) -> Path:
        """Where the storage was while it used the vfs driver (each layer a full copy: tens of GB and
        most of an image build's time); removed when found."""
        return self.root / "buildah"

    @property
    def logs(self) -> Path:
        return self.root / "logs"


@dataclass(frozen=True)
class StateDirs:
    root: Path

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def etcd(self) -> Path:
        return self.root / "etcd"

    @property
    def containerd(self) -> Path:
        return self.root / "containerd"

    @property
    def kubelet(self) -> Path:
        return self.root / "kubelet"

    @property
    def pod_logs(self) -> Path:
        return self.root / "pod-logs"

    @property
    def cni(self) -> Path:
        return self.root / "cni"

    @property
    def host_record(self) -> Path:
        """The host settings as they were before the cluster changed them."""
        return self.root / "host-settings.json"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.root / "admin.kubeconfig"
