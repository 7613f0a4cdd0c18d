"""What kubedojo runs for labs besides the add-ons, made on demand where the identity may make it:
a namespace's object-store account (:mod:`kubedojo.addons.s3accounts`) and the webhook receiver
(:mod:`kubedojo.addons.hooks`), the labs' datasets in the object store
(:mod:`kubedojo.addons.datasets`). A lab names what it uses in ``lab.yaml`` (``uses``); ``lab.run``
makes it for its own namespace as the administrator, ``class.setup`` for every participant."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..addons.datasets import ensure_datasets
from ..addons.hooks import ensure_hooks, hooks_image
from ..addons.s3accounts import ensure_accounts
from ..client.kubeapi import KubeAPI
from ..local.images import MC_IMAGE, ContextImage

__all__ = ["ClusterServices", "LabServices"]


class LabServices(Protocol):
    def accounts(self, participants: Mapping[str, str]) -> list[str]:
        """Object-store accounts for these namespaces (namespace → participant)."""
        ...

    def datasets(self) -> bool:
        """The labs' training data in the object store; whether it was put there now."""
        ...

    def webhook(self, project: Path) -> bool:
        """The webhook receiver (its image built from ``project``'s ``images/hooks``), running;
        whether anything changed."""
        ...


@dataclass
class ClusterServices:
    """The services on one cluster, made with ``client`` (an administrator's)."""

    client: KubeAPI
    registry: str
    base_image: str
    push: Callable[[Iterable[ContextImage]], object] | None = None
    """Builds and pushes an image to the registry (the local cluster); None: it is in place."""

    def accounts(self, participants: Mapping[str, str]) -> list[str]:
        return ensure_accounts(self.client, participants, MC_IMAGE.ref(self.registry))

    def datasets(self) -> bool:
        return ensure_datasets(self.client, self.base_image, MC_IMAGE.ref(self.registry))

    def webhook(self, project: Path) -> bool:
        image = hooks_image(project)
        if self.push is not None:
            self.push([image])
        return ensure_hooks(self.client, image.ref(self.registry), image.content_hash()[:16])
