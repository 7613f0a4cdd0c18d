"""The cluster's Go programs: built from Go modules at pinned versions, or (Kubernetes only)
downloaded as the official release binaries with their sha256 checked.

Either way they land in a versioned directory of the cache (``bin/kubernetes-v1.35.4/`` …) that is
filled completely or not at all: work happens in a temporary directory renamed into place at the end,
and a stamp records how the binaries were made. Later runs find the stamp and do nothing.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..client.commands import Runner
from ..client.download import download, read_url
from ..errors import BuildError, CommandError, DownloadError, WaitTimeout
from ..paths import CacheDirs
from ..versions import COREDNS_VERSION, GO_BUILD_FLAGS_VERSION, HELM_VERSION, KUBERNETES_VERSION, KWOK_VERSION

__all__ = [
    "COREDNS",
    "HELM",
    "KUBERNETES",
    "KUBERNETES_PROGRAMS",
    "KWOK",
    "Binaries",
    "GoProgramSet",
    "ReleaseDownloader",
]

KUBERNETES_PROGRAMS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
)

_STAMP = ".kubedojo-complete"
_BUILD_TIMEOUT = 3600.0


@dataclass(frozen=True)
class GoProgramSet:
    """Programs built together from one Go module at one version."""

    name: str
    module: str
    version: str
    packages: tuple[str, ...]
    ldflags: tuple[str, ...] = ()
    staging_replaces: bool = False
    """k8s.io/kubernetes replaces its staging modules with local paths; pin them to v0.x instead."""

    @property
    def directory_name(self) -> str:
        return f"{self.name}-{self.version}"

    def program_names(self) -> list[str]:
        return [pkg.rstrip("/").rsplit("/", 1)[-1] for pkg in self.packages]

    def stamp(self, how: str) -> str:
        return json.dumps(
            {
                "module": self.module,
                "version": self.version,
                "how": how,
                "flags": GO_BUILD_FLAGS_VERSION,
                "packages": list(self.packages),
            },
            sort_keys=True,
        )


def _k8s_ldflags(version: str) -> tuple[str, ...]:
    major, minor = version.lstrip("v").split(".")[:2]
    flags = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return tuple(flags)


KUBERNETES = GoProgramSet(
    name="kubernetes",
    module="k8s.io/kubernetes",
    version=KUBERNETES_VERSION,
    packages=tuple(f"k8s.io/kubernetes/cmd/{p}" for p in KUBERNETES_PROGRAMS),
    ldflags=_k8s_ldflags(KUBERNETES_VERSION),
    staging_replaces=True,
)
KWOK = GoProgramSet(
    name="kwok",
    module="sigs.k8s.io/kwok",
    version=KWOK_VERSION,
    packages=("sigs.k8s.io/kwok/cmd/kwok",),
    ldflags=(f"-X sigs.k8s.io/kwok/pkg/consts.Version={KWOK_VERSION}",),
)
COREDNS = GoProgramSet(
    name="coredns",
    module="github.com/coredns/coredns",
    version=COREDNS_VERSION,
    packages=("github.com/coredns/coredns",),
)

HELM = GoProgramSet(
    name="helm",
    module="helm.sh/helm/v4",
    version=HELM_VERSION,
    packages=("helm.sh/helm/v4/cmd/helm",),
    # pyhelm3 parses `helm version`; without this stamp it reads "v4.3", which is no full version.
    ldflags=(f"-X helm.sh/helm/v4/internal/version.version={HELM_VERSION}",),
)


class ReleaseDownloader:
    """Fetches official Kubernetes release binaries and checks each against its ``.sha256`` file."""

    def __init__(self, base_url: str, timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def url(self, version: str, program: str) -> str:
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())
        return f"{self.base_url}/{version}/bin/linux/{arch}/{program}"

    def fetch(
        self,
        version: str,
        programs: Sequence[str],
        into: Path,
        on_program: Callable[[str], None] | None = None,
    ) -> None:
        for program in programs:
            if on_program is not None:
                on_program(program)
            url = self.url(version, program)
            published = read_url(url + ".sha256", timeout=self.timeout, limit=4096)
            expected = published.decode("ascii", "replace").split()
            if not expected or len(expected[0]) != 64:
                raise DownloadError(f"{url}.sha256 does not hold a sha256 digest")
            download(url, into / program, timeout=self.timeout, sha256=expected[0])
            (into / program).chmod(0o755)


class Binaries:
    """Finds or makes the programs of a :class:`GoProgramSet` in the cache."""

    def __init__(self, cache: CacheDirs, runner: Runner | None = None) -> None:
        self.cache = cache
        self.runner = runner or Runner()

    def directory(self, programs: GoProgramSet) -> Path:
        return self.cache.bin / programs.directory_name

    def path(self, programs: GoProgramSet, program: str) -> Path:
        return self.directory(programs) / program

    def ready(self, programs: GoProgramSet) -> bool:
        directory = self.directory(programs)
        return (directory / _STAMP).is_file() and all(
            (directory / p).is_file() for p in programs.program_names()
        )

    def ensure_built(self, programs: GoProgramSet, log: Path) -> bool:
        """Build unless cached; True if something was built."""
        if self.ready(programs):
            return False
        self._install(programs, lambda tmp: self._go_build(programs, tmp, log), "build")
        return True

    def ensure_downloaded(
        self,
        programs: GoProgramSet,
        downloader: ReleaseDownloader,
        on_program: Callable[[str], None] | None = None,
    ) -> bool:
        """Download unless cached; True if something was downloaded."""
        if self.ready(programs):
            return False
        self._install(
            programs,
            lambda tmp: downloader.fetch(programs.version, programs.program_names(), tmp, on_program),
            f"download {downloader.base_url}",
        )
        return True

    def _install(self, programs: GoProgramSet, make: Callable[[Path], None], how: str) -> None:
        final = self.directory(programs)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{programs.directory_name}-", dir=final.parent))
        try:
            make(tmp)
            (tmp / _STAMP).write_text(programs.stamp(how) + "\n")
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _go_env(self) -> dict[str, str]:
        return {
            "GOCACHE": str(self.cache.go_build),
            "GOMODCACHE": str(self.cache.go_mod),
            "GOFLAGS": "-mod=mod -buildvcs=false",
            "CGO_ENABLED": "0",
        }

    def _go_build(self, programs: GoProgramSet, out: Path, log: Path) -> None:
        src = self.cache.go_src / programs.directory_name
        src.mkdir(parents=True, exist_ok=True)
        env = self._go_env()
        try:
            (src / "go.mod").write_text(self._go_mod(programs, env, log))
            (src / "tools.go").write_text(
                "//go:build tools\n\npackage tools\n\nimport (\n"
                + "".join(f'\t_ "{pkg}"\n' for pkg in programs.packages)
                + ")\n"
            )
            self.runner.run(["go", "mod", "tidy"], env=env, cwd=src, timeout=_BUILD_TIMEOUT, log=log)
            ldflags = " ".join(("-s", "-w", *programs.ldflags))
            self.runner.run(
                [
                    "go",
                    "build",
                    "-trimpath",
                    "-ldflags",
                    ldflags,
                    "-o",
                    f"{out}/",
                    *programs.packages,
                ],
                env=env,
                cwd=src,
                timeout=_BUILD_TIMEOUT,
                log=log,
            )
        except (CommandError, WaitTimeout) as exc:
            raise BuildError(f"building {programs.directory_name} failed: {exc} (log: {log})") from None

    def _go_mod(self, programs: GoProgramSet, env: dict[str, str], log: Path) -> str:
        lines = [
            f"module kubedojo.local/build/{programs.name}",
            "",
            "go 1.25.0",
            "",
            f"require {programs.module} {programs.version}",
            "",
        ]
        if programs.staging_replaces:
            info = json.loads(
                self.runner.run(
                    ["go", "mod", "download", "-json", f"{programs.module}@{programs.version}"],
                    env=env,
                    timeout=_BUILD_TIMEOUT,
                    cwd=self.cache.go_src,
                ).stdout
            )
            staging_version = "v0." + programs.version.lstrip("v").split(".", 1)[1]
            lines.append("replace (")
            for module in staging_modules(Path(info["GoMod"]).read_text()):
                lines.append(f"\t{module} => {module} {staging_version}")
            lines.append(")")
        return "\n".join(lines) + "\n"


def staging_modules(go_mod: str) -> list[str]:
    """Modules that a go.mod replaces with a local ``./staging/...`` path."""
    modules = []
    for raw in go_mod.splitlines():
        line = raw.strip().removeprefix("replace").strip()
        left, arrow, right = line.partition("=>")
        if arrow and right.strip().startswith("./staging/"):
            modules.append(left.split()[0])
    return modules
