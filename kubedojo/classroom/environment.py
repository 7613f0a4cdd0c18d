"""Wiring: the instructor's :class:`Classroom` for this checkout's cluster."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from ..client.kube import KubeClient
from ..config import WorkshopConfig
from ..labs.reader import VolumeReader
from ..labs.records import ResultStore
from .service import Classroom

__all__ = ["ClassEnvironment", "class_environment"]


class ClassEnvironment:
    def __init__(self, classroom: Classroom, store: ResultStore, reader: VolumeReader) -> None:
        self.classroom = classroom
        self.store = store
        self.reader = reader


def _under(project: Path, raw: str) -> Path:
    path = Path(raw)
    return path if path.is_absolute() else project / path


@contextlib.contextmanager
def class_environment(
    config: WorkshopConfig, project: Path, kubeconfig: Path | None = None
) -> Iterator[ClassEnvironment]:
    """As the instructor: the local cluster's admin unless ``kubeconfig`` names another cluster."""
    from ..local.provider import LocalCluster

    local = LocalCluster(config)
    if kubeconfig is None:
        local.require_running()
        kubeconfig = local.kubeconfig_path
    client = KubeClient.from_kubeconfig(kubeconfig)
    try:
        classroom = Classroom(
            client,
            config.classroom,
            kubeconfig,
            _under(project, config.classroom.output_dir),
            config.labs.namespace_prefix,
        )
        yield ClassEnvironment(
            classroom,
            ResultStore(_under(project, config.labs.results_dir)),
            VolumeReader(client, local.image_ref("base")),
        )
    finally:
        client.close()
