"""Benchmark: the add-on commands on the local cluster, with the test charts (tests/charts).

Three releases (kd-crd and kd-solo independent, kd-app needing kd-crd), each a Deployment that must
become ready (or a CRD and a custom resource):

1. **First install** of all three (two levels; the first level's two releases concurrently).
2. **Install again, nothing changed** (target: at most 5 s for three releases — it is run before every
   workshop and must not redeploy anything).
3. **Diff** with nothing changed.
4. **Uninstall** in reverse order, waiting until the objects are gone.

Needs the local cluster up (``invoke cluster.up``) and helm (``invoke charts.help``); uses the
namespace ``kubedojo-bench-charts`` and removes it.

    python bench/charts.py [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from kubedojo.addons import addons_environment  # noqa: E402
from kubedojo.config import load_config  # noqa: E402
from kubedojo.local.provider import LocalCluster  # noqa: E402
from kubedojo.target import resolve_target  # noqa: E402

NAMESPACE = "kubedojo-bench-charts"
TARGETS = {"unchanged_install_s": 5.0}
CHARTS = REPO / "tests" / "charts"


def releases_file(directory: Path, image: str) -> Path:
    (directory / "image.yaml").write_text(yaml.safe_dump({"image": image}))
    releases = [
        {
            "name": "kd-crd",
            "chart": str(CHARTS / "kd-crd"),
            "version": "0.1.0",
            "namespace": NAMESPACE,
            "values": ["image.yaml"],
        },
        {
            "name": "kd-solo",
            "chart": str(CHARTS / "kd-solo"),
            "version": "0.1.0",
            "namespace": NAMESPACE,
            "values": ["image.yaml"],
        },
        {
            "name": "kd-app",
            "chart": str(CHARTS / "kd-app"),
            "version": "0.1.0",
            "namespace": NAMESPACE,
            "needs": ["kd-crd"],
        },
    ]
    path = directory / "releases.yaml"
    path.write_text(yaml.safe_dump({"defaults": {"timeout": 300}, "releases": releases}))
    return path


def timed(action: Any) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    config = load_config(REPO / "workshop.yaml")
    cluster = LocalCluster(config)
    cluster.require_running()
    image = str(cluster.image_ref("base"))
    figures: dict[str, list[float]] = {
        "first_install_s": [],
        "unchanged_install_s": [],
        "diff_s": [],
        "uninstall_s": [],
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = releases_file(Path(tmp), image)
        with addons_environment(config, resolve_target(config, REPO), releases=str(path)) as addons:
            for _ in range(args.rounds):
                figures["first_install_s"].append(timed(addons.install))
                figures["unchanged_install_s"].append(timed(addons.install))
                figures["diff_s"].append(timed(addons.diff))
                figures["uninstall_s"].append(timed(addons.uninstall))
            addons.kube.delete("CustomResourceDefinition", "widgets.kubedojo.dev")
            addons.kube.delete("Namespace", NAMESPACE)
    results = {
        "targets": TARGETS,
        "rounds": args.rounds,
        **{k: round(statistics.median(v), 2) for k, v in figures.items()},
        "max": {k: round(max(v), 2) for k, v in figures.items()},
    }
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
