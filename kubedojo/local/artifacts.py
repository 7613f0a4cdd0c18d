"""What the local cluster needs before it starts: the binaries (downloaded or built from Go modules),
the images (built, and pushed to the local registry once it runs), the certificates and the admin
kubeconfig. Each step is idempotent and returns the ``(subject, action)`` pairs of an up report.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from pathlib import Path

from ..client.commands import Runner, require_tool
from ..config import LocalSettings
from ..errors import BuildError
from ..files import write_atomic
from ..kubeconfig import render_kubeconfig
from ..paths import CacheDirs
from ..progress import Reporter
from .binaries import (
    COREDNS,
    KUBE_NETWORK_POLICIES,
    KUBE_NETWORK_POLICIES_PROGRAM,
    KUBERNETES,
    KWOK,
    Binaries,
    GoProgramSet,
    ReleaseDownloader,
)
from .images import (
    ADDON_IMAGES,
    BASE,
    IMAGES,
    NODE_BASE,
    BinaryImage,
    ContextImage,
    DebianImage,
    ImageBuilder,
    ImageRecipe,
    NpmImage,
    WheelsImage,
)
from .layout import Layout
from .pki import Pki, cluster_cert_specs

__all__ = ["Artifacts"]

Action = tuple[str, str]


class Artifacts:
    """The binaries and images in the cache, and the certificates and admin kubeconfig of a layout."""

    def __init__(
        self,
        settings: LocalSettings,
        cache: CacheDirs,
        runner: Runner,
        reporter: Reporter,
        sources: Path | None = None,
    ) -> None:
        self.settings = settings
        self.cache = cache
        self.reporter = reporter
        self.binaries = Binaries(cache, runner, sources)
        self.images = ImageBuilder(cache, runner)

    @property
    def k8s_bin(self) -> Path:
        return self.binaries.directory(KUBERNETES)

    @property
    def kwok_bin(self) -> Path:
        return self.binaries.path(KWOK, "kwok")

    @property
    def netpol_bin(self) -> Path:
        return self.binaries.path(KUBE_NETWORK_POLICIES, KUBE_NETWORK_POLICIES_PROGRAM)

    # -- binaries and images -----------------------------------------------------------------

    def prepare(self) -> list[Action]:
        """Download or build the binaries and build the images that are missing."""
        actions: list[Action] = []
        if self.settings.binaries == "download":
            with self.reporter.step(f"Kubernetes {KUBERNETES.version} release binaries"):
                downloader = ReleaseDownloader(self.settings.download_url)
                got = self.binaries.ensure_downloaded(
                    KUBERNETES, downloader, lambda p: self.reporter.note(f"downloading {p}")
                )
                actions.append(("kubernetes binaries", "downloaded" if got else "unchanged"))
        for programs in ((KUBERNETES,) if self.settings.binaries == "build" else ()) + (
            KWOK,
            KUBE_NETWORK_POLICIES,
            COREDNS,
        ):
            built = self._build_programs(programs)
            actions.append((f"{programs.name} binaries", "built" if built else "unchanged"))
        for recipe in IMAGES:
            built = self.build_image(recipe)
            actions.append((f"image {recipe.name} build", "built" if built else "unchanged"))
        return actions

    def _build_programs(self, programs: GoProgramSet) -> bool:
        """Build the Go programs unless they are built; True if they were."""
        if self.binaries.ready(programs):
            return False
        require_tool("go")
        origin = "its source archive" if programs.archive is not None else "Go modules"
        with self.reporter.step(f"Building {programs.name} {programs.version} from {origin}"):
            self.binaries.ensure_built(programs, self.cache.logs / f"build-{programs.name}.log")
        return True

    def build_image(self, recipe: ImageRecipe, rebuild: bool = False) -> bool:
        """Build the image when it is missing (or ``rebuild``), and first the program of a
        :class:`BinaryImage`; True if the image was built."""
        if rebuild:
            self.images.remove(recipe)
        if self.images.exists(recipe):
            return False
        binary = None
        if isinstance(recipe, WheelsImage):
            self.build_image(recipe.base or BASE)
        if isinstance(recipe, NpmImage):
            self.build_image(recipe.base or NODE_BASE)
        if isinstance(recipe, BinaryImage):
            assert recipe.programs is not None
            if recipe.base is not None:
                self.build_image(recipe.base)
            self._build_programs(recipe.programs)
            binary = self.binaries.path(recipe.programs, recipe.program)
        with self.reporter.step(f"Building image {recipe.name}"):
            return self.images.ensure(recipe, binary)

    # -- offline bundles (kubedojo.addons.site_images.ImageExporter) -------------------------------

    def _addon_recipe(self, name: str) -> BinaryImage | DebianImage | WheelsImage | NpmImage:
        for recipe in ADDON_IMAGES:
            if recipe.name == name:
                return recipe
        raise BuildError(f"no add-on image called {name!r} (releases.yaml images: build)")

    def export_addon_image(self, name: str, layout: Path) -> str:
        return self.export_image(self._addon_recipe(name), layout)

    def program(self, programs: GoProgramSet, program: str) -> Path:
        """The built program (built now if it is not)."""
        self._build_programs(programs)
        return self.binaries.path(programs, program)

    def export_image(self, recipe: ImageRecipe, layout: Path) -> str:
        """Build ``recipe`` if needed (a lab's image when its directory changed) and write it into the
        OCI layout; its path in a registry."""
        if isinstance(recipe, ContextImage):
            self.build_image(recipe.base_image)
            self.images.ensure_context(recipe)
        else:
            self.build_image(recipe)
        with self.reporter.step(f"Writing {recipe.repository}:{recipe.tag} into the bundle"):
            self.images.export_oci(recipe, layout)
        return f"{recipe.repository}:{recipe.tag}"

    def mirror_image(self, reference: str, layout: Path, path: str) -> None:
        with self.reporter.step(f"Mirroring {reference} into the bundle"):
            self.images.mirror_oci(reference, layout, path)

    def addon_sources(self, name: str) -> list[tuple[str, Path]]:
        recipe = self._addon_recipe(name)
        if not isinstance(recipe, BinaryImage) or not recipe.source_with_copies or recipe.programs is None:
            return []
        programs = recipe.programs
        return [(f"{programs.name}-{programs.version}.zip", self.binaries.module_zip(programs))]

    def push_images(self, registry: str) -> list[Action]:
        """Push the cluster's images to the running registry where it lacks them."""
        actions: list[Action] = []
        with self.reporter.step("Images in the local registry"):
            for recipe in IMAGES:
                pushed = self.images.push(recipe, registry)
                actions.append((f"image {recipe.name}", "pushed" if pushed else "unchanged"))
        return actions

    def build_images(
        self, registry: str, running: bool, rebuild: bool = False, recipes: Iterable[ImageRecipe] = IMAGES
    ) -> list[tuple[str, str, str]]:
        """Build the images (the cluster's, by default; again, with ``rebuild``) and push them to the
        registry when it is ``running``. Rows of (reference, "built"|"cached", "pushed"|"present"|
        "registry not running")."""
        rows = []
        for recipe in recipes:
            built = self.build_image(recipe, rebuild)
            pushed = "registry not running"
            if running:
                with self.reporter.step(f"Pushing {recipe.ref(registry)}"):
                    if rebuild:
                        self.images.push(recipe, registry, force=True)
                        pushed = "pushed"
                    else:
                        pushed = "pushed" if self.images.push(recipe, registry) else "present"
            rows.append((recipe.ref(registry), "built" if built else "cached", pushed))
        return rows

    def ensure_context_images(
        self, images: Iterable[ContextImage], registry: str, running: bool, rebuild: bool = False
    ) -> list[tuple[str, str, str]]:
        """Build the given (lab) images when their directory changed (or ``rebuild``) and push them
        to the registry when it is ``running``. Rows of (reference, "built"|"cached", "pushed"|...)."""
        self.build_image(BASE)
        if running:
            self.images.push(BASE, registry)
        rows = []
        for image in images:
            if image.base is not None:
                self.build_image(image.base)
            with self.reporter.step(f"Image {image.name}"):
                if rebuild:
                    self.images.remove(image)
                built = self.images.ensure_context(image)
                pushed = "registry not running"
                if running:
                    pushed = "pushed" if self.images.push(image, registry) else "present"
            rows.append((image.ref(registry), "built" if built else "cached", pushed))
        return rows

    # -- certificates and the admin kubeconfig ------------------------------------------------

    def certificates(self, layout: Layout) -> list[Action]:
        """Issue the certificates that are missing and write the admin kubeconfig."""
        with self.reporter.step("PKI and configuration"):
            written = Pki(layout.state.pki).ensure(
                cluster_cert_specs(
                    self.settings.node_name,
                    self.settings.network.node_ip,
                    self.settings.network.api_service_ip,
                )
            )
            _write_admin_kubeconfig(layout)
        return [("certificates", f"issued {', '.join(written)}" if written else "unchanged")]


def _write_admin_kubeconfig(layout: Layout) -> None:
    def b64(name: str) -> str:
        return base64.b64encode(layout.pki(name).read_bytes()).decode()

    text = render_kubeconfig(
        layout.api_url, b64("ca.crt"), "kubedojo-admin", cert=b64("admin.crt"), key=b64("admin.key")
    )
    write_atomic(layout.state.admin_kubeconfig, text, mode=0o600)
