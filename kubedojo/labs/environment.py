"""Wiring: a :class:`LabRunner` for this checkout's cluster, with its images, reader and results."""

from __future__ import annotations

import contextlib
import getpass
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..client.registry import RegistryClient
from ..config import WorkshopConfig
from ..errors import ConfigError
from ..target import ClusterTarget
from .catalog import Catalog
from .definition import LabDefinition
from .images import RegistryDigests, lab_images
from .reader import VolumeReader
from .records import ResultStore
from .runner import LabReporter, LabRunner, NullLabReporter
from .services import ClusterServices

__all__ = ["LabEnvironment", "lab_environment", "participant_name"]


def participant_name(explicit: str, config: WorkshopConfig) -> str:
    """A participant's name as a DNS label (it becomes part of their namespace)."""
    raw = explicit or config.labs.participant or getpass.getuser()
    name = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")
    if not name or len(config.labs.namespace_prefix + name) > 63:
        raise ConfigError(f"--participant {raw!r}: use letters, digits and '-' (at most 50 characters)")
    return name


@dataclass
class LabEnvironment:
    catalog: Catalog
    runner: LabRunner
    config: WorkshopConfig

    def namespace(self, participant: str) -> str:
        return self.config.labs.namespace_prefix + participant


@contextlib.contextmanager
def lab_environment(
    config: WorkshopConfig,
    project: Path,
    target: ClusterTarget,
    reporter: LabReporter | None = None,
) -> Iterator[LabEnvironment]:
    """Labs on ``target``, as its administrator; lab images are built and pushed where the target
    can (the local cluster) and assumed in place elsewhere."""
    reporter = reporter or NullLabReporter()
    client = target.client()
    push = target.push_images

    def images(lab: LabDefinition) -> None:
        if push is not None:
            push(lab_images(lab))

    try:
        yield LabEnvironment(
            Catalog(project),
            LabRunner(
                client,
                ResultStore(Path(config.labs.results_dir)),
                reader=VolumeReader(client, target.base_image),
                reporter=reporter,
                images=images if push is not None else None,
                digests=RegistryDigests(RegistryClient(target.registry)),
                services=ClusterServices(client, target.registry, target.base_image, push),
            ),
            config,
        )
    finally:
        client.close()
