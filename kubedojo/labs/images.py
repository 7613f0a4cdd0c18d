"""The images a lab needs, as buildable recipes (each from a directory with a Dockerfile)."""

from __future__ import annotations

from ..local.images import ContextImage
from .definition import LabDefinition

__all__ = ["lab_images"]


def lab_images(lab: LabDefinition) -> list[ContextImage]:
    return [
        ContextImage(spec.name, spec.tag, f"kubedojo lab {lab.id}", context=lab.project / spec.context)
        for spec in lab.images
    ]
