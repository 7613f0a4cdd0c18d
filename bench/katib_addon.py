"""Benchmark: Katib on the local cluster: install, one Experiment, uninstall; time and memory.

1. **Install Katib** (optional add-on; its upstream manifests from ``--manifests``, default
   ``../shared/manifests``): seconds to ready (its images built and pushed first, not timed).
2. **An Experiment** in a namespace labelled for Katib's collector: random search over two parameters,
   ``--trials`` trials, two at a time, each a batch Job of the lab base image that works ``--work``
   seconds and prints its objective (the collector reads it). Seconds from the apply to the
   Experiment's ``Succeeded``, and each trial's seconds from creation to completion; the memory of
   Katib's pods (controller, database manager, MariaDB) and of the experiment's suggestion service,
   sampled from their memory cgroups (the training operator benchmark's sampler).
3. **Lab 12** (``--lab-rounds``, default 2): ``lab.run`` of its reference solution (four trials of
   ``train_trial.py``, two at a time): seconds, score, and the memory of every pod of the namespace
   (trials, suggestion service) and of Katib's.
4. **Uninstall** with the Experiment still there (kubedojo deletes it first, while the controller
   runs): seconds.

Needs the local cluster (``invoke cluster.up``); uses the namespaces ``dojo-bench-katib`` and
``dojo-bench-lab12`` and removes them.

    python bench/katib_addon.py [--trials 6] [--work 5] [--lab-rounds 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.training_labs import MiB, Sampler, lab_rounds  # noqa: E402
from kubedojo.addons import addons_environment  # noqa: E402
from kubedojo.client.kubeapi import condition_true  # noqa: E402
from kubedojo.config import parse_config  # noqa: E402
from kubedojo.labs.environment import lab_environment  # noqa: E402
from kubedojo.labs.objects import parse_time  # noqa: E402
from kubedojo.local.images import ADDON_IMAGES, BASE  # noqa: E402
from kubedojo.local.provider import LocalCluster  # noqa: E402
from kubedojo.target import resolve_target  # noqa: E402

NAMESPACE = "dojo-bench-katib"
KATIB = "kubeflow.org/v1beta1"


def experiment(image: str, trials: int, work: float) -> dict[str, Any]:
    score = (
        f"sleep {work:g}; python3 -c 'import sys; lr, depth = float(sys.argv[1]), int(sys.argv[2]);"
        ' print("accuracy=%.4f" % (0.9 + lr - depth / 100))\' ${trialParameters.lr} ${trialParameters.depth}'
    )
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "training", "image": image, "command": ["sh", "-c", score]}],
                }
            }
        },
    }
    return {
        "apiVersion": KATIB,
        "kind": "Experiment",
        "metadata": {"name": "bench"},
        "spec": {
            "objective": {"type": "maximize", "goal": 0.999, "objectiveMetricName": "accuracy"},
            "algorithm": {"algorithmName": "random"},
            "parallelTrialCount": 2,
            "maxTrialCount": trials,
            "maxFailedTrialCount": 1,
            "parameters": [
                {"name": "lr", "parameterType": "double", "feasibleSpace": {"min": "0.01", "max": "0.09"}},
                {"name": "depth", "parameterType": "int", "feasibleSpace": {"min": "1", "max": "5"}},
            ],
            "trialTemplate": {
                "primaryContainerName": "training",
                "retain": True,
                "trialParameters": [
                    {"name": "lr", "reference": "lr"},
                    {"name": "depth", "reference": "depth"},
                ],
                "trialSpec": job,
            },
        },
    }


def _seconds(start: str | None, end: str | None) -> float | None:
    began, ended = parse_time(start), parse_time(end)
    return None if began is None or ended is None else (ended - began).total_seconds()


def run_experiment(cluster: LocalCluster, trials: int, work: float) -> dict[str, Any]:
    kube = cluster.admin_client()
    labels = {"katib.kubeflow.org/metrics-collector-injection": "enabled"}
    kube.apply_one(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE, "labels": labels}}
    )
    with Sampler(kube, [NAMESPACE, "kubeflow"]) as sampler:
        began = time.monotonic()
        kube.apply_one(experiment(BASE.ref(cluster.registry), trials, work), NAMESPACE)
        done = kube.wait_for(
            "Experiment bench to end",
            "Experiment",
            lambda o: condition_true(o, "Succeeded") or condition_true(o, "Failed"),
            60 + trials * (work + 60),
            NAMESPACE,
            name="bench",
            api_version=KATIB,
        )
        seconds = round(time.monotonic() - began, 1)
    took = [
        _seconds(t["metadata"].get("creationTimestamp"), t["status"].get("completionTime"))
        for t in kube.list("Trial", NAMESPACE, api_version=KATIB)
    ]
    memory = {
        name: {k: round(v / MiB) for k, v in seen.items()} for name, seen in sorted(sampler.peaks.items())
    }
    found = {
        "succeeded": condition_true(done, "Succeeded"),
        "experiment_s": seconds,
        "trial_s": sorted(round(t, 1) for t in took if t is not None),
        "memory_mib": {n: m for n, m in memory.items() if not n.startswith("bench-") or "random" in n},
    }
    print(
        f"experiment of {trials} trials: {seconds} s, trials {found['trial_s']} s, MiB {found['memory_mib']}"
    )
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--work", type=float, default=5.0, help="seconds each trial works")
    parser.add_argument("--lab-rounds", type=int, default=2, help="lab.run rounds of lab 12's solution")
    parser.add_argument("--manifests", type=Path, default=REPO.parent / "shared" / "manifests")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    config = parse_config({"charts": {"optional": ["katib"]}, "sources_dir": str(options.manifests)})
    cluster = LocalCluster(config)
    cluster.ensure_addon_images([i.name for i in ADDON_IMAGES if i.name.startswith("katib")])
    cluster.build_images()
    target = resolve_target(config, REPO)
    report: dict[str, Any] = {}
    with addons_environment(config, target) as addons:
        started = time.monotonic()
        (result,) = addons.install(["katib"])
        report["install_s"] = round(time.monotonic() - started, 1)
        print(f"katib {result.action} in {report['install_s']} s")
        try:
            report["experiment"] = run_experiment(cluster, options.trials, options.work)
            if options.lab_rounds:
                with lab_environment(config, REPO, target) as env:
                    report["lab_12"] = lab_rounds(env, options.lab_rounds, "12-katib", "dojo-bench-lab12")
        finally:
            started = time.monotonic()
            (removed,) = addons.uninstall(["katib"])
            report["uninstall_s"] = round(time.monotonic() - started, 1)
            print(f"katib {removed.action} in {report['uninstall_s']} s ({removed.detail or 'nothing left'})")
            cluster.admin_client().delete("Namespace", NAMESPACE)
    if options.json:
        options.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
