"""Wiring: a :class:`LabRunner` for this checkout's cluster, with its images, reader and results."""

from __future__ import annotations

import contextlib
import getpass
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..client.kube import KubeClient
from ..config import WorkshopConfig
from ..errors import ConfigError
from .catalog import Catalog
from .definition import LabDefinition
from .images import lab_images
from .reader import VolumeReader
from .records import ResultStore
from .runner import LabReporter, LabRunner, NullLabReporter

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
    reporter: LabReporter | None = None,
    kubeconfig: Path | None = None,
) -> Iterator[LabEnvironment]:
    """The local cluster (its admin identity, its registry for the lab images) unless ``kubeconfig``
    names another cluster, whose images are then assumed to be in place."""
    from ..local.provider import LocalCluster

    reporter = reporter or NullLabReporter()
    local = LocalCluster(config, reporter=reporter)
    results = Path(config.labs.results_dir)
    store = ResultStore(results if results.is_absolute() else project / results)
    if kubeconfig is None:
        local.require_running()
        client = KubeClient.from_kubeconfig(local.kubeconfig_path)

        def images(lab: LabDefinition) -> None:
            local.ensure_context_images(lab_images(lab))

        runner_images = images
    else:
        client = KubeClient.from_kubeconfig(kubeconfig)
        runner_images = None
    reader = VolumeReader(client, local.image_ref("base"))
    try:
        yield LabEnvironment(
            Catalog(project),
            LabRunner(client, store, reader=reader, reporter=reporter, images=runner_images),
            config,
        )
    finally:
        client.close()
