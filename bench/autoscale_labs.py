"""Benchmark: the autoscaling labs end to end on the local cluster's simulated pools.

    invoke cluster.up --sim-nodes gpu=0,train-cpu=0,train-mem=0
    python bench/autoscale_labs.py [--rounds 3] [--json out.json]

Installs metrics-server and cluster-autoscaler from the upstream chart archives in ``../shared/charts``
with the project's values (scan every 10 s, an idle node removed after 1 min), then, as the
administrator in a namespace of its own, runs each round:

* **06-gpu-autoscale**: the reference solution through ``lab.run`` (build, submit, follow, wait for
  the node's removal, grade). Reported: the pod's creation → the autoscaler's ``TriggeredScaleUp``
  → the pod scheduled on the new node → the Job complete → the node removed, and ``lab.run``'s
  whole time. The score must be full.
* **a CPU pod from zero**: one pending pod on the train-cpu pool, to show the autoscaler's 30 s
  buffer for GPU pods (none for CPU pods): creation → scheduled.
* **05-autoscale-grid**: the 24 Jobs of the reference solution through ``lab.run``: submission → all
  complete, how many nodes the pool grew to, the most experiments at once. Its added nodes are
  deleted afterwards so that every round starts from an empty pool.

A Job's pod "runs" on a simulated node for ``local.sim_job_seconds`` of workshop.yaml (20 s by
default), which the figures include. Medians over the rounds, and every round's, are printed as JSON.
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
sys.path.insert(0, str(REPO / "bench"))

from addons_real import releases_file  # noqa: E402

from kubedojo.addons import addons_environment  # noqa: E402
from kubedojo.client.registry import RegistryClient  # noqa: E402
from kubedojo.config import load_config  # noqa: E402
from kubedojo.labs import LabRunner, ResultStore  # noqa: E402
from kubedojo.labs.catalog import Catalog  # noqa: E402
from kubedojo.labs.images import RegistryDigests, lab_images  # noqa: E402
from kubedojo.labs.objects import parse_time  # noqa: E402
from kubedojo.labs.reader import VolumeReader  # noqa: E402
from kubedojo.local.provider import LocalCluster  # noqa: E402
from kubedojo.target import resolve_target  # noqa: E402

NAMESPACE = "kubedojo-bench-autoscale-labs"
CATALOG = Catalog(REPO)


def _event_time(kube: Any, pod: str, reason: str) -> float | None:
    for event in kube.list("Event", NAMESPACE):
        if event.get("reason") == reason and (event.get("involvedObject") or {}).get("name") == pod:
            when = parse_time(event.get("firstTimestamp") or event.get("eventTime"))
            return when.timestamp() if when else None
    return None


def gpu_lab(runner: LabRunner, kube: Any) -> dict[str, float]:
    lab = CATALOG.get("06-gpu-autoscale")
    started = time.monotonic()
    result = runner.run(lab, lab.solution_path, NAMESPACE, "bench", timeout=600)
    total = time.monotonic() - started
    if result.score != result.max_score:
        sys.exit(f"06-gpu-autoscale scored {result.score}/{result.max_score}: {result.checks}")
    (pod,) = [p for p in kube.pods(NAMESPACE) if p["metadata"]["name"].startswith("handson-06-scale-")]
    (job,) = kube.list("Job", NAMESPACE)
    created = parse_time(pod["metadata"]["creationTimestamp"]).timestamp()  # type: ignore[union-attr]
    scheduled = next(
        c["lastTransitionTime"] for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"
    )
    done = job["status"]["completionTime"]
    scale_up = _event_time(kube, pod["metadata"]["name"], "TriggeredScaleUp") or created
    figures = {
        "created_to_scale_up_s": scale_up - created,
        "created_to_scheduled_s": parse_time(scheduled).timestamp() - created,  # type: ignore[union-attr]
        "created_to_complete_s": parse_time(done).timestamp() - created,  # type: ignore[union-attr]
        "lab_run_total_s": total,
    }
    figures["complete_to_node_removed_s"] = total - figures["created_to_complete_s"]
    runner.reset(lab, NAMESPACE)
    return figures


def cpu_pod(kube: Any, image: str) -> float:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "wants-a-cpu-node"},
        "spec": {
            "nodeSelector": {"role": "train-cpu"},
            "tolerations": [{"key": "kubedojo.dev/simulated", "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [
                {
                    "name": "c",
                    "image": image,
                    "command": ["sleep", "600"],
                    "resources": {"requests": {"cpu": "1"}},
                }
            ],
        },
    }
    started = time.monotonic()
    kube.create(pod, NAMESPACE)
    placed = kube.wait_for(
        "the CPU pod on an added node",
        "Pod",
        lambda p: bool(p["spec"].get("nodeName")),
        300,
        NAMESPACE,
        name="wants-a-cpu-node",
    )
    seconds = time.monotonic() - started
    kube.delete("Pod", "wants-a-cpu-node", NAMESPACE, grace_seconds=0)
    kube.wait_deleted("Pod", "wants-a-cpu-node", NAMESPACE, 60)
    kube.delete("Node", placed["spec"]["nodeName"])
    return seconds


def grid_lab(runner: LabRunner, kube: Any) -> dict[str, float]:
    lab = CATALOG.get("05-autoscale-grid")
    started = time.monotonic()
    result = runner.run(lab, lab.solution_path, NAMESPACE, "bench", timeout=900)
    total = time.monotonic() - started
    if result.score != result.max_score:
        sys.exit(f"05-autoscale-grid scored {result.score}/{result.max_score}: {result.checks}")
    pods = kube.pods(NAMESPACE)
    nodes = {p["spec"]["nodeName"] for p in pods if p["spec"].get("nodeName", "").startswith("ca-train-cpu-")}
    peak = {c.id: c.found for c in result.checks}["side-by-side"]
    runner.reset(lab, NAMESPACE)
    for node in nodes:
        kube.delete("Node", node)
    for node in nodes:
        kube.wait_deleted("Node", node, None, 120)
    return {"lab_run_total_s": total, "nodes_added": float(len(nodes)), "peak": float(peak.split()[2])}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--charts", type=Path, default=REPO.parent / "shared" / "charts")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    config = load_config(REPO / "workshop.yaml")
    cluster = LocalCluster(config)
    cluster.require_running()
    cluster.ensure_addon_images()
    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = releases_file(Path(tmp), args.charts)
        with addons_environment(config, resolve_target(config, REPO), releases=str(path)) as addons:
            addons.install(["cluster-autoscaler"])
            kube = addons.kube
            kube.ensure_namespace(NAMESPACE)
            runner = LabRunner(
                kube,
                ResultStore(Path(tmp) / "results"),
                reader=VolumeReader(kube, cluster.image_ref("base")),
                images=lambda lab: cluster.ensure_context_images(lab_images(lab)) and None,
                digests=RegistryDigests(RegistryClient(cluster.layout.registry)),
            )
            try:
                for _ in range(args.rounds):
                    figures = {f"gpu_{k}": v for k, v in gpu_lab(runner, kube).items()}
                    figures["cpu_pod_created_to_scheduled_s"] = cpu_pod(kube, str(cluster.image_ref("base")))
                    figures.update({f"grid_{k}": v for k, v in grid_lab(runner, kube).items()})
                    rounds.append(figures)
                    print(json.dumps({k: round(v, 1) for k, v in figures.items()}), file=sys.stderr)
            finally:
                kube.delete("Namespace", NAMESPACE)
                kube.wait_deleted("Namespace", NAMESPACE, None, 120)
                addons.uninstall(["cluster-autoscaler", "metrics-server"])
    results = {
        "rounds": args.rounds,
        "sim_job_seconds": config.local.sim_job_seconds,
        "median": {k: round(statistics.median(r[k] for r in rounds), 1) for k in rounds[0]},
        "max": {k: round(max(r[k] for r in rounds), 1) for k in rounds[0]},
        "all": [{k: round(v, 1) for k, v in r.items()} for r in rounds],
    }
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
