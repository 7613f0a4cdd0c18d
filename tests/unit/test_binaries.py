"""Release downloads against a real HTTP server on loopback, and the Go module build plan."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from kubedojo.client.commands import Runner
from kubedojo.errors import BuildError, CommandError, DownloadError
from kubedojo.local.binaries import (
    KUBE_NETWORK_POLICIES,
    KUBERNETES,
    KUBERNETES_PROGRAMS,
    Binaries,
    GoProgramSet,
    ReleaseDownloader,
    SourceArchive,
    SourceEdit,
    edit_source,
    staging_modules,
)
from kubedojo.paths import CacheDirs

from .fileserver import serving

VERSION = KUBERNETES.version


@pytest.fixture
def release_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A file server on 127.0.0.1 laid out like the official release bucket."""
    root = tmp_path / "www"
    directory = root / VERSION / "bin" / "linux" / "amd64"
    directory.mkdir(parents=True)
    for program in KUBERNETES_PROGRAMS:
        body = f"#!/bin/sh\necho {program} {VERSION}\n".encode()
        (directory / program).write_bytes(body)
        (directory / f"{program}.sha256").write_text(hashlib.sha256(body).hexdigest())

    with serving(root) as url:
        yield url, directory


def test_download_verifies_every_checksum_and_installs_atomically(
    tmp_path: Path, release_server: tuple[str, Path]
) -> None:
    url, _ = release_server
    binaries = Binaries(CacheDirs(tmp_path / "cache"))
    fetched: list[str] = []
    assert binaries.ensure_downloaded(KUBERNETES, ReleaseDownloader(url), fetched.append) is True
    assert fetched == list(KUBERNETES_PROGRAMS)
    kubelet = binaries.path(KUBERNETES, "kubelet")
    assert subprocess.run([str(kubelet)], capture_output=True, text=True).stdout == f"kubelet {VERSION}\n"
    assert binaries.ready(KUBERNETES)
    # Cached: a second call downloads nothing (the server could be gone).
    assert binaries.ensure_downloaded(KUBERNETES, ReleaseDownloader("http://127.0.0.1:9")) is False


def test_checksum_mismatch_installs_nothing(tmp_path: Path, release_server: tuple[str, Path]) -> None:
    url, directory = release_server
    (directory / "kube-proxy").write_bytes(b"tampered\n")
    binaries = Binaries(CacheDirs(tmp_path / "cache"))
    with pytest.raises(DownloadError) as error:
        binaries.ensure_downloaded(KUBERNETES, ReleaseDownloader(url))
    assert "kube-proxy: sha256" in str(error.value) and "nothing was kept" in str(error.value)
    assert not binaries.directory(KUBERNETES).exists()
    assert list((tmp_path / "cache" / "bin").iterdir()) == []


def test_missing_file_is_a_clear_error(tmp_path: Path, release_server: tuple[str, Path]) -> None:
    url, directory = release_server
    (directory / "kubectl.sha256").unlink()
    with pytest.raises(DownloadError, match=r"kubectl\.sha256: HTTP 404"):
        Binaries(CacheDirs(tmp_path)).ensure_downloaded(KUBERNETES, ReleaseDownloader(url))


class RecordingRunner(Runner):
    """Stands in for the Go toolchain: records the commands and the generated go.mod."""

    def __init__(
        self,
        go_mod_file: Path,
        fail_build: bool = False,
        module_dir: Path | None = None,
        programs: Sequence[str] = KUBERNETES_PROGRAMS,
    ) -> None:
        super().__init__()
        self.calls: list[list[str]] = []
        self.go_mod_file = go_mod_file
        self.module_dir = module_dir or go_mod_file.parent
        self.fail_build = fail_build
        self.programs = programs
        self.go_mod = ""
        self.build_dir: Path | None = None

    def run(self, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(argv))
        if argv[:3] == ["go", "mod", "download"]:
            info = json.dumps({"GoMod": str(self.go_mod_file), "Dir": str(self.module_dir)})
            return subprocess.CompletedProcess(argv, 0, info, "")
        if argv[:2] == ["go", "mod"]:
            self.go_mod = (kwargs["cwd"] / "go.mod").read_text()
            self.build_dir = kwargs["cwd"]
        if argv[:2] == ["go", "build"]:
            if self.fail_build:
                raise CommandError(list(argv), 1, "compile error")
            out = Path(argv[argv.index("-o") + 1])
            for program in self.programs:
                (out / program).write_text("binary")
        return subprocess.CompletedProcess(argv, 0, "", "")


