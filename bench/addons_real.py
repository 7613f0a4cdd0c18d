"""Benchmark: the six real add-ons (charts/releases.yaml) on the local cluster, warm.

The charts are the upstream archives in ``../shared/charts`` (the chart repositories cannot be reached
here; ``--charts DIR`` for another directory of ``<chart>-<version>.tgz``), with the project's values.
kubedojo's images are built and pushed first (not timed: the warm case). Per round:

1. **Install all six** (targets: at most 90 s), each waiting for readiness: metrics-server, MinIO with
   its set-up Jobs, Argo Workflows, cluster-autoscaler with its node groups, the device plugin where
   GPU nodes exist (``cluster.up --sim-nodes gpu=1``); nfs-storage does not apply on the local cluster.
2. **Install again, nothing changed** (target: at most 5 s, nothing upgraded).
3. **Autoscaling** (``--autoscale``, first round only): the simulated GPUs taken, one more pod asking
   for ``nvidia.com/gpu: 1``: seconds from its creation to its scheduling on a node cluster-autoscaler
   added to the empty ``ca-gpu`` group, and from its deletion to that node's removal (the workshop's
   scale-down settings: ``charts/values/cluster-autoscaler-kwok.yaml``).
4. **Uninstall** in reverse order, waiting until the objects are gone.

The first round pulls the images into the node's containerd; later rounds find them there.

    invoke cluster.up --sim-nodes gpu=1
    python bench/addons_real.py [--rounds 3] [--autoscale] [--json out.json]
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

TARGETS = {"install_all_s": 90.0, "unchanged_install_s": 5.0}


def releases_file(directory: Path, charts: Path) -> Path:
    """charts/releases.yaml with each chart taken from its archive in ``charts``."""
    shipped = yaml.safe_load((REPO / "charts" / "releases.yaml").read_text())
    # The six charts; the optional releases of upstream manifests (the training operator) are not.
    shipped["releases"] = [e for e in shipped["releases"] if "manifests" not in e]
    for entry in shipped["releases"]:
        archive = charts / f"{entry['chart']}-{entry['version']}.tgz"
        if not archive.is_file():
            sys.exit(f"{archive}: missing (the upstream chart archives)")
        entry.pop("repo")
        entry.pop("digest", None)  # packaged from the release tag: PROVENANCE.md gives their digests
        entry["chart"] = str(archive)
        entry["values"] = [
            str(REPO / "charts" / v)
            if isinstance(v, str)
            else {**v, "file": str(REPO / "charts" / v["file"])}
            if "file" in v
            else v
            for v in entry["values"]
        ]
    path = directory / "releases.yaml"
    path.write_text(yaml.safe_dump(shipped))
    return path


NAMESPACE = "kubedojo-bench-autoscale"


def gpu_pod(name: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "nodeSelector": {"nvidia.com/gpu.present": "true"},
            "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [
                {
                    "name": "train",
                    "image": image,
                    "command": ["sleep", "3600"],
                    "resources": {"limits": {"nvidia.com/gpu": "1"}},
                }
            ],
            "terminationGracePeriodSeconds": 0,
        },
    }


def autoscale(kube: Any, image: str) -> dict[str, float]:
    """Seconds from a pending GPU pod to its scheduling on an added node, and from its deletion to
    that node's removal."""
    kube.ensure_namespace(NAMESPACE)
    try:
        gpus = kube.nodes(label_selector="nvidia.com/gpu.present=true")
        for index in range(len(gpus)):
            kube.create(gpu_pod(f"busy-{index}", image), NAMESPACE)
            kube.wait_for(
                "busy pod",
                "Pod",
                lambda p: bool(p["spec"].get("nodeName")),
                60,
                NAMESPACE,
                name=f"busy-{index}",
            )
        started = time.monotonic()
        kube.create(gpu_pod("wants-a-gpu", image), NAMESPACE)
        pod = kube.wait_for(
            "the pod on an added node",
            "Pod",
            lambda p: bool(p["spec"].get("nodeName")),
            300,
            NAMESPACE,
            name="wants-a-gpu",
        )
        scheduled = time.monotonic()
        kube.delete("Pod", "wants-a-gpu", NAMESPACE, grace_seconds=0)
        idle = time.monotonic()
        kube.wait_deleted("Node", pod["spec"]["nodeName"], None, 600)
        return {"pending_to_scheduled_s": scheduled - started, "idle_to_removed_s": time.monotonic() - idle}
    finally:
        kube.delete("Namespace", NAMESPACE)
        kube.wait_deleted("Namespace", NAMESPACE, None, 120)


def timed(action: Any) -> tuple[float, Any]:
    started = time.monotonic()
    result = action()
    return time.monotonic() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--charts", type=Path, default=REPO.parent / "shared" / "charts")
    parser.add_argument("--autoscale", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    config = load_config(REPO / "workshop.yaml")
    cluster = LocalCluster(config)
    cluster.require_running()
    cluster.ensure_addon_images()
    figures: dict[str, list[float]] = {"install_all_s": [], "unchanged_install_s": [], "uninstall_s": []}
    actions: list[dict[str, str]] = []
    scaling: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = releases_file(Path(tmp), args.charts)
        with addons_environment(config, resolve_target(config, REPO), releases=str(path)) as addons:
            for _ in range(args.rounds):
                seconds, results = timed(addons.install)
                figures["install_all_s"].append(seconds)
                actions.append({r.name: r.action for r in results})
                seconds, results = timed(addons.install)
                figures["unchanged_install_s"].append(seconds)
                changed = [r.name for r in results if r.action not in ("unchanged", "skipped")]
                if changed:
                    sys.exit(f"the second install changed {changed}")
                if args.autoscale and not scaling:
                    scaling = autoscale(addons.kube, str(cluster.image_ref("base")))
                figures["uninstall_s"].append(timed(addons.uninstall)[0])
    results = {
        "targets": TARGETS,
        "rounds": args.rounds,
        "first_round": actions[0] if actions else {},
        "autoscaling": {k: round(v, 1) for k, v in scaling.items()},
        **{k: round(statistics.median(v), 2) for k, v in figures.items()},
        "max": {k: round(max(v), 2) for k, v in figures.items()},
        "all": {k: [round(x, 2) for x in v] for k, v in figures.items()},
    }
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
