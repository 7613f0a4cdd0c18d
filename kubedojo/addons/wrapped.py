"""Upstream manifests installed as a helm release: the chart kubedojo writes around them.

Kubeflow publishes its operators as kustomize trees, not charts. Their rendered YAML
(:class:`~kubedojo.addons.releases.ManifestSource`, checked against its sha256) becomes a release
like the charts', so that ``charts.install``, ``diff``, ``status``, ``uninstall`` and bundles treat
it the same way:

* the CustomResourceDefinitions are applied by kubedojo itself, server-side, before the chart (the
  training operator's are 700 KB each: more than helm's release Secret holds, and more than the
  annotation of client-side apply allows); like the CRDs of a chart's ``crds/``, they stay when the
  release is uninstalled (deleting one deletes every object of its kind, a class's work included);
* the other objects go into the chart as a data file that its one template reads, so nothing
  upstream wrote is taken for template syntax. The template merges the ``patches`` values
  (``Kind/name`` -> a mapping merged into the object; lists are replaced whole) and writes the
  ``images`` values (upstream reference -> reference in the cluster's registry) in place of the
  upstream references;
* kubedojo's own changes, which are the same everywhere, are made when the chart is written:
  objects dropped (``drop``), container arguments added (``args``) and values set where a path
  (the labs' path language) reaches into a list (``set``).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError
from ..jsonpath import parse_path, select_steps
from .bundle import pod_template_spec, sha256_of
from .releases import ManifestSource, Release

__all__ = ["CRD_KIND", "WrappedManifests", "manifests_path", "read_manifests", "wrap"]

CRD_KIND = "CustomResourceDefinition"

_TEMPLATE = """\
{{- /* Written by kubedojo around upstream manifests (files/objects.yaml): see kubedojo.addons.wrapped. */}}
{{- range $object := .Files.Get "files/objects.yaml" | fromYamlArray }}
{{- $key := printf "%s/%s" $object.kind $object.metadata.name }}
{{- $patch := index ($.Values.patches | default dict) $key | default dict }}
{{- $text := mergeOverwrite $object (deepCopy $patch) | toYaml }}
{{- range $from, $to := ($.Values.images | default dict) }}
{{- $text = replace $from $to $text }}
{{- end }}
---
{{ $text }}
{{- end }}
"""


@dataclass(frozen=True)
class WrappedManifests:
    chart: Path
    """The chart directory kubedojo wrote."""
    crds: tuple[dict[str, Any], ...]
    """The CustomResourceDefinitions, applied apart from the chart."""
    digest: str
    """A digest of what the chart and the CRDs hold (it changes when upstream's file or kubedojo's
    changes to it do)."""


def manifests_path(source: ManifestSource, sources: Path | None) -> Path:
    """Where the rendered file is: its path, or its name in the sources directory."""
    path = Path(source.file).expanduser()
    if path.is_absolute() or sources is None:
        return path
    return sources / path


def read_manifests(source: ManifestSource, path: Path) -> list[dict[str, Any]]:
    """The objects of the rendered file, checked against its sha256; :class:`ConfigError` naming the
    file and how to make it when it is missing or not the pinned one."""
    if not path.is_file():
        raise ConfigError(
            f"{path}: the upstream manifests are not there; make them with '{source.render}' "
            "and put them in the sources directory (sources_dir in workshop.yaml or KUBEDOJO_SOURCES)"
        )
    found = sha256_of(path)
    if found != source.sha256:
        raise ConfigError(
            f"{path}: sha256 {found}, not the pinned {source.sha256}; make it with '{source.render}'"
        )
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 4 MB of CRDs in 0.3 s, not 2 s
        objects = [o for o in yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader) if o]
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not YAML ({_first_line(str(exc))})") from None
    for number, obj in enumerate(objects, 1):
        if not isinstance(obj, dict) or not obj.get("kind") or not (obj.get("metadata") or {}).get("name"):
            raise ConfigError(f"{path}: document {number} is not a Kubernetes object with a kind and a name")
    return objects


def wrap(release: Release, objects: list[dict[str, Any]], into: Path) -> WrappedManifests:
    """Write the chart around ``objects`` (once per content, under ``into``) and set the CRDs apart."""
    source = release.manifests
    if source is None:
        raise ConfigError(f"release {release.name}: it has no manifests to wrap")
    crds: list[dict[str, Any]] = []
    rest: list[dict[str, Any]] = []
    dropped = set(source.drop)
    unused_args = dict(source.args)
    unused_set = set(source.set)
    for obj in objects:
        key = f"{obj['kind']}/{obj['metadata']['name']}"
        if key in dropped:
            dropped.discard(key)
            continue
        if obj["kind"] == CRD_KIND:
            crds.append(obj)
            continue
        obj = _with_args(obj, key, unused_args)
        obj = _with_settings(obj, key, source.set.get(key, {}), release.name)
        unused_set.discard(key)
        rest.append(obj)
    if dropped or unused_args or unused_set:
        missing = sorted(dropped | set(unused_args) | unused_set)
        raise ConfigError(
            f"release {release.name}: the manifests have no {', '.join(missing)} (manifests.drop/args/set)"
        )
    chart = {
        "apiVersion": "v2",
        "name": release.chart,
        "version": release.version.lstrip("v"),
        "appVersion": release.version,
        "description": f"{release.description or release.name} (upstream manifests; written by kubedojo)",
        "type": "application",
    }
    files = {
        "Chart.yaml": yaml.safe_dump(chart, sort_keys=False),
        "values.yaml": "# Set by kubedojo: upstream image -> image here; Kind/name -> mapping merged in.\n"
        "images: {}\npatches: {}\n",
        "templates/objects.yaml": _TEMPLATE,
        "files/objects.yaml": yaml.safe_dump(rest, sort_keys=False),
    }
    digest = hashlib.sha256(json.dumps([files, crds], sort_keys=True, default=str).encode()).hexdigest()[:16]
    directory = into / f"{release.chart}-{release.version}-{digest}"
    if not (directory / "Chart.yaml").is_file():
        into.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{release.chart}-", dir=into))
        try:
            for name, text in files.items():
                (work / name).parent.mkdir(parents=True, exist_ok=True)
                (work / name).write_text(text, encoding="utf-8")
            shutil.rmtree(directory, ignore_errors=True)
            work.rename(directory)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return WrappedManifests(directory, tuple(crds), digest)


def _with_args(obj: dict[str, Any], key: str, args: dict[str, list[str]]) -> dict[str, Any]:
    """``obj`` with the arguments ``args`` names for its containers (each entry used is removed)."""
    wanted = {k.rsplit("/", 1)[1]: v for k, v in args.items() if k.rsplit("/", 1)[0] == key}
    if not wanted:
        return obj
    obj = json.loads(json.dumps(obj))
    for container in (pod_template_spec(obj) or {}).get("containers") or []:
        extra = wanted.pop(container.get("name"), None)
        if extra is not None:
            container["args"] = [*(container.get("args") or []), *extra]
            del args[f"{key}/{container['name']}"]
    return obj


def _with_settings(
    obj: dict[str, Any], key: str, settings: Mapping[str, Any], release: str
) -> dict[str, Any]:
    """``obj`` with each path of ``settings`` set to its value; a path that reaches nothing is an error."""
    if not settings:
        return obj
    obj = json.loads(json.dumps(obj))
    for path, value in settings.items():
        *parents, last = parse_path(path)
        targets = [t for t in select_steps(obj, parents) if isinstance(t, dict)]
        if not targets:
            raise ConfigError(f"release {release}: manifests.set: {key} has nothing at {path}")
        for target in targets:
            target[last] = value
    return obj


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