UPSTREAM_GO_MOD = """module k8s.io/kubernetes

require k8s.io/api v0.0.0

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
\tgithub.com/other/thing => github.com/fork/thing v1.0.0
)
"""


def test_build_pins_staging_modules_and_stamps_the_result(tmp_path: Path) -> None:
    upstream = tmp_path / "upstream.mod"
    upstream.write_text(UPSTREAM_GO_MOD)
    runner = RecordingRunner(upstream)
    binaries = Binaries(CacheDirs(tmp_path / "cache"), runner)
    assert binaries.ensure_built(KUBERNETES, tmp_path / "build.log") is True
    assert "\tk8s.io/api => k8s.io/api v0.35.4\n" in runner.go_mod
    assert "\tk8s.io/client-go => k8s.io/client-go v0.35.4\n" in runner.go_mod
    assert "github.com/fork" not in runner.go_mod
    build = next(call for call in runner.calls if call[:2] == ["go", "build"])
    ldflags = build[build.index("-ldflags") + 1]
    assert "k8s.io/component-base/version.gitVersion=v1.35.4" in ldflags
    assert binaries.ready(KUBERNETES)
    assert binaries.ensure_built(KUBERNETES, tmp_path / "build.log") is False


def test_failed_build_leaves_no_partial_directory(tmp_path: Path) -> None:
    upstream = tmp_path / "upstream.mod"
    upstream.write_text(UPSTREAM_GO_MOD)
    binaries = Binaries(CacheDirs(tmp_path / "cache"), RecordingRunner(upstream, fail_build=True))
    with pytest.raises(BuildError, match=r"building kubernetes-v1\.35\.4 failed"):
        binaries.ensure_built(KUBERNETES, tmp_path / "build.log")
    assert not binaries.directory(KUBERNETES).exists()
    assert [p.name for p in (tmp_path / "cache" / "bin").iterdir()] == []


def test_staging_modules_reads_only_local_replacements() -> None:
    assert staging_modules(UPSTREAM_GO_MOD) == ["k8s.io/api", "k8s.io/client-go"]


QUEUE_BLOCK = """\tqueue := &expr.Queue{Num: uint16(c.config.QueueID)}
\tif c.config.FailOpen {
\t\tqueue.Flag = expr.QueueFlagBypass
\t}
"""
CONTROLLER = f"""package networkpolicy

func (c *Controller) syncNFTablesRules() {{
{QUEUE_BLOCK}\tuse(queue)
}}

func (c *Controller) addDNSRacersWorkaroundRules() {{
{QUEUE_BLOCK}\tuse(queue)
}}
"""


def test_edit_source_replaces_exactly_the_expected_occurrences() -> None:
    (edit,) = KUBE_NETWORK_POLICIES.edits
    edited = edit_source(CONTROLLER, edit, "controller.go")
    assert "expr.Queue" not in edited and "QueueFlagBypass" not in edited
    assert edited.count("\tqueue := nfqueueTarget(c.config.QueueID, c.config.FailOpen)\n\tuse(queue)") == 2


@pytest.mark.parametrize(
    "text", [CONTROLLER.replace(QUEUE_BLOCK, "", 1), "package x\n", CONTROLLER + QUEUE_BLOCK]
)
def test_edit_source_refuses_a_file_it_was_not_written_for(text: str) -> None:
    (edit,) = KUBE_NETWORK_POLICIES.edits
    with pytest.raises(BuildError) as error:
        edit_source(text, edit, "pkg/networkpolicy/controller.go of m@v1")
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith("cannot patch pkg/networkpolicy/controller.go of m@v1: expected the block ")
    assert "expr.Queue{Num: uint16(c.config.QueueID)}" in message and "2 time(s), found it" in message


def fake_knp_module(root: Path, controller: str = CONTROLLER) -> Path:
    """A stand-in for the downloaded module: read-only, as the Go module cache keeps it."""
    module = root / "kube-network-policies@v0.8.0"
    (module / "pkg" / "networkpolicy").mkdir(parents=True)
    (module / "go.mod").write_text("module sigs.k8s.io/kube-network-policies\n")
    (module / "pkg" / "networkpolicy" / "controller.go").write_text(controller)
    for path in sorted(module.rglob("*"), reverse=True):
        path.chmod(0o555 if path.is_dir() else 0o444)
    module.chmod(0o555)
    return module


