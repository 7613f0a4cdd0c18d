"""Container images made here, without pulling from any registry, and pushed to the local registry.

* ``pause``: the pod sandbox, a static C program in an otherwise empty image;
* ``coredns``: the cluster DNS server built from Go modules, alone in an empty image;
* ``base``: the lab base image, a minimal Debian with Python 3, numpy and scikit-learn, made with
  debootstrap from Debian's archive;
* ``addon-base``: a minimal Debian (minbase, CA certificates, MIME types) under the add-ons' programs
  that need a shell or files of a distribution;
* the add-ons' programs (:data:`ADDON_IMAGES`): each built from Go modules or an upstream source
  archive at a pinned version, statically linked, alone in an empty image or on ``addon-base``
  (:class:`BinaryImage`), for the real charts.

Images are built with buildah into a storage of kubedojo's own under the cache, so a built image is
kept between clusters; a tag names a recipe version, and bumping it rebuilds. Pushing skips what the
registry already has. The storage uses the overlay driver: a layer holds only what changed, so a lab's
image (a few files on the base) takes a fraction of a second instead of a full copy of the base
(20 s and a gigabyte each with the vfs driver used before, whose storage is removed when found).
Overlay mounts exist only while an image is being put together; none is left afterwards.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..client.commands import Runner
from ..client.registry import ImageDigests, RegistryClient
from ..errors import BuildError, CommandError, RegistryError, WaitTimeout
from ..paths import CacheDirs
from ..versions import (
    ARGO_VERSION,
    CHP_VERSION,
    CLUSTER_AUTOSCALER_VERSION,
    COREDNS_VERSION,
    JUPYTERHUB_CHART_VERSION,
    KATIB_VERSION,
    MC_RELEASE,
    METRICS_SERVER_VERSION,
    MINIO_RELEASE,
    PAUSE_IMAGE_TAG,
    TRAINING_OPERATOR_VERSION,
)
from .binaries import (
    ARGO,
    CLUSTER_AUTOSCALER,
    COREDNS,
    KATIB_CONTROLLER,
    KATIB_DB_MANAGER,
    KATIB_GOPTUNA,
    KATIB_METRICS_COLLECTOR,
    MC,
    METRICS_SERVER,
    MINIO,
    TRAINING_OPERATOR,
    GoProgramSet,
)

__all__ = [
    "ADDON_BASE",
    "ADDON_IMAGES",
    "ARGOCLI_IMAGE",
    "ARGOEXEC_IMAGE",
    "BASE",
    "CHP_IMAGE",
    "CLUSTER_AUTOSCALER_IMAGE",
    "COREDNS_IMAGE",
    "IMAGES",
    "JUPYTERHUB_HUB_IMAGE",
    "JUPYTERHUB_SINGLEUSER_IMAGE",
    "KATIB_CONTROLLER_IMAGE",
    "KATIB_DB_MANAGER_IMAGE",
    "KATIB_GOPTUNA_IMAGE",
    "KATIB_METRICS_COLLECTOR_IMAGE",
    "KATIB_MYSQL_IMAGE",
    "LAB_BASES",
    "MC_IMAGE",
    "METRICS_SERVER_IMAGE",
    "MINIO_IMAGE",
    "NODE_BASE",
    "PAUSE",
    "PYTORCH_INIT_IMAGE",
    "TORCH",
    "TRAINING_OPERATOR_IMAGE",
    "WORKFLOW_CONTROLLER_IMAGE",
    "BinaryImage",
    "ContextImage",
    "DebianImage",
    "ImageBuilder",
    "ImageRecipe",
    "NpmImage",
    "WheelsImage",
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
class DebianImage(ImageRecipe):
    """A Debian 12 minbase root with ``packages``: a base of :class:`BinaryImage` s, or an image of
    its own that runs ``entrypoint`` (a Debian program such as nginx)."""

    packages: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    workdir: str = ""
    """The working directory, made in the image."""
    env: tuple[str, ...] = ()
    """``NAME=value`` settings besides ``PATH``."""
    links: tuple[tuple[str, str], ...] = ()
    """Symbolic links: (path in the image, target); their directories are made."""
    assets: tuple[tuple[str, str], ...] = ()
    """Executable files of kubedojo's own: (path in the image, asset name in kubedojo/local/assets)."""
    shared_dirs: tuple[str, ...] = ()
    """Directories any user may write in (mode 1777, as /tmp), for a program run as a user the
    image does not know (the uid a Deployment gives it)."""


