"""Container images made here, without pulling from any registry, and pushed to the local registry.

* ``pause``: the pod sandbox, a static C program in an otherwise empty image;
* ``coredns``: the cluster DNS server built from Go modules, alone in an empty image;
* ``base``: the lab base image, a minimal Debian with Python 3, numpy and scikit-learn, made with
  debootstrap from Debian's archive;
* the add-ons' programs (:data:`ADDON_IMAGES`): each built from Go modules at a pinned version,
  statically linked, alone in an otherwise empty image (:class:`BinaryImage`), for the real charts.

Images are built with buildah into a storage of kubedojo's own under the cache (vfs driver: no
mounts), so a built image is kept between clusters; a tag names a recipe version, and bumping it
rebuilds. Pushing skips what the registry already has.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..client.commands import Runner
from ..client.registry import ImageDigests, RegistryClient
from ..errors import BuildError, CommandError, RegistryError, WaitTimeout
from ..paths import CacheDirs
from ..versions import COREDNS_VERSION, METRICS_SERVER_VERSION, PAUSE_IMAGE_TAG
from .binaries import COREDNS, METRICS_SERVER, GoProgramSet

__all__ = [
    "ADDON_IMAGES",
    "BASE",
    "COREDNS_IMAGE",
    "IMAGES",
    "METRICS_SERVER_IMAGE",
    "PAUSE",
    "BinaryImage",
    "ContextImage",
    "ImageBuilder",
    "ImageRecipe",
    "debian_mirror",
]

_TIMEOUT = 1800.0


@dataclass(frozen=True)
class ImageRecipe:
    """An image kubedojo makes: ``kubedojo/<name>:<tag>``."""

    name: str
    tag: str
    description: str

    @property
    def repository(self) -> str:
        return f"kubedojo/{self.name}"

    @property
    def local_ref(self) -> str:
        return f"localhost/{self.repository}:{self.tag}"

    def ref(self, registry: str) -> str:
        """The reference pods use: ``<registry>/kubedojo/<name>:<tag>``."""
        return f"{registry}/{self.repository}:{self.tag}"


@dataclass(frozen=True)
class ContextImage(ImageRecipe):
    """An image built from a directory with a Dockerfile (a lab's image), on top of :data:`BASE`.

    The Dockerfile takes the base image as ``ARG BASE_IMAGE``; kubedojo passes its own build of the
    base, so nothing is pulled. The image is rebuilt whenever the directory's content changes.
    """

    context: Path = Path()

    def build_inputs(self) -> list[Path]:
        """The Dockerfile and the files its COPY/ADD lines take from the directory (so editing a
        manifest or a README next to them does not rebuild the image)."""
        dockerfile = self.context / "Dockerfile"
        inputs = {dockerfile}
        with contextlib.suppress(OSError):
            for line in dockerfile.read_text().splitlines():
                words = line.split("#", 1)[0].split()
                if len(words) < 3 or words[0].upper() not in ("COPY", "ADD"):
                    continue
                for source in (w for w in words[1:-1] if not w.startswith("--")):
                    for path in self.context.glob(source):
                        if path.is_dir():
                            inputs.update(p for p in path.rglob("*") if p.is_file())
                        elif path.is_file():
                            inputs.add(path)
        return sorted(inputs)

    def content_hash(self) -> str:
        """A digest of the Dockerfile and of what it copies."""
        digest = hashlib.sha256()
        for path in self.build_inputs():
            with contextlib.suppress(OSError):
                relative = path.relative_to(self.context).as_posix()
                digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class BinaryImage(ImageRecipe):
    """A program built from Go modules (``programs``, CGO off: statically linked) alone in an
    otherwise empty image, at ``/<program>``, its entrypoint, run as ``user``."""

    programs: GoProgramSet | None = None
    program: str = ""
    user: str = "65534:65534"


CONTENT_LABEL = "dev.kubedojo.content"

PAUSE = ImageRecipe("pause", PAUSE_IMAGE_TAG, "pod sandbox (static C, runs as 65535)")
COREDNS_IMAGE = BinaryImage(
    "coredns", f"{COREDNS_VERSION}-kubedojo1", "cluster DNS", programs=COREDNS, program="coredns"
)
BASE = ImageRecipe(
    "base", "bookworm-py3-2", "lab base: Debian 12, Python 3, numpy, scikit-learn, joblib, PyYAML"
)
IMAGES = (PAUSE, COREDNS_IMAGE, BASE)

METRICS_SERVER_IMAGE = BinaryImage(
    "metrics-server",
    f"{METRICS_SERVER_VERSION}-kubedojo1",
    "metrics-server: resource metrics for kubectl top and autoscalers",
    programs=METRICS_SERVER,
    program="metrics-server",
)
ADDON_IMAGES: tuple[BinaryImage, ...] = (METRICS_SERVER_IMAGE,)
"""The add-ons' images built here (the charts' other images are still to come: issue 14)."""

BASE_PACKAGES = (
    "python3",
    "python-is-python3",
    "python3-numpy",
    "python3-sklearn",
    "python3-joblib",
    "python3-yaml",
    "ca-certificates",
)


def debian_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's apt uses (so debootstrap goes where apt already may)."""
    candidates = [sources / "sources.list", *sorted((sources / "sources.list.d").glob("*"))]
    for path in candidates:
        with contextlib.suppress(OSError):
            for line in path.read_text().splitlines():
                match = re.match(
                    r"^\s*(?:deb\s+(?:\[[^]]*\]\s+)?|URIs:\s*)(https?://\S+/debian)/?\s", line + " "
                )
                if match:
                    return match.group(1)
    return "http://deb.debian.org/debian"