def test_enforcer_builds_its_own_main_against_an_edited_copy_of_the_module(tmp_path: Path) -> None:
    module = fake_knp_module(tmp_path)
    runner = RecordingRunner(module / "go.mod", programs=["kube-network-policies"])
    binaries = Binaries(CacheDirs(tmp_path / "cache"), runner)
    assert KUBE_NETWORK_POLICIES.program_names() == ["kube-network-policies"]

    assert binaries.ensure_built(KUBE_NETWORK_POLICIES, tmp_path / "build.log") is True

    src = runner.build_dir
    assert src is not None
    assert "replace sigs.k8s.io/kube-network-policies => ./upstream\n" in runner.go_mod
    assert "require sigs.k8s.io/kube-network-policies v0.8.0\n" in runner.go_mod
    controller = (src / "upstream" / "pkg" / "networkpolicy" / "controller.go").read_text()
    assert "expr.Queue" not in controller and controller.count("nfqueueTarget(") == 2
    helper = (src / "upstream" / "pkg" / "networkpolicy" / "zz_kubedojo_nfqueue.go").read_text()
    assert "func nfqueueTarget(queueID int, failOpen bool) expr.Any" in helper
    assert 'Name: "NFQUEUE", Rev: 3' in helper
    main = (src / "cmd" / "kube-network-policies" / "main.go").read_text()
    assert '"kubeconfig"' in main and "syscall.SIGTERM" in main and "package main" in main
    assert not (src / "tools.go").exists()  # the only package built is the build module's own
    assert (module / "pkg" / "networkpolicy" / "controller.go").read_text() == CONTROLLER  # cache untouched
    build = next(call for call in runner.calls if call[:2] == ["go", "build"])
    assert build[-1] == "kubedojo.local/build/kube-network-policies/cmd/kube-network-policies"
    assert binaries.ready(KUBE_NETWORK_POLICIES)
    stamp = json.loads((binaries.directory(KUBE_NETWORK_POLICIES) / ".kubedojo-complete").read_text())
    assert stamp["local_changes"] == KUBE_NETWORK_POLICIES.local_digest
    # Cached; and a later build (the binaries removed) starts from a fresh copy of the module.
    assert binaries.ensure_built(KUBE_NETWORK_POLICIES, tmp_path / "build.log") is False
    shutil.rmtree(binaries.directory(KUBE_NETWORK_POLICIES))
    assert binaries.ensure_built(KUBE_NETWORK_POLICIES, tmp_path / "build.log") is True


def test_enforcer_build_stops_when_upstream_changed(tmp_path: Path) -> None:
    module = fake_knp_module(tmp_path, CONTROLLER.replace("QueueFlagBypass", "QueueFlagFanout"))
    runner = RecordingRunner(module / "go.mod", programs=["kube-network-policies"])
    binaries = Binaries(CacheDirs(tmp_path / "cache"), runner)
    with pytest.raises(BuildError) as error:
        binaries.ensure_built(KUBE_NETWORK_POLICIES, tmp_path / "build.log")
    assert str(error.value).startswith(
        "cannot patch pkg/networkpolicy/controller.go of sigs.k8s.io/kube-network-policies@v0.8.0: expected"
    )
    assert not any(call[:2] == ["go", "build"] for call in runner.calls)
    assert not binaries.directory(KUBE_NETWORK_POLICIES).exists()


def test_local_changes_name_the_cache_directory() -> None:
    from dataclasses import replace

    plain = replace(KUBE_NETWORK_POLICIES, edits=(), module_files=(), build_files=())
    assert plain.directory_name == "kube-network-policies-v0.8.0"
    assert KUBE_NETWORK_POLICIES.directory_name.startswith("kube-network-policies-v0.8.0-kubedojo.")
    changed = replace(
        KUBE_NETWORK_POLICIES,
        edits=(*KUBE_NETWORK_POLICIES.edits, SourceEdit("go.mod", "a", "b", "the letter a")),
    )
    assert changed.directory_name != KUBE_NETWORK_POLICIES.directory_name
    assert KUBERNETES.directory_name == "kubernetes-v1.35.4"  # sets without changes keep their name


