"""Benchmark: warm ``invoke cluster.up`` to a Ready node, and ``invoke cluster.down``.

Method: the real commands, run as a user runs them (a fresh ``invoke`` process each time, so Python
start-up and imports count), against a cluster with a state directory of its own. "Warm" means the
binaries and images are already in the cache and the state directory exists from an earlier run, as
on a workshop day after the first ``cluster.up``. ``up`` returns only when the node is Ready (a
heartbeat from this kubelet) and the cluster DNS answers. Each round is down → up; the first up
(which may create the state) is not counted.

``--cold`` additionally times a cold build of every binary and image into an empty cache (slow: about
ten minutes on 2 cores) and reports each part.

    python bench/cluster_lifecycle.py [--rounds 5] [--cold] [--json out.json]

Targets (issue 2): warm up <= 30 s, down <= 10 s. Exits 1 if a median misses its target.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"up": 30.0, "down": 10.0}


def run(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=REPO,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def lifecycle(rounds: int, env: dict[str, str]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"up": [], "down": []}
    run(["cluster.up"], env)
    for _ in range(rounds):
        times["down"].append(run(["cluster.down"], env))
        times["up"].append(run(["cluster.up"], env))
    run(["cluster.down", "--purge"], env)
    return times


def cold_build(env: dict[str, str]) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="kubedojo-cold-") as cache:
        cold_env = {**env, "KUBEDOJO_CACHE": cache}
        out = subprocess.run(
            [sys.executable, "-m", "invoke", "cluster.build"],
            cwd=REPO,
            env=cold_env,
            check=True,
            capture_output=True,
            text=True,
        )
        parts = {}
        for line in out.stderr.splitlines():
            # "✓ Building kubernetes v1.35.4 from Go modules (271.9 s)"
            if line.startswith("✓ ") and line.rstrip().endswith(" s)"):
                title, _, seconds = line[2:].rpartition(" (")
                parts[title] = float(seconds.removesuffix(" s)"))
        return parts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workshop = Path(tmp) / "workshop.yaml"
        workshop.write_text("local:\n  state_dir: /var/lib/kubedojo/bench\n")
        env = {**os.environ, "KUBEDOJO_WORKSHOP": str(workshop), "COLUMNS": "200"}
        times = lifecycle(options.rounds, env)
        cold = cold_build(env) if options.cold else {}

    failed = False
    print(f"{'command':<14}{'median s':>10}{'max s':>10}{'target s':>10}")
    for name, values in times.items():
        median = statistics.median(values)
        failed |= median > TARGETS[name]
        print(f"cluster.{name:<6}{median:>10.2f}{max(values):>10.2f}{TARGETS[name]:>10.0f}")
    for part, seconds in cold.items():
        print(f"cold: {part}: {seconds:.1f} s")
    if options.json:
        result = {"rounds": options.rounds, "seconds": times, "cold_build": cold}
        options.json.write_text(json.dumps(result, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