class ImageBuilder:
    """Builds the recipes with buildah and pushes them to a registry."""

    def __init__(self, cache: CacheDirs, runner: Runner | None = None, mirror: str | None = None) -> None:
        self.cache = cache
        self.runner = runner or Runner()
        self.mirror = mirror or debian_mirror()

    # -- buildah -----------------------------------------------------------------------------

    def _buildah(self, *args: str, timeout: float = _TIMEOUT, log: Path | None = None) -> str:
        storage = self.cache.buildah
        argv = [
            "buildah",
            "--root",
            str(storage / "root"),
            "--runroot",
            str(storage / "run"),
            "--storage-driver",
            "vfs",
            *args,
        ]
        return self.runner.run(argv, timeout=timeout, log=log).stdout

    def exists(self, recipe: ImageRecipe) -> bool:
        try:
            self._buildah("inspect", "--type", "image", recipe.local_ref, timeout=60)
        except CommandError:
            return False
        return True

    def _label(self, recipe: ImageRecipe, label: str) -> str | None:
        try:
            out = self._buildah(
                "inspect",
                "--type",
                "image",
                "--format",
                f'{{{{index .OCIv1.Config.Labels "{label}"}}}}',
                recipe.local_ref,
                timeout=60,
            )
        except CommandError:
            return None
        return out.strip()

    def image_id(self, recipe: ImageRecipe) -> str | None:
        try:
            return self._buildah(
                "inspect", "--type", "image", "--format", "{{.FromImageID}}", recipe.local_ref, timeout=60
            ).strip()
        except CommandError:
            return None

    def ensure_context(self, image: ContextImage) -> bool:
        """Build a lab image from its directory unless the current content is built; True if built."""
        if not (image.context / "Dockerfile").is_file():
            raise BuildError(f"{image.context}/Dockerfile: missing (image {image.name})")
        content = image.content_hash()
        if self._label(image, CONTENT_LABEL) == content:
            return False
        if not self.exists(BASE):
            raise BuildError(f"image {image.name} needs the base image: run 'invoke images.build'")
        log = self.cache.logs / f"image-{image.name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")
        try:
            self._buildah(
                "build",
                "--pull=never",
                "--format",
                "oci",
                "--build-arg",
                f"BASE_IMAGE={BASE.local_ref}",
                "--label",
                f"{CONTENT_LABEL}={content}",
                "--label",
                f"org.opencontainers.image.description={image.description}",
                "-t",
                image.local_ref,
                "-f",
                str(image.context / "Dockerfile"),
                str(image.context),
                log=log,
            )
        except (CommandError, WaitTimeout) as exc:
            raise BuildError(f"image {image.name} from {image.context}: {exc} (log: {log})") from None
        return True

    def remove(self, recipe: ImageRecipe) -> None:
        """Forget a built image (so the next :meth:`ensure` builds it again)."""
        if self.exists(recipe):
            self._buildah("rmi", recipe.local_ref, timeout=120)

    def ensure(self, recipe: ImageRecipe, binary: Path | None = None) -> bool:
        """Build the image unless it is already in kubedojo's image storage; True if built.
        ``binary``: the program of a :class:`BinaryImage`."""
        if self.exists(recipe):
            return False
        log = self.cache.logs / f"image-{recipe.name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")
        try:
            with self._workdir(recipe) as work:
                if recipe is PAUSE:
                    self._build_pause(work, log)
                elif isinstance(recipe, BinaryImage):
                    if binary is None:
                        raise BuildError(f"the {recipe.name} image needs the {recipe.program} binary")
                    self._build_single_binary(recipe, binary, log)
                elif recipe is BASE:
                    self._build_base(work, log)
                else:
                    raise BuildError(f"no recipe for image {recipe.name}")
        except (CommandError, WaitTimeout) as exc:
            raise BuildError(f"image {recipe.name}: {exc} (log: {log})") from None
        return True

    @contextlib.contextmanager
    def _workdir(self, recipe: ImageRecipe) -> Iterator[Path]:
        self.cache.images.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f"{recipe.name}-", dir=self.cache.images))
        try:
            yield work
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _commit(
        self, recipe: ImageRecipe, populate: Callable[[str], object], config: list[str], log: Path
    ) -> None:
        container = self._buildah("from", "scratch", log=None).strip()
        try:
            populate(container)
            self._buildah(
                "config",
                "--label",
                f"org.opencontainers.image.title=kubedojo/{recipe.name}",
                "--label",
                f"org.opencontainers.image.description={recipe.description}",
                *config,
                container,
                log=log,
            )
            self._buildah("commit", "--format", "oci", "--rm", container, recipe.local_ref, log=log)
        except BaseException:
            with contextlib.suppress(CommandError, WaitTimeout):
                self._buildah("rm", container, timeout=60)
            raise

    def _build_pause(self, work: Path, log: Path) -> None:
        source = work / "pause.c"
        source.write_bytes(resources.files("kubedojo.local").joinpath("assets/pause.c").read_bytes())
        binary = work / "pause"
        self.runner.run(["gcc", "-Os", "-static", "-o", str(binary), str(source)], log=log)
        self.runner.run(["strip", str(binary)], log=log)
        self._commit(
            PAUSE,
            lambda c: self._buildah("copy", "--chmod", "0755", c, str(binary), "/pause", log=log),
            ["--entrypoint", '["/pause"]', "--user", "65535:65535"],
            log,
        )

    def _build_single_binary(self, recipe: BinaryImage, binary: Path, log: Path) -> None:
        name = recipe.program
        self._commit(
            recipe,
            lambda c: self._buildah("copy", "--chmod", "0755", c, str(binary), f"/{name}", log=log),
            ["--entrypoint", f'["/{name}"]', "--user", recipe.user],
            log,
        )

    def _build_base(self, work: Path, log: Path) -> None:
        rootfs = work / "rootfs"
        self.runner.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(rootfs), self.mirror],
            timeout=_TIMEOUT,
            log=log,
        )
        shutil.copyfile("/etc/resolv.conf", rootfs / "etc/resolv.conf")
        env = {"DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
        self.runner.run(["chroot", str(rootfs), "apt-get", "update"], env=env, log=log, timeout=_TIMEOUT)
        self.runner.run(
            [
                "chroot",
                str(rootfs),
                "apt-get",
                "install",
                "-y",
                "--no-install-recommends",
                *BASE_PACKAGES,
            ],
            env=env,
            log=log,
            timeout=_TIMEOUT,
        )
        self.runner.run(["chroot", str(rootfs), "apt-get", "clean"], env=env, log=log)
        for leftover in ("var/lib/apt/lists", "var/cache/apt", "var/log"):
            shutil.rmtree(rootfs / leftover, ignore_errors=True)
            (rootfs / leftover).mkdir(parents=True, exist_ok=True)
        # The machine's resolver is not reachable from a pod; the kubelet writes the pod's own.
        (rootfs / "etc/resolv.conf").write_text("")
        (rootfs / "workspace").mkdir(exist_ok=True)
        self._commit(
            BASE,
            lambda c: self._buildah("copy", c, f"{rootfs}/", "/", log=log),
            [
                "--cmd",
                '["python3"]',
                "--workingdir",
                "/workspace",
                "--env",
                "PYTHONUNBUFFERED=1",
                "--env",
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ],
            log,
        )

    # -- registry ----------------------------------------------------------------------------

    def _registry_digests(self, recipe: ImageRecipe, registry: str) -> ImageDigests | None:
        """What the registry holds under the recipe's tag; None when nothing (or it cannot be read)."""
        try:
            return RegistryClient(registry).digests(recipe.repository, recipe.tag)
        except RegistryError:
            return None

    def in_registry(self, recipe: ImageRecipe, registry: str) -> bool:
        return self._registry_digests(recipe, registry) is not None

    def registry_image_id(self, recipe: ImageRecipe, registry: str) -> str | None:
        """The config digest (image ID) the registry has under the recipe's tag, if any."""
        found = self._registry_digests(recipe, registry)
        return (found.config or None) if found is not None else None

    def push(self, recipe: ImageRecipe, registry: str, force: bool = False) -> bool:
        """Push to ``registry`` (plain HTTP, loopback) unless it has this very image; True if pushed.

        Images whose content changes under a fixed tag (the labs') are compared by image ID."""
        if not force:
            if isinstance(recipe, ContextImage):
                if self.registry_image_id(recipe, registry) == self.image_id(recipe):
                    return False
            elif self.in_registry(recipe, registry):
                return False
        try:
            self._buildah(
                "push",
                "--tls-verify=false",
                recipe.local_ref,
                f"docker://{recipe.ref(registry)}",
                log=self.cache.logs / "push.log",
            )
        except (CommandError, WaitTimeout) as exc:
            raise BuildError(f"pushing {recipe.ref(registry)} failed: {exc}") from None
        return True
