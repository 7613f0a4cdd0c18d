"""Benchmark: how fast a lab answers.

1. **Verdict latency.** ``lab.run`` of lab 01's reference solution, side by side with
   ``kubectl wait --for=condition=complete`` on the same Job (started as soon as the Job exists).
   Reported: the time from ``kubectl wait`` returning to the graded result being available
   (target: at most 1 s; negative means kubedojo answered first).
2. **Grading a finished lab** (``lab.check``): for every lab, after its reference solution ran, the
   median time of grading again and the number of API requests it made (target: at most 0.3 s; a
   fixed, small number of requests per lab). Labs whose checks read files from a volume start a
   reader pod, which is reported separately.
3. **``invoke --list``** (a fresh process each time; target: under 1 s).

Needs the local cluster up (``invoke cluster.up``); uses the namespace ``dojo-bench`` and removes it.

    python bench/lab_speed.py [--rounds 5] [--labs 01-run-job,03-exception] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kubedojo.config import parse_config  # noqa: E402
from kubedojo.labs.environment import lab_environment  # noqa: E402
from kubedojo.local.provider import LocalCluster  # noqa: E402
from kubedojo.target import resolve_target  # noqa: E402

NAMESPACE = "dojo-bench"
TARGETS = {"verdict_after_kubectl_wait": 1.0, "grading": 0.3, "invoke_list": 1.0}


def manifest_for(lab: Any, tmp: Path) -> Path:
    """The reference solution; generated labs are rendered with their own scripts."""
    if lab.id == "more-5-parallel-grid":
        out = subprocess.run(
            [sys.executable, str(lab.handson_dir / "make_grid.py")],
            capture_output=True,
            text=True,
            check=True,
        )
        path = tmp / "grid.yaml"
        path.write_text(out.stdout)
        return path
    return Path(lab.solution_path)


def verdict_latency(env: Any, kubectl: Path, kubeconfig: Path, rounds: int, tmp: Path) -> list[float]:
    lab = env.catalog.get("01-run-job")
    gaps = []
    for _ in range(rounds):
        env.runner.reset(lab, NAMESPACE)
        done: dict[str, float] = {}

        def wait_with_kubectl(done: dict[str, float] = done) -> None:
            base = [str(kubectl), "--kubeconfig", str(kubeconfig), "-n", NAMESPACE]
            subprocess.run(
                [*base, "wait", "--for=create", "job/handson-01", "--timeout=300s"],
                capture_output=True,
                check=True,
            )
            subprocess.run(
                [*base, "wait", "--for=condition=complete", "job/handson-01", "--timeout=300s"],
                capture_output=True,
                check=True,
            )
            done["kubectl"] = time.monotonic()

        watcher = threading.Thread(target=wait_with_kubectl)
        watcher.start()
        result = env.runner.run(lab, lab.solution_path, NAMESPACE, "bench")
        done["kubedojo"] = time.monotonic()
        watcher.join(timeout=300)
        assert result.status == "passed", [(c.id, c.found) for c in result.checks]
        gaps.append(done["kubedojo"] - done["kubectl"])
    return gaps


def grading(env: Any, labs: list[str], rounds: int, tmp: Path) -> dict[str, dict[str, Any]]:
    out = {}
    for lab_id in labs:
        lab = env.catalog.get(lab_id)
        first = env.runner.run(lab, manifest_for(lab, tmp), NAMESPACE, "bench")
        times, requests = [], set()
        for _ in range(rounds):
            result = env.runner.check(lab, NAMESPACE, "bench")
            times.append(result.seconds)
            requests.add(result.requests)
        reader = any(c.check == "file_on_volume" for c in lab.checks)
        out[lab_id] = {
            "first_run_status": first.status,
            "median_s": statistics.median(times),
            "max_s": max(times),
            "requests": sorted(requests),
            "reader_pod": reader,
        }
        env.runner.reset(lab, NAMESPACE)
    return out


def invoke_list(rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "invoke", "--list"], cwd=REPO, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--labs", default="", help="comma-separated lab ids (default: all but 05-many-jobs)")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()

    config = parse_config({})
    cluster = LocalCluster(config)
    kubectl = cluster.layout.k8s_bin / "kubectl"
    report: dict[str, Any] = {}
    target = resolve_target(config, REPO)
    with tempfile.TemporaryDirectory() as tmp, lab_environment(config, REPO, target) as env:
        labs = (
            options.labs.split(",") if options.labs else [i for i in env.catalog.ids() if i != "05-many-jobs"]
        )
        try:
            report["verdict_after_kubectl_wait_s"] = verdict_latency(
                env, kubectl, cluster.kubeconfig_path, options.rounds, Path(tmp)
            )
            report["grading"] = grading(env, labs, options.rounds, Path(tmp))
        finally:
            env.runner.client.delete("Namespace", NAMESPACE)
    report["invoke_list_s"] = invoke_list(options.rounds)

    gaps = report["verdict_after_kubectl_wait_s"]
    median, worst = statistics.median(gaps), max(gaps)
    print(f"verdict after 'kubectl wait': median {median:+.2f} s, max {worst:+.2f} s (target <= 1 s)")
    print(f"{'lab':<26}{'median s':>10}{'max s':>8}{'requests':>10}  reader pod")
    for lab_id, row in report["grading"].items():
        requests = ",".join(map(str, row["requests"]))
        reader = "yes" if row["reader_pod"] else "no"
        print(f"{lab_id:<26}{row['median_s']:>10.3f}{row['max_s']:>8.3f}{requests:>10}  {reader}")
    lists = report["invoke_list_s"]
    print(f"invoke --list: median {statistics.median(lists):.2f} s, max {max(lists):.2f} s (target < 1 s)")
    if options.json:
        options.json.write_text(json.dumps(report, indent=2) + "\n")
    slow = [
        r for r in report["grading"].values() if not r["reader_pod"] and r["median_s"] > TARGETS["grading"]
    ]
    return 1 if statistics.median(gaps) > 1.0 or slow or statistics.median(lists) >= 1.0 else 0


if __name__ == "__main__":
    sys.exit(main())