def test_lab_image_hash_follows_what_the_dockerfile_copies(tmp_path: Path) -> None:
    from kubedojo.local.images import ContextImage

    (tmp_path / "Dockerfile").write_text(
        "ARG BASE_IMAGE=x\nFROM ${BASE_IMAGE}\nCOPY train.py util/ ./  # code\n"
    )
    (tmp_path / "train.py").write_text("print(1)\n")
    (tmp_path / "util").mkdir()
    (tmp_path / "util" / "a.py").write_text("A = 1\n")
    (tmp_path / "job.yaml").write_text("kind: Job\n")
    image = ContextImage("lab-x", "v1", "x", context=tmp_path)
    first = image.content_hash()
    (tmp_path / "job.yaml").write_text("kind: Job  # edited by a participant\n")
    (tmp_path / "README.md").write_text("notes\n")
    assert image.content_hash() == first
    (tmp_path / "util" / "a.py").write_text("A = 2\n")
    assert image.content_hash() != first
    second = image.content_hash()
    (tmp_path / "train.py").write_text("print(2)\n")
    assert image.content_hash() not in (first, second)


def _source_archive(directory: Path, root: str, files: dict[str, str]) -> tuple[Path, str]:
    """A .tar.gz with ``files`` under ``root``; returns it and its sha256."""
    import tarfile

    tree = directory / "tree"
    for name, content in files.items():
        (tree / root / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / root / name).write_text(content)
    archive = directory / "src.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tree / root, arcname=root)
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


def _archive_set(archive: Path, sha256: str, **changes: Any) -> GoProgramSet:
    fields: dict[str, Any] = {
        "name": "tool",
        "module": "example.com/tools/tool",
        "version": "1.2.3",
        "packages": (".",),
        "archive": SourceArchive(archive.name, sha256, "tool", "example.com/tools at tag 1.2.3"),
        "tags": ("kwok",),
        "module_files": (("ui/embed.go", "package ui\n"),),
    }
    fields.update(changes)
    return GoProgramSet(**fields)


def test_a_source_archive_is_built_as_the_main_module_with_tags_and_added_files(tmp_path: Path) -> None:
    archive, sha256 = _source_archive(tmp_path, "tool", {"go.mod": "module example.com/tools/tool\n"})
    programs = _archive_set(archive, sha256)
    runner = RecordingRunner(tmp_path / "unused.mod", programs=["tool"])
    binaries = Binaries(CacheDirs(tmp_path / "cache"), runner, sources=tmp_path)
    assert binaries.ensure_built(programs, tmp_path / "build.log") is True
    (build,) = [call for call in runner.calls if call[:2] == ["go", "build"]]
    assert build[build.index("-tags") + 1] == "kwok" and build[-1] == "."
    assert not any(call[:2] == ["go", "mod"] for call in runner.calls)  # its own go.mod and go.sum rule
    tree = tmp_path / "cache" / "go" / "src" / programs.directory_name / "tool"
    assert (tree / "ui" / "embed.go").read_text() == "package ui\n"
    assert json.loads((binaries.directory(programs) / ".kubedojo-complete").read_text())["archive"] == sha256
    assert programs.program_names() == ["tool"]


def test_a_missing_or_different_source_archive_is_a_one_line_error(tmp_path: Path) -> None:
    archive, sha256 = _source_archive(tmp_path, "tool", {"go.mod": "module example.com/tools/tool\n"})
    runner = RecordingRunner(tmp_path / "unused.mod", programs=["tool"])
    elsewhere = Binaries(CacheDirs(tmp_path / "cache"), runner, sources=tmp_path / "nowhere")
    with pytest.raises(BuildError, match=r"nowhere/src\.tar\.gz: missing; put the upstream source"):
        elsewhere.ensure_built(_archive_set(archive, sha256), tmp_path / "build.log")
    binaries = Binaries(CacheDirs(tmp_path / "cache"), runner, sources=tmp_path)
    with pytest.raises(BuildError, match=r"is not the pinned 0{64}"):
        binaries.ensure_built(_archive_set(archive, "0" * 64), tmp_path / "build.log")
    clash = _archive_set(archive, sha256, module_files=(("go.mod", "module x\n"),))
    with pytest.raises(BuildError, match="the source already has that file"):
        binaries.ensure_built(clash, tmp_path / "build.log")
    assert not any(call[:2] == ["go", "build"] for call in runner.calls)
    assert [p.name for p in (tmp_path / "cache" / "bin").iterdir()] == []
