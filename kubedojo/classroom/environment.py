"""Wiring: the instructor's :class:`Classroom` for this checkout's cluster."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from ..addons.releases import load_releases
from ..client.registry import RegistryClient
from ..config import WorkshopConfig
from ..labs.definition import LabDefinition
from ..labs.images import RegistryDigests, lab_images
from ..labs.reader import VolumeReader
from ..labs.records import ResultStore
from ..labs.services import ClusterServices
from ..target import ClusterTarget
from .grading import ClassGrades, grade_class
from .service import Classroom

__all__ = ["ClassEnvironment", "class_environment"]


class ClassEnvironment:
    def __init__(
        self, classroom: Classroom, store: ResultStore, reader: VolumeReader, target: ClusterTarget
    ) -> None:
        self.classroom = classroom
        self.store = store
        self.reader = reader
        self.target = target
        self.digests = RegistryDigests(RegistryClient(target.registry))

    def grade(
        self, labs: list[LabDefinition], progress: Callable[[int, int], None] | None = None
    ) -> ClassGrades:
        """Grade every participant for every lab (only runs of the labs' own code earn credit)."""
        people = self.classroom.participants()
        return grade_class(
            self.classroom.client,
            labs,
            people,
            self.store,
            self.reader,
            progress=progress,
            digests=self.digests,
        )

    def publish_images(self, labs: Iterable[LabDefinition]) -> list[str]:
        """Put every image the labs run into the cluster's registry (built where changed), so that a
        participant's first ``lab.run`` finds it (their credentials cannot push). Returns the image
        references; nothing where the target cannot push (a site's registry is filled from a
        bundle), and a lab's missing image is then the fast, named failure of a stuck run."""
        push = self.target.push_images
        if push is None:
            return []
        images = [image for lab in labs for image in lab_images(lab)]
        return [reference for reference, _built, _pushed in push(images)]


@contextlib.contextmanager
def class_environment(config: WorkshopConfig, target: ClusterTarget) -> Iterator[ClassEnvironment]:
    """The class on ``target``, as its administrator."""
    client = target.client()
    releases = load_releases(Path(config.charts.releases).expanduser()).releases
    hub = next((r for r in releases if r.name == "jupyterhub" and r.name in config.charts.optional), None)
    try:
        classroom = Classroom(
            client,
            config.classroom,
            target.kubeconfig,
            Path(config.classroom.output_dir),
            config.labs.namespace_prefix,
            services=ClusterServices(client, target.registry, target.base_image, target.push_images),
            addons=releases,
            # A Jupyter password each where the workshop turns JupyterHub on.
            jupyter_namespace=hub.namespace if hub is not None else None,
        )
        yield ClassEnvironment(
            classroom,
            ResultStore(Path(config.labs.results_dir)),
            VolumeReader(client, target.base_image),
            target,
        )
    finally:
        client.close()