@dataclass(frozen=True)
class ContextImage(ImageRecipe):
    """An image built from a directory with a Dockerfile (a lab's image), on top of :data:`BASE`.

    The Dockerfile takes the base image as ``ARG BASE_IMAGE``; kubedojo passes its own build of the
    base, so nothing is pulled. The image is rebuilt whenever the directory's content changes.
    """

    context: Path = Path()
    base: ImageRecipe | None = None
    """The image the Dockerfile builds on (``BASE_IMAGE``); None: :data:`BASE`."""

    @property
    def base_image(self) -> ImageRecipe:
        return self.base or BASE

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
        if self.base is not None:  # a lab image on another base than BASE is rebuilt when it changes
            digest.update(self.base.local_ref.encode() + b"\0")
        for path in self.build_inputs():
            with contextlib.suppress(OSError):
                relative = path.relative_to(self.context).as_posix()
                digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class BinaryImage(ImageRecipe):
    """A program built from Go (``programs``, CGO off: statically linked) at ``path``, alone in an
    otherwise empty image or on a Debian ``base`` (:data:`ADDON_BASE`, most), run as ``user``.

    Bump the tag when the recipe changes: an image under an existing tag is not built again."""

    programs: GoProgramSet | None = None
    program: str = ""
    user: str = "65534:65534"
    """The image's user; empty: root (the image configures none)."""
    path: str = ""
    """Where the program goes; empty: ``/<program>``."""
    base: DebianImage | None = None
    entrypoint: tuple[str, ...] | None = None
    """The entrypoint; None: the program; empty: none (the chart gives the command)."""
    workdir: str = ""
    env: tuple[str, ...] = ()
    """``NAME=value`` settings."""
    assets: tuple[tuple[str, str], ...] = ()
    """Executable files of kubedojo's own: (path in the image, asset name in kubedojo/local/assets)."""
    links: tuple[tuple[str, str], ...] = ()
    """Symbolic links: (path in the image, target)."""
    directories: tuple[tuple[str, str], ...] = ()
    """Directories to make: (path, ``uid:gid`` owning it)."""
    source_with_copies: bool = False
    """The program's license (AGPL-3.0) asks that copies carry its source: a bundle holding the image
    carries the module archive it was built from."""

    @property
    def program_path(self) -> str:
        return self.path or f"/{self.program}"


@dataclass(frozen=True)
class WheelsImage(ImageRecipe):
    """``base`` with Python packages from PyPI: the wheels that a requirements file of kubedojo's
    (an asset, every package pinned with its sha256) names, downloaded on this machine by pip, which
    checks each hash, and installed in the image by the image's own python from those files, with no
    network (pip runs from its own wheel, one of the files).

    Bump the tag when the requirements change: an image under an existing tag is not built again."""

    base: DebianImage | None = None
    requirements: str = ""
    """The requirements file's asset name (kubedojo/local/assets)."""
    python: str = "3.11"
    """The base's python (which wheels fit)."""
    env: tuple[str, ...] = ()


@dataclass(frozen=True)
class NpmImage(ImageRecipe):
    """``base`` (a Debian root with Node.js) with JavaScript packages from the npm registry: the tree
    that a lock file of kubedojo's (an asset, every package pinned with its sha512 ``integrity``)
    gives, installed on this machine by ``npm ci``, which checks each package against the lock and
    refuses any other, with no package's install scripts and no development packages; copied into the
    image at ``prefix``, with ``programs`` linked into /usr/local/bin and run once (``--version``).

    Bump the tag when the lock changes: an image under an existing tag is not built again."""

    base: DebianImage | None = None
    package: str = ""
    """The ``package.json`` asset (kubedojo/local/assets)."""
    lock: str = ""
    """Its ``package-lock.json`` asset."""
    prefix: str = "/srv/app"
    programs: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    user: str = ""


CONTENT_LABEL = "dev.kubedojo.content"

