"""The images a lab needs: as buildable recipes (each from a directory with a Dockerfile), and as
the digests the cluster's registry holds for them (what a run of the lab's code must have used)."""

from __future__ import annotations

from ..client.registry import RegistryClient
from ..errors import RegistryError
from ..local.images import (
    BASE,
    JUPYTERHUB_SINGLEUSER_IMAGE,
    KATIB_METRICS_COLLECTOR_IMAGE,
    LAB_BASES,
    ContextImage,
    ImageRecipe,
)
from .definition import LabDefinition
from .integrity import JUPYTER_SERVER_IMAGE, KATIB_COLLECTOR_IMAGE, LabImages

_HELPERS: dict[str, tuple[str, ImageRecipe]] = {
    "katib": (KATIB_COLLECTOR_IMAGE, KATIB_METRICS_COLLECTOR_IMAGE),
    "jupyterhub": (JUPYTER_SERVER_IMAGE, JUPYTERHUB_SINGLEUSER_IMAGE),
}
"""The add-ons' images a lab's grading needs the digests of, by add-on: Katib's metrics collector
(which shares a trial's process namespace), JupyterHub's notebook server (lab 10's work runs there)."""

__all__ = ["RegistryDigests", "lab_images"]


def lab_images(lab: LabDefinition) -> list[ContextImage]:
    return [
        ContextImage(
            spec.name,
            spec.tag,
            f"kubedojo lab {lab.id}",
            context=lab.project / spec.context,
            base=None if LAB_BASES[spec.base] is BASE else LAB_BASES[spec.base],
        )
        for spec in lab.images
    ]


class RegistryDigests:
    """Reads the digests of a lab's images from the registry the cluster's nodes pull them from.

    Called once per grading (after ``lab.run`` has pushed a changed image), so it never answers from
    an older build. An unreadable registry gives :class:`LabImages` with ``unknown`` set, and then no
    run earns credit: the checks that need it stay pending (saying why) until a grading that can read
    the registry, the instructor's."""

    def __init__(self, registry: RegistryClient) -> None:
        self.registry = registry

    def __call__(self, lab: LabDefinition) -> LabImages:
        digests: dict[str, frozenset[str]] = {}
        for spec in lab.images:
            repository = ContextImage(spec.name, spec.tag, "").repository
            try:
                found = self.registry.digests(repository, spec.tag)
            except RegistryError as exc:
                return LabImages({s.name: frozenset() for s in lab.images}, str(exc))
            if found is None:
                reason = f"the registry {self.registry.address} has no {repository}:{spec.tag}"
                return LabImages({s.name: frozenset() for s in lab.images}, reason)
            digests[spec.name] = found.all()
        helpers: dict[str, frozenset[str]] = {}
        for addon, (key, image) in _HELPERS.items():
            if addon not in lab.addons:
                continue
            try:
                found = self.registry.digests(image.repository, image.tag)
            except RegistryError as exc:
                return LabImages(digests, str(exc))
            helpers[key] = found.all() if found is not None else frozenset()
        return LabImages(digests, helpers=helpers)
