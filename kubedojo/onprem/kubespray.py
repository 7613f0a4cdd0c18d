"""kubespray itself: the pinned release, fetched as its release archive into the cache and checked, or
an existing checkout named in workshop.yaml; and the Ansible version it insists on.

The archive is checked by **content**: the files it unpacks to must hash to the pinned release's git
tree ID (the same hash git computes for the tag's tree), so a truncated, tampered or wrong archive is
refused whatever compression GitHub used. A site that mirrors the archive may pin its sha256 as well.
The unpacked tree lands in the cache completely or not at all.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..client.download import download
from ..errors import ConfigError, DownloadError, ToolMissingError
from ..paths import CacheDirs
from ..versions import KUBESPRAY_COMMIT, KUBESPRAY_TREE, KUBESPRAY_VERSION

__all__ = [
    "ENTRY_POINTS",
    "KUBESPRAY",
    "KubesprayFetcher",
    "KubesprayRelease",
    "KubesprayTree",
    "check_ansible_version",
    "git_tree_id",
    "version_tuple",
]

ENTRY_POINTS = ("cluster.yml", "scale.yml", "reset.yml", "remove-node.yml", "upgrade-cluster.yml")
_STAMP = ".kubedojo-complete"
_VERSION_FILE = "playbooks/ansible_version.yml"
_CHECKSUMS_FILE = "roles/kubespray_defaults/vars/main/checksums.yml"
_BINARIES_CHECKED = ("kubeadm_checksums", "kubelet_checksums", "kubectl_checksums")
"""kubespray installs a Kubernetes version only if all three have its checksum (validate_inventory)."""
_ARCH = "amd64"
_VARIABLE_FILES = ("roles/**/defaults/**/*.yml", "roles/**/vars/**/*.yml")
_SAMPLE_VARS = "inventory/sample/group_vars/**/*.yml"
_DOCUMENTED = re.compile(r"^#\s?([a-z_][a-z0-9_]*):", re.MULTILINE)
_DEFAULTED = re.compile(r"\b([a-z_][a-z0-9_]*)\s*\|\s*d(?:efault)?\(")


@dataclass(frozen=True)
class KubesprayRelease:
    version: str
    tree: str
    """The git tree ID of the release's files."""
    commit: str = ""
    sha256: str = ""
    """The archive's sha256, when a site pins one (its mirror serves fixed bytes)."""

    def archive_url(self, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/{self.version}.tar.gz"


KUBESPRAY = KubesprayRelease(KUBESPRAY_VERSION, KUBESPRAY_TREE, KUBESPRAY_COMMIT)


@dataclass(frozen=True)
class KubesprayTree:
    """A kubespray playbook tree on disk."""

    path: Path
    version: str

    def playbook(self, name: str) -> str:
        if not (self.path / name).is_file():
            raise ConfigError(f"{self.path}: has no {name}; is this a kubespray {KUBESPRAY_VERSION} tree?")
        return name

    def check_entry_points(self) -> None:
        missing = [name for name in ENTRY_POINTS if not (self.path / name).is_file()]
        if missing:
            raise ConfigError(
                f"{self.path}: not a kubespray tree (missing {', '.join(missing)}); "
                "fix 'onprem.kubespray_checkout' in workshop.yaml or leave it empty for the pinned release"
            )

    def kubernetes_versions(self) -> tuple[str, ...]:
        """The Kubernetes versions this kubespray can install (it has their checksums), newest first."""
        path = self.path / _CHECKSUMS_FILE
        try:
            checksums = yaml.safe_load(path.read_text())
            found = [set(checksums[name][_ARCH]) for name in _BINARIES_CHECKED]
        except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{path}: cannot read the Kubernetes versions kubespray has checksums for ({exc}); "
                f"is {self.path} a kubespray {KUBESPRAY_VERSION} tree?"
            ) from None
        return tuple(sorted(set.intersection(*found), key=version_tuple, reverse=True))

    def variable_names(self) -> frozenset[str]:
        """Every variable name kubespray knows: its roles' defaults and vars, the sample inventory's
        group_vars (also those it shows commented out), and the names its tasks and templates read
        with a default."""
        names: set[str] = set()
        files: set[Path] = set()
        for pattern in (*_VARIABLE_FILES, _SAMPLE_VARS):
            files.update(self.path.glob(pattern))
        for path in sorted(files):
            try:
                text = path.read_text()
                data = yaml.safe_load(text)
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue
            if isinstance(data, dict):
                names.update(str(key) for key in data)
            if path.match(_SAMPLE_VARS):
                names.update(_DOCUMENTED.findall(text))
        for pattern in ("roles/**/*.yml", "roles/**/*.j2", "playbooks/*.yml"):
            for path in self.path.glob(pattern):
                try:
                    names.update(_DEFAULTED.findall(path.read_text()))
                except (OSError, UnicodeDecodeError):
                    continue
        return frozenset(names)

    def ansible_range(self) -> tuple[str, str] | None:
        """The ansible-core versions kubespray asserts (minimum inclusive, maximum exclusive)."""
        path = self.path / _VERSION_FILE
        try:
            plays = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            return None
        for play in plays if isinstance(plays, list) else []:
            variables = play.get("vars") if isinstance(play, dict) else None
            if isinstance(variables, dict) and "minimal_ansible_version" in variables:
                return str(variables["minimal_ansible_version"]), str(variables["maximal_ansible_version"])
        return None