PAUSE = ImageRecipe("pause", PAUSE_IMAGE_TAG, "pod sandbox (static C, runs as 65535)")
COREDNS_IMAGE = BinaryImage(
    "coredns", f"{COREDNS_VERSION}-kubedojo1", "cluster DNS", programs=COREDNS, program="coredns"
)
BASE_PACKAGES = (
    "python3",
    "python-is-python3",
    "python3-numpy",
    "python3-sklearn",
    "python3-joblib",
    "python3-yaml",
    "python3-boto3",
    "ca-certificates",
)
BASE = DebianImage(
    "base",
    "bookworm-py3-3",
    "lab base: Debian 12, Python 3, numpy, scikit-learn, joblib, PyYAML, boto3",
    packages=BASE_PACKAGES,
    cmd=("python3",),
    workdir="/workspace",
    env=("PYTHONUNBUFFERED=1",),
)
IMAGES = (PAUSE, COREDNS_IMAGE, BASE)
TORCH_VERSION = "2.15.0"
TORCH = WheelsImage(
    "torch",
    f"{TORCH_VERSION}-kubedojo1",
    f"lab base with PyTorch {TORCH_VERSION} from PyPI (its CUDA build, run on CPU; no triton)",
    base=BASE,
    requirements="torch-requirements.txt",
    # One thread per process: a lab's ranks share a workshop machine's few cores.
    env=("OMP_NUM_THREADS=1",),
)
LAB_BASES: dict[str, DebianImage | WheelsImage] = {"base": BASE, "torch": TORCH}
"""The images a lab's Dockerfile may build on (``base`` in a lab's ``images``), by name."""
ADDON_BASE_PACKAGES = ("ca-certificates", "media-types")
ADDON_BASE = DebianImage(
    "addon-base",
    "bookworm-1",
    "add-on base: Debian 12 minbase, CA certificates, MIME types",
    packages=ADDON_BASE_PACKAGES,
)

