"""Wiring: the instructor's :class:`Classroom` for this checkout's cluster."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from ..config import WorkshopConfig
from ..labs.reader import VolumeReader
from ..labs.records import ResultStore
from ..target import ClusterTarget
from .service import Classroom

__all__ = ["ClassEnvironment", "class_environment"]


class ClassEnvironment:
    def __init__(self, classroom: Classroom, store: ResultStore, reader: VolumeReader) -> None:
        self.classroom = classroom
        self.store = store
        self.reader = reader


@contextlib.contextmanager
def class_environment(config: WorkshopConfig, target: ClusterTarget) -> Iterator[ClassEnvironment]:
    """The class on ``target``, as its administrator."""
    client = target.client()
    try:
        classroom = Classroom(
            client,
            config.classroom,
            target.kubeconfig,
            Path(config.classroom.output_dir),
            config.labs.namespace_prefix,
        )
        yield ClassEnvironment(
            classroom,
            ResultStore(Path(config.labs.results_dir)),
            VolumeReader(client, target.base_image),
        )
    finally:
        client.close()