def version_tuple(version: str) -> tuple[int, ...]:
    """``"v2.18.19"`` as ``(2, 18, 19)``: the numbers in a version, for comparing."""
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def check_ansible_version(tree: KubesprayTree, installed: str) -> None:
    """Refuse to start a run that kubespray's own version check would stop minutes later."""
    bounds = tree.ansible_range()
    if bounds is None:
        return
    low, high = bounds
    if not version_tuple(low) <= version_tuple(installed) < version_tuple(high):
        raise ToolMissingError(
            f"ansible-core>={low},<{high}",
            f"kubespray {tree.version} needs it and this Python has ansible-core {installed}; "
            "'pip install -e .' installs the pinned one",
        )


# -- the git tree ID of a directory ------------------------------------------------------------


def _object_id(kind: bytes, data: bytes) -> bytes:
    return hashlib.sha1(kind + b" " + str(len(data)).encode() + b"\0" + data, usedforsecurity=False).digest()


def _tree(directory: Path) -> bytes:
    entries: list[tuple[bytes, bytes, bytes]] = []
    for entry in os.scandir(directory):
        name = entry.name.encode()
        info = entry.stat(follow_symlinks=False)
        if stat.S_ISLNK(info.st_mode):
            entries.append((name, b"120000", _object_id(b"blob", os.readlink(entry.path).encode())))
        elif stat.S_ISDIR(info.st_mode):
            if any(os.scandir(entry.path)):  # git keeps no empty directories
                entries.append((name + b"/", b"40000", _tree(Path(entry.path))))
        else:
            mode = b"100755" if info.st_mode & stat.S_IXUSR else b"100644"
            entries.append((name, mode, _object_id(b"blob", Path(entry.path).read_bytes())))
    entries.sort(key=lambda e: e[0])  # git orders a directory as if its name ended in '/'
    body = b"".join(mode + b" " + name.rstrip(b"/") + b"\0" + oid for name, mode, oid in entries)
    return _object_id(b"tree", body)


def git_tree_id(directory: Path) -> str:
    """The ID git gives the tree of ``directory``'s files (as ``git write-tree`` would)."""
    return _tree(directory).hex()


# -- fetching ----------------------------------------------------------------------------------


class KubesprayFetcher:
    """Finds the pinned kubespray in the cache, or downloads, checks and unpacks it there."""

    def __init__(
        self, cache: CacheDirs, base_url: str, release: KubesprayRelease = KUBESPRAY, timeout: float = 300.0
    ) -> None:
        self.cache = cache
        self.base_url = base_url
        self.release = release
        self.timeout = timeout

    @property
    def directory(self) -> Path:
        return self.cache.root / "kubespray" / f"{self.release.version}-{self.release.tree[:12]}"

    def cached(self) -> KubesprayTree | None:
        if (self.directory / _STAMP).is_file():
            return KubesprayTree(self.directory / "tree", self.release.version)
        return None

    def ensure(self) -> tuple[KubesprayTree, bool]:
        """The tree, and whether it was downloaded now."""
        found = self.cached()
        if found is not None:
            return found, False
        url = self.release.archive_url(self.base_url)
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{self.directory.name}-", dir=self.directory.parent))
        try:
            archive = work / "archive.tar.gz"
            download(url, archive, timeout=self.timeout, sha256=self.release.sha256)
            tree = self._unpack(url, archive, work / "unpacked")
            found_id = git_tree_id(tree)
            if found_id != self.release.tree:
                raise DownloadError(
                    f"{url}: its files hash to tree {found_id[:12]}, not kubespray {self.release.version}'s "
                    f"{self.release.tree[:12]}; nothing was kept"
                )
            archive.unlink()
            final_tree = work / "tree"
            os.replace(tree, final_tree)
            shutil.rmtree(work / "unpacked", ignore_errors=True)
            (work / _STAMP).write_text(f"{self.release.version} {self.release.tree} {url}\n")
            if self.directory.exists():
                shutil.rmtree(self.directory)
            os.replace(work, self.directory)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return KubesprayTree(self.directory / "tree", self.release.version), True

    @staticmethod
    def _unpack(url: str, archive: Path, into: Path) -> Path:
        """Unpack (refusing paths outside the target) and return the archive's one top directory."""
        into.mkdir()
        try:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(into, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise DownloadError(f"{url}: not a usable release archive ({exc}); nothing was kept") from None
        tops = list(into.iterdir())
        if len(tops) != 1 or not tops[0].is_dir():
            raise DownloadError(f"{url}: a release archive has one top directory, this one has {len(tops)}")
        return tops[0]