METRICS_SERVER_IMAGE = BinaryImage(
    "metrics-server",
    f"{METRICS_SERVER_VERSION}-kubedojo1",
    "metrics-server: resource metrics for kubectl top and autoscalers",
    programs=METRICS_SERVER,
    program="metrics-server",
)
_ARGO_USER = "8737:8737"  # upstream's images' argo user; the chart asks only for a non-root one
WORKFLOW_CONTROLLER_IMAGE = BinaryImage(
    "workflow-controller",
    f"{ARGO_VERSION}-kubedojo1",
    "Argo Workflows' controller",
    programs=ARGO,
    program="workflow-controller",
    path="/usr/local/bin/workflow-controller",
    base=ADDON_BASE,
    user=_ARGO_USER,
)
ARGOEXEC_IMAGE = BinaryImage(
    "argoexec",
    f"{ARGO_VERSION}-kubedojo1",
    "Argo Workflows' executor: init and wait containers of every workflow pod",
    programs=ARGO,
    program="argoexec",
    path="/usr/local/bin/argoexec",  # `argoexec init` finds itself on PATH and copies itself
    base=ADDON_BASE,
    user="",  # root, like upstream's default argoexec image (the wait container reads others' files)
)
ARGOCLI_IMAGE = BinaryImage(
    "argocli",
    f"{ARGO_VERSION}-kubedojo1",
    "Argo Workflows' server and CLI (API only: the web UI is not built here)",
    programs=ARGO,
    program="argo",
    path="/usr/local/bin/argo",
    base=ADDON_BASE,
    user=_ARGO_USER,
    workdir="/home/argo",
    directories=(("/home/argo", _ARGO_USER),),
)
MINIO_IMAGE = BinaryImage(
    "minio",
    f"{MINIO_RELEASE}-kubedojo2",
    "MinIO object storage server (AGPL-3.0, unmodified)",
    programs=MINIO,
    program="minio",
    path="/usr/bin/minio",
    base=ADDON_BASE,
    user="",  # the chart sets the user (or, on the local storage class, runs it as the image's root)
    entrypoint=("/usr/bin/docker-entrypoint.sh",),
    # The chart starts `/usr/bin/docker-entrypoint.sh minio server ...`; kubedojo's own script.
    assets=(("/usr/bin/docker-entrypoint.sh", "minio_entrypoint.sh"),),
    # The chart starts it with `/bin/sh -ce "..."`: bash runs that one command in its own place, so
    # MinIO is PID 1 and gets the SIGTERM; dash would stay PID 1, ignore it, and MinIO would be
    # killed 30 s later without a clean shutdown (upstream's image has bash as sh too).
    links=(("/bin/sh", "bash"),),
    source_with_copies=True,
)
MC_IMAGE = BinaryImage(
    "mc",
    f"{MC_RELEASE}-kubedojo1",
    "MinIO client mc (AGPL-3.0, unmodified), for the chart's set-up Jobs",
    programs=MC,
    program="mc",
    path="/usr/bin/mc",
    base=ADDON_BASE,
    user="",
    # The chart's scripts use bash's [[ ]] under #!/bin/sh, as upstream's image (whose sh is bash) allows.
    links=(("/bin/sh", "bash"),),
    env=("MC_CONFIG_DIR=/tmp/.mc",),
    source_with_copies=True,
)
CLUSTER_AUTOSCALER_IMAGE = BinaryImage(
    "cluster-autoscaler",
    f"{CLUSTER_AUTOSCALER_VERSION}-kubedojo1",
    "cluster-autoscaler with the kwok provider (simulated nodes)",
    programs=CLUSTER_AUTOSCALER,
    program="cluster-autoscaler",
    base=ADDON_BASE,
    workdir="/",  # the chart runs ./cluster-autoscaler
)
TRAINING_OPERATOR_IMAGE = BinaryImage(
    "training-operator",
    f"{TRAINING_OPERATOR_VERSION}-kubedojo1",
    "Kubeflow's training operator (PyTorchJob and the other kubeflow.org/v1 jobs)",
    programs=TRAINING_OPERATOR,
    program="training-operator.v1",
    path="/manager",  # upstream's manifests run /manager
    base=ADDON_BASE,
    user="65532:65532",  # upstream's distroless nonroot user
)
PYTORCH_INIT_IMAGE = DebianImage(
    "pytorch-init",
    "bookworm-1",
    "the training operator's init container of PyTorchJob workers: waits until the master's name "
    "resolves (sh, seq and nslookup, which follows the pod's DNS search list; upstream uses alpine)",
    packages=("bind9-dnsutils",),
)
_KATIB_USER = "1000:1000"  # upstream's manifests run the controller and the database manager as 1000
KATIB_CONTROLLER_IMAGE = BinaryImage(
    "katib-controller",
    f"{KATIB_VERSION}-kubedojo2",
    "Katib's controller: Experiments, Suggestions, Trials, and its pod webhook",
    programs=KATIB_CONTROLLER,
    program="v1beta1",
    path="/app/katib-controller",  # the manifests run ./katib-controller in /app
    base=ADDON_BASE,
    user=_KATIB_USER,
    workdir="/app",
)
KATIB_DB_MANAGER_IMAGE = BinaryImage(
    "katib-db-manager",
    f"{KATIB_VERSION}-kubedojo1",
    "Katib's database manager: the trials' observation logs, over gRPC",
    programs=KATIB_DB_MANAGER,
    program="v1beta1",
    path="/app/katib-db-manager",
    base=ADDON_BASE,
    user=_KATIB_USER,
    workdir="/app",
)
KATIB_METRICS_COLLECTOR_IMAGE = BinaryImage(
    "katib-file-metrics-collector",
    f"{KATIB_VERSION}-kubedojo1",
    "Katib's metrics collector, the sidecar of every trial's pod (StdOut and File collectors)",
    programs=KATIB_METRICS_COLLECTOR,
    program="file-metricscollector",
    path="/app/file-metricscollector",  # the controller gives the sidecar arguments only
    base=ADDON_BASE,
    workdir="/app",
)
KATIB_GOPTUNA_IMAGE = BinaryImage(
    "katib-suggestion-goptuna",
    f"{KATIB_VERSION}-kubedojo1",
    "Katib's suggestion service on goptuna (random, tpe, cmaes, sobol)",
    programs=KATIB_GOPTUNA,
    program="v1beta1",
    path="/opt/katib/goptuna-suggestion",
    base=ADDON_BASE,
    workdir="/opt/katib",
)
KATIB_MYSQL_IMAGE = DebianImage(
    "katib-mysql",
    "bookworm-1",
    "Katib's database: Debian's MariaDB in place of MySQL 8, with kubedojo's entrypoint",
    packages=("mariadb-server", "mariadb-client"),
    entrypoint=("/usr/local/bin/katib-mysql-entrypoint",),
    assets=(("/usr/local/bin/katib-mysql-entrypoint", "katib_mysql_entrypoint.sh"),),
    # The Deployment runs it as uid 999, which Debian's image does not know: socket and pid go here.
    shared_dirs=("/run/mysqld",),
)
JUPYTERHUB_TAG = f"{JUPYTERHUB_CHART_VERSION}-kubedojo1"
HUB_BASE = DebianImage(
    "jupyterhub-hub-base",
    "bookworm-1",
    "JupyterHub hub base: Debian 12, Python 3, pycurl and PyYAML (the chart's configuration), tini",
    packages=("python3", "python3-pycurl", "python3-yaml", "ca-certificates", "tini"),
    # The chart gives the hub only arguments (jupyterhub --config ...): tini runs them and reaps.
    entrypoint=("tini", "--"),
)
JUPYTERHUB_HUB_IMAGE = WheelsImage(
    "jupyterhub-hub",
    JUPYTERHUB_TAG,
    "JupyterHub's hub for the Zero-to-JupyterHub chart: JupyterHub 5.5.0, KubeSpawner 7.0.0 and the idle "
    "culler from PyPI",
    base=HUB_BASE,
    requirements="jupyterhub-hub-requirements.txt",
)
JUPYTERHUB_SINGLEUSER_IMAGE = WheelsImage(
    "jupyterhub-singleuser",
    JUPYTERHUB_TAG,
    "a participant's notebook server: the lab base (scikit-learn) with JupyterHub 5.5.0's "
    "jupyterhub-singleuser and JupyterLab 4.5.8 from PyPI",
    base=BASE,
    requirements="jupyterhub-singleuser-requirements.txt",
    # The chart runs it as uid 1000, which the image does not know: its home is the claim the
    # spawner mounts there.
    env=("HOME=/home/jovyan",),
)
NODE_BASE = DebianImage(
    "node-base",
    "bookworm-1",
    "Node.js base: Debian 12's nodejs (18) and CA certificates",
    packages=("nodejs", "ca-certificates"),
)
CHP_IMAGE = NpmImage(
    "configurable-http-proxy",
    f"{CHP_VERSION}-kubedojo1",
    f"JupyterHub's proxy: configurable-http-proxy {CHP_VERSION} from the npm registry on Debian's Node.js",
    base=NODE_BASE,
    package="chp-package.json",
    lock="chp-package-lock.json",
    prefix="/srv/configurable-http-proxy",
    programs=("configurable-http-proxy",),
    entrypoint=("configurable-http-proxy",),
    user="65534:65534",  # the chart's, too
)
ADDON_IMAGES: tuple[BinaryImage | DebianImage | WheelsImage | NpmImage, ...] = (
    METRICS_SERVER_IMAGE,
    MINIO_IMAGE,
    MC_IMAGE,
    WORKFLOW_CONTROLLER_IMAGE,
    ARGOEXEC_IMAGE,
    ARGOCLI_IMAGE,
    CLUSTER_AUTOSCALER_IMAGE,
    TRAINING_OPERATOR_IMAGE,
    PYTORCH_INIT_IMAGE,
    KATIB_CONTROLLER_IMAGE,
    KATIB_DB_MANAGER_IMAGE,
    KATIB_METRICS_COLLECTOR_IMAGE,
    KATIB_GOPTUNA_IMAGE,
    KATIB_MYSQL_IMAGE,
    JUPYTERHUB_HUB_IMAGE,
    JUPYTERHUB_SINGLEUSER_IMAGE,
    CHP_IMAGE,
)
"""The add-ons' images built here. The NVIDIA device plugin (cgo and NVML) and the NFS provisioner
(no source served here) are not built: docs/addons.md."""


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


