"""The project's releases.yaml entries installed from the upstream chart archives in
``../shared/charts`` (see its PROVENANCE.md), with the project's own values files.

Each test names the archive and the sha256 it trusts, PROVENANCE.md's: for the charts packaged from
their release tag that differs from the published archive's digest, which charts/releases.yaml pins
for real downloads; the archive is checked against it before it is used."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from kubedojo.addons.bundle import sha256_of

from ..ci import skip_or_fail

REPO = Path(__file__).resolve().parents[2]
SHARED_CHARTS = REPO.parent / "shared" / "charts"
PROVENANCE_SHA256 = {
    "nfs-subdir-external-provisioner-4.0.18.tgz": "23fbd32f72cffa16910de542db4708a97d09a24bbb3d2a02475ad41d1a5ed8ca",
    "metrics-server-3.13.1.tgz": "85286190cee95cddb3bba410a7e3b6ac948071c2ad7d85b020207fc846587bf8",
    "minio-5.4.0.tgz": "25fa2740480d1ebc9e64340854a6c42d3a7bc39c2a77378da91b21f144faa9af",
    "argo-workflows-1.0.18.tgz": "67840c5ea0c4c9016c2743ddcc93f4cf7f936caf6b0e920738fe68d6fe3c22f0",
    "cluster-autoscaler-9.59.0.tgz": "4805e64f5d1e5514f00c8ded3a302b46d0d3c0d0fbff8ac452faf39f598e4098",
    "nvidia-device-plugin-0.20.0.tgz": "9e5642bcdd3805c6e931f9d3ca542677d1f714d68c14c1364892011e67d9a606",
    "jupyterhub-4.4.0.tgz": "b2938d52beb55f8e9146c463dd6051a31e9f3a4c28ec9e8c6d431abe5cf174ce",
}
"""The digests ../shared/charts/PROVENANCE.md gives, which the tests trust: minio's and the device
plugin's are the published archives' (releases.yaml pins the same); the others were packaged from the chart's release tag and
differ from the published digests that releases.yaml pins for real downloads."""


def shipped_release(name: str, archive: str, sha256: str, directory: Path, timeout: float = 240) -> Path:
    """A releases.yaml in ``directory`` holding charts/releases.yaml's entry ``name``, its chart the
    archive ``archive`` of ../shared/charts (checked against ``sha256``), its values the project's."""
    shipped = yaml.safe_load((REPO / "charts" / "releases.yaml").read_text())
    return _write_releases(shipped, [(name, archive, sha256)], directory, timeout)


def shipped_releases(names: list[str], directory: Path, timeout: float = 240) -> Path:
    """:func:`shipped_release` for several releases, each from its archive of ../shared/charts
    (``<chart>-<version>.tgz``) checked against :data:`PROVENANCE_SHA256`."""
    shipped = yaml.safe_load((REPO / "charts" / "releases.yaml").read_text())
    entries = []
    for name in names:
        entry = next(r for r in shipped["releases"] if r["name"] == name)
        archive = f"{entry['chart']}-{entry['version']}.tgz"
        entries.append((name, archive, PROVENANCE_SHA256[archive]))
    return _write_releases(shipped, entries, directory, timeout)


def _write_releases(
    shipped: dict[str, Any], entries: list[tuple[str, str, str]], directory: Path, timeout: float
) -> Path:
    releases = []
    for name, archive, sha256 in entries:
        chart = SHARED_CHARTS / archive
        if not chart.exists():
            skip_or_fail(f"{chart} is not there (the upstream charts, ../shared/charts)", "the real chart")
        assert sha256_of(chart) == sha256, f"{chart} is not the archive PROVENANCE.md describes"
        entry = dict(next(r for r in shipped["releases"] if r["name"] == name))
        entry.pop("repo")
        entry["chart"] = str(chart)
        entry["digest"] = f"sha256:{sha256}"
        entry["values"] = [
            str(REPO / "charts" / v)
            if isinstance(v, str)
            else {**v, "file": str(REPO / "charts" / v["file"])}
            if "file" in v
            else v
            for v in entry["values"]
        ]
        releases.append(entry)
    path = directory / "releases.yaml"
    path.write_text(yaml.safe_dump({"defaults": {"timeout": timeout}, "releases": releases}))
    return path


SHARED_MANIFESTS = REPO.parent / "shared" / "manifests"
"""The upstream manifests rendered from their release tags (see ../shared/charts/PROVENANCE.md), which
releases of upstream manifests install (kubedojo checks each against the sha256 releases.yaml pins)."""


def shipped_manifest_releases(names: list[str], directory: Path, timeout: float = 240) -> Path:
    """A releases.yaml in ``directory`` holding charts/releases.yaml's entries ``names``, releases of
    upstream manifests, their files those of ../shared/manifests."""
    shipped = yaml.safe_load((REPO / "charts" / "releases.yaml").read_text())
    releases = []
    for name in names:
        entry = dict(next(r for r in shipped["releases"] if r["name"] == name))
        manifests = dict(entry["manifests"])
        path = SHARED_MANIFESTS / manifests["file"]
        if not path.is_file():
            skip_or_fail(
                f"{path} is not there (the upstream manifests, ../shared/manifests)", "the manifests"
            )
        manifests["file"] = str(path)
        entry["manifests"] = manifests
        entry["values"] = [
            str(REPO / "charts" / v)
            if isinstance(v, str)
            else {**v, "file": str(REPO / "charts" / v["file"])}
            for v in entry.get("values", [])
        ]
        releases.append(entry)
    path = directory / "releases.yaml"
    path.write_text(yaml.safe_dump({"defaults": {"timeout": timeout}, "releases": releases}))
    return path
