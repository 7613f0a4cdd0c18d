"""The project's releases.yaml entries installed from the upstream chart archives in
``../shared/charts`` (see its PROVENANCE.md), with the project's own values files.

Each test names the archive and the sha256 it trusts, PROVENANCE.md's: for the charts packaged from
their release tag that differs from the published archive's digest, which charts/releases.yaml pins
for real downloads; the archive is checked against it before it is used."""

from __future__ import annotations

from pathlib import Path

import yaml

from kubedojo.addons.bundle import sha256_of

from ..ci import skip_or_fail

REPO = Path(__file__).resolve().parents[2]
SHARED_CHARTS = REPO.parent / "shared" / "charts"


def shipped_release(name: str, archive: str, sha256: str, directory: Path, timeout: float = 240) -> Path:
    """A releases.yaml in ``directory`` holding charts/releases.yaml's entry ``name``, its chart the
    archive ``archive`` of ../shared/charts (checked against ``sha256``), its values the project's."""
    chart = SHARED_CHARTS / archive
    if not chart.exists():
        skip_or_fail(f"{chart} is not there (the upstream charts, ../shared/charts)", "the real chart")
    assert sha256_of(chart) == sha256, f"{chart} is not the archive PROVENANCE.md describes"
    shipped = yaml.safe_load((REPO / "charts" / "releases.yaml").read_text())
    entry = dict(next(r for r in shipped["releases"] if r["name"] == name))
    entry.pop("repo")
    entry["chart"] = str(chart)
    entry["digest"] = f"sha256:{sha256}"
    entry["values"] = [
        str(REPO / "charts" / v) if isinstance(v, str) else {**v, "file": str(REPO / "charts" / v["file"])}
        for v in entry["values"]
    ]
    path = directory / "releases.yaml"
    path.write_text(yaml.safe_dump({"defaults": {"timeout": timeout}, "releases": [entry]}))
    return path