def _asset_bytes(name: str) -> bytes:
    return resources.files("kubedojo.local").joinpath(f"assets/{name}").read_bytes()


def _install_file(root: Path, path: str, content: bytes | Path) -> None:
    """Write an executable file (0755, root's) at ``path`` under an image's mounted ``root``, with
    ``content`` or a copy of the file ``content``."""
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    if isinstance(content, Path):
        shutil.copyfile(content, target)
    else:
        target.write_bytes(content)
    target.chmod(0o755)


class ImageBuilder:
    """Builds the recipes with buildah and pushes them to a registry."""

    def __init__(self, cache: CacheDirs, runner: Runner | None = None, mirror: str | None = None) -> None:
        self.cache = cache
        self.runner = runner or Runner()
        self.mirror = mirror or debian_mirror()
        shutil.rmtree(cache.buildah_vfs, ignore_errors=True)

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
            "overlay",
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
        with self._building(image):  # two lab runs at once build it once
            if self._label(image, CONTENT_LABEL) == content:
                return False
            return self._build_context(image, content)

    def _build_context(self, image: ContextImage, content: str) -> bool:
        if not self.exists(image.base_image):
            raise BuildError(
                f"image {image.name} needs the {image.base_image.name} image: run 'invoke images.build'"
            )
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
                f"BASE_IMAGE={image.base_image.local_ref}",
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

    @contextlib.contextmanager
    def _building(self, recipe: ImageRecipe) -> Iterator[None]:
        """One build of an image at a time across processes (scripts/test builds the Debian-based
        images beside ``cluster.build``, which may reach the same base): the second waits, then finds
        it built."""
        self.cache.images.mkdir(parents=True, exist_ok=True)
        with open(self.cache.images / f".{recipe.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def ensure(self, recipe: ImageRecipe, binary: Path | None = None) -> bool:
        """Build the image unless it is already in kubedojo's image storage; True if built.
        ``binary``: the program of a :class:`BinaryImage`."""
        if self.exists(recipe):
            return False
        with self._building(recipe):
            if self.exists(recipe):
                return False
            return self._ensure_locked(recipe, binary)

    def _ensure_locked(self, recipe: ImageRecipe, binary: Path | None) -> bool:
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
                elif isinstance(recipe, DebianImage):
                    self._build_debian(recipe, work, log)
                elif isinstance(recipe, WheelsImage):
                    self._build_wheels(recipe, work, log)
                elif isinstance(recipe, NpmImage):
                    self._build_npm(recipe, work, log)
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
        self,
        recipe: ImageRecipe,
        populate: Callable[[str], object],
        config: list[str],
        log: Path,
        base: ImageRecipe | None = None,
    ) -> None:
        """A new image ``recipe`` from ``base`` (default: empty) with what ``populate`` puts in."""
        origin = base.local_ref if base is not None else "scratch"
        container = self._buildah("from", "--pull=never", origin, log=None).strip()
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
        if recipe.base is not None and not self.exists(recipe.base):
            raise BuildError(f"image {recipe.name} needs the {recipe.base.name} image: build it first")
        config = ["--user", recipe.user] if recipe.user else []
        entrypoint = (recipe.program_path,) if recipe.entrypoint is None else recipe.entrypoint
        config += ["--entrypoint", json.dumps(list(entrypoint))] if entrypoint else []
        config += ["--workingdir", recipe.workdir] if recipe.workdir else []
        for setting in recipe.env:
            config += ["--env", setting]

        def populate(container: str) -> None:
            root = Path(self._buildah("mount", container).strip())
            if not root.is_absolute() or not root.is_dir():
                raise BuildError(f"buildah mount {container} gave {str(root)!r}, not a directory")
            try:
                _install_file(root, recipe.program_path, binary)
                for path, asset in recipe.assets:
                    _install_file(root, path, _asset_bytes(asset))
                for path, target in recipe.links:
                    link = root / path.lstrip("/")
                    link.unlink(missing_ok=True)
                    link.symlink_to(target)
                for path, owner in recipe.directories:
                    uid, _, gid = owner.partition(":")
                    directory = root / path.lstrip("/")
                    directory.mkdir(parents=True, exist_ok=True)
                    os.chown(directory, int(uid), int(gid or uid))
            finally:
                self._buildah("umount", container)

        self._commit(recipe, populate, config, log, base=recipe.base)

    def _debootstrap(self, work: Path, log: Path, packages: tuple[str, ...]) -> Path:
        """A Debian 12 root (minbase and ``packages``) under ``work``, without apt's leftovers."""
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
            ["chroot", str(rootfs), "apt-get", "install", "-y", "--no-install-recommends", *packages],
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
        return rootfs

    def _build_debian(self, recipe: DebianImage, work: Path, log: Path) -> None:
        rootfs = self._debootstrap(work, log, recipe.packages)
        for path, asset in recipe.assets:
            _install_file(rootfs, path, _asset_bytes(asset))
        for path in recipe.shared_dirs:
            directory = rootfs / path.lstrip("/")
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o1777)
        for path, target in recipe.links:
            link = rootfs / path.lstrip("/")
            link.parent.mkdir(parents=True, exist_ok=True)
            link.unlink(missing_ok=True)
            link.symlink_to(target)
        config = ["--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        for setting in recipe.env:
            config += ["--env", setting]
        if recipe.entrypoint:
            config += ["--entrypoint", json.dumps(list(recipe.entrypoint))]
        if recipe.cmd:
            config += ["--cmd", json.dumps(list(recipe.cmd))]
        if recipe.workdir:
            (rootfs / recipe.workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
            config += ["--workingdir", recipe.workdir]
        self._commit(recipe, lambda c: self._buildah("copy", c, f"{rootfs}/", "/", log=log), config, log)

    def _build_wheels(self, recipe: WheelsImage, work: Path, log: Path) -> None:
        base = recipe.base or BASE
        if not self.exists(base):
            raise BuildError(f"image {recipe.name} needs the {base.name} image: build it first")
        wheels = self.cache.images / "wheels" / f"{recipe.name}-{recipe.tag}"
        wheels.mkdir(parents=True, exist_ok=True)
        requirements = wheels / "requirements.txt"
        requirements.write_bytes(_asset_bytes(recipe.requirements))
        abi = "cp" + recipe.python.replace(".", "")
        # Every manylinux tag Debian 12's glibc (2.36) runs.
        platforms = [f"manylinux_2_{minor}_x86_64" for minor in range(36, 4, -1)]
        platforms += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"]
        # Files already there are checked against their hashes and not downloaded again.
        self.runner.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--require-hashes",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                recipe.python,
                "--implementation",
                "cp",
                *(f"--abi={a}" for a in (abi, "abi3", "none")),
                *(f"--platform={p}" for p in platforms),
                "--dest",
                str(wheels),
                "--requirement",
                str(requirements),
            ],
            timeout=_TIMEOUT,
            log=log,
        )
        pips = sorted(wheels.glob("pip-*-py3-none-any.whl"))
        if not pips:
            raise BuildError(
                f"image {recipe.name}: {recipe.requirements} must pin pip (it installs the rest)"
            )
        config = [f"--env={setting}" for setting in recipe.env]

        def populate(container: str) -> None:
            self._buildah(
                "run",
                "--network=none",
                f"--volume={wheels}:/wheels:ro",
                container,
                "--",
                "python3",
                f"/wheels/{pips[-1].name}/pip",
                "install",
                "--quiet",
                "--no-index",
                "--no-deps",
                "--require-hashes",
                "--no-cache-dir",
                "--break-system-packages",
                "--root-user-action=ignore",
                "--disable-pip-version-check",
                "--find-links=/wheels",
                "--requirement=/wheels/requirements.txt",
                timeout=_TIMEOUT,
                log=log,
            )

        self._commit(recipe, populate, config, log, base=base)

    def _build_npm(self, recipe: NpmImage, work: Path, log: Path) -> None:
        base = recipe.base or NODE_BASE
        if not self.exists(base):
            raise BuildError(f"image {recipe.name} needs the {base.name} image: build it first")
        if shutil.which("npm") is None:
            raise BuildError(
                f"image {recipe.name} is built with npm, which is not installed: run scripts/setup"
            )
        tree = work / "tree"
        tree.mkdir()
        (tree / "package.json").write_bytes(_asset_bytes(recipe.package))
        (tree / "package-lock.json").write_bytes(_asset_bytes(recipe.lock))
        # npm's cache keeps the tarballs (by their integrity) for the next build.
        self.runner.run(
            [
                "npm",
                "ci",
                "--omit=dev",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--no-update-notifier",
                "--cache",
                str(self.cache.images / "npm"),
                "--prefix",
                str(tree),
            ],
            timeout=_TIMEOUT,
            log=log,
        )
        config = [f"--entrypoint={json.dumps(list(recipe.entrypoint))}"] if recipe.entrypoint else []
        config += ["--user", recipe.user] if recipe.user else []

        def populate(container: str) -> None:
            self._buildah("copy", container, str(tree), recipe.prefix, log=log)
            for program in recipe.programs:
                target = f"{recipe.prefix}/node_modules/.bin/{program}"
                self._buildah(
                    "run",
                    "--network=none",
                    container,
                    "--",
                    "ln",
                    "-s",
                    target,
                    f"/usr/local/bin/{program}",
                    log=log,
                )
                self._buildah("run", "--network=none", container, "--", program, "--version", log=log)

        self._commit(recipe, populate, config, log, base=base)

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

        Images whose content changes under a fixed tag (the labs') are compared by image ID. One push
        of an image at a time (two participants' ``lab.run`` at once push the same lab image, and
        buildah's concurrent pushes of one reference fail): the second finds it pushed."""
        with self._building(recipe):
            return self._push_locked(recipe, registry, force)

    def _push_locked(self, recipe: ImageRecipe, registry: str, force: bool) -> bool:
        if not force:
            if isinstance(recipe, ContextImage):
                if self.registry_image_id(recipe, registry) == self.image_id(recipe):
                    return False
            elif self.in_registry(recipe, registry):
                return False
        # Gigabytes of PyTorch are pushed as they are: gzip would take minutes of a workshop
        # machine's two cores for a registry on loopback.
        large = isinstance(recipe, WheelsImage) or (
            isinstance(recipe, ContextImage) and isinstance(recipe.base, WheelsImage)
        )
        try:
            self._buildah(
                "push",
                "--tls-verify=false",
                *(["--disable-compression"] if large else []),
                recipe.local_ref,
                f"docker://{recipe.ref(registry)}",
                log=self.cache.logs / "push.log",
            )
        except (CommandError, WaitTimeout) as exc:
            raise BuildError(f"pushing {recipe.ref(registry)} failed: {exc}") from None
        return True

    # -- OCI archives (offline bundles) ----------------------------------------------------------

    def export_oci(self, recipe: ImageRecipe, layout: Path) -> None:
        """Write the built image into the OCI layout ``layout`` as ``kubedojo/<name>:<tag>`` (layers
        that other images there share are stored once)."""
        self._push(recipe.local_ref, f"oci:{layout}:{recipe.repository}:{recipe.tag}")

    def mirror_oci(self, reference: str, layout: Path, path: str) -> None:
        """Pull ``reference`` from its own registry and write it into ``layout`` as ``path``;
        :class:`BuildError` when the registry cannot be reached (no internet)."""
        image = self._pull(f"docker://{reference}", timeout=600)
        self._push(image, f"oci:{layout}:{path}")

    def push_oci(self, layout: Path, path: str, registry: str, tls_verify: bool = True) -> None:
        """Push the image ``path`` of the OCI layout ``layout`` to ``<registry>/<path>``."""
        image = self._pull(f"oci:{layout}:{path}")
        try:
            self._buildah(
                "push",
                "--quiet",
                f"--tls-verify={'true' if tls_verify else 'false'}",
                image,
                f"docker://{registry}/{path}",
                timeout=_TIMEOUT,
            )
        except (CommandError, WaitTimeout) as exc:
            raise RegistryError(f"pushing {path} to {registry} failed: {_first_line(str(exc))}") from None
        finally:
            self._forget(image, f"localhost{layout}:latest")

    def _forget(self, image: str, name: str) -> None:
        """Remove a copy pulled only to be pushed on: the image, when nothing else is named after it
        (each bundle push otherwise left its images in the cache's storage, gigabytes a run); else
        just the name the pull gave it (the image is also a build of this cache's own)."""
        for target in (image, name):
            with contextlib.suppress(CommandError, WaitTimeout):
                self._buildah("rmi", target, timeout=_TIMEOUT)
                return

    def _pull(self, source: str, timeout: float = _TIMEOUT) -> str:
        """``buildah pull`` a transport reference into the storage; the image's ID."""
        try:
            out = self._buildah("pull", "--quiet", source, timeout=timeout)
        except (CommandError, WaitTimeout) as exc:
            raise BuildError(f"cannot pull {source}: {_first_line(str(exc))}") from None
        return out.strip().splitlines()[-1]

    def _push(self, image: str, destination: str) -> None:
        try:
            self._buildah("push", "--quiet", image, destination, timeout=_TIMEOUT)
        except (CommandError, WaitTimeout) as exc:
            raise BuildError(f"writing {destination} failed: {_first_line(str(exc))}") from None


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else text
