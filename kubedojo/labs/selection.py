"""Which objects a check is about (:class:`Select`), and which container of theirs is the lab's
(:class:`LabContainer`)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from ..validation import ClosedModel as _Strict
from .objects import pod_spec
from .program import image_name, lab_container, program_of

__all__ = ["LabContainer", "Select"]


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class Select(_Strict):
    """Which objects: a kind and a name, a name pattern, labels, or what they run (a script, from an
    image), so that experiments are told apart by what they run, whatever their names."""

    kind: str = "Job"
    name: str | None = None
    name_pattern: str | None = None
    labels: dict[str, str] | None = None
    runs: list[str] | None = None
    """Some container runs one of these scripts (its effective command, see :mod:`.program`)."""
    image: str | None = None
    """... from an image of this repository name (``lab-05-many-jobs``), whatever its registry and tag."""

    @field_validator("name_pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value

    @field_validator("runs", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return _as_list(value)

    def matches(self, obj: dict[str, Any]) -> bool:
        meta = obj.get("metadata") or {}
        if obj.get("kind") != self.kind:
            return False
        name = meta.get("name") or meta.get("generateName") or ""
        if self.name is not None and name != self.name:
            return False
        if self.name_pattern is not None and not re.search(self.name_pattern, name):
            return False
        if (self.runs is not None or self.image is not None) and not any(
            self._runs(c) for c in pod_spec(obj).get("containers") or [] if isinstance(c, dict)
        ):
            return False
        labels = meta.get("labels") or {}
        return all(labels.get(k) == v for k, v in (self.labels or {}).items())

    def _runs(self, container: dict[str, Any]) -> bool:
        if self.image is not None and image_name(container.get("image")) != self.image:
            return False
        return self.runs is None or program_of(container).script in self.runs

    def describe(self) -> str:
        if self.name:
            return f"{self.kind} {self.name}"
        if self.name_pattern:
            return f"{self.kind}s named like /{self.name_pattern}/"
        if self.runs:
            return f"{self.kind}s running {' or '.join(self.runs)}"
        if self.labels:
            return f"{self.kind}s labelled " + ",".join(f"{k}={v}" for k, v in self.labels.items())
        return f"{self.kind}s"


class LabContainer(_Strict):
    """The lab's container in a pod: the one that runs one of ``runs``, else the one named one of
    ``names``, else the only one. Every check of the lab looks at this container."""

    runs: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=lambda: ["train", "ml"])

    @field_validator("runs", "names", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return _as_list(value)

    def find(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        """The lab's container of a Pod or of a workload's pod template, or None."""
        return lab_container(pod_spec(obj), self.runs, self.names)

    def describe(self) -> str:
        parts = [f"runs {' or '.join(self.runs)}"] if self.runs else []
        parts.append(f"is named {' or '.join(self.names)}")
        return "a container that " + ", or ".join(parts) + " (or the only container)"
