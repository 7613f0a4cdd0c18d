"""Benchmark: the training operator and lab 11 (PyTorchJob) on the local cluster: time and memory.

1. **Install the training operator** (optional add-on; its upstream manifests from ``--manifests``,
   default ``../shared/manifests``): seconds to ready, its images built and pushed first (not timed).
2. **lab.run 11-pytorchjob** with the reference solution, ``--rounds`` times: seconds from the
   command to the graded result (the first round pulls the 5.6 GB PyTorch image into the node's
   containerd), and the memory of each pod (master, worker) and of the operator, sampled from the
   pods' memory cgroups every 0.2 s: the peak the kernel recorded (``memory.max_usage_in_bytes`` on
   cgroup v1, ``memory.peak`` on v2, page cache included: what a limit counts) and the largest resident
   set seen (``total_rss`` of ``memory.stat``; ``anon`` on v2).
3. The operator is uninstalled at the end (its CRDs stay, as always).

Needs the local cluster (``invoke cluster.up``); uses the namespace ``dojo-bench`` and removes it.

    python bench/training_labs.py [--rounds 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kubedojo.addons import addons_environment  # noqa: E402
from kubedojo.config import parse_config  # noqa: E402
from kubedojo.labs.environment import lab_environment  # noqa: E402
from kubedojo.local.images import PYTORCH_INIT_IMAGE, TRAINING_OPERATOR_IMAGE  # noqa: E402
from kubedojo.local.provider import LocalCluster  # noqa: E402
from kubedojo.target import resolve_target  # noqa: E402

NAMESPACE = "dojo-bench"
CGROUPS = Path("/sys/fs/cgroup")
MiB = 1024 * 1024


def _pod_cgroup(uid: str) -> Path | None:
    """The pod's memory cgroup directory (cgroup v1's memory hierarchy, or v2's unified one)."""
    names = {f"pod{uid}", f"pod{uid.replace('-', '_')}"}
    for root in (CGROUPS / "memory", CGROUPS):
        if not (root / "memory.stat").exists() and not (root / "cgroup.controllers").exists():
            continue
        for path in root.rglob("*pod*"):
            if path.name in names or any(path.name.endswith(f"-{n}.slice") for n in names):
                return path
    return None


def _read(path: Path) -> dict[str, int]:
    """Peak usage and resident memory now, in bytes, from a memory cgroup."""
    found: dict[str, int] = {}
    for name in ("memory.max_usage_in_bytes", "memory.peak"):
        if (path / name).exists():
            found["peak"] = int((path / name).read_text())
    for line in (path / "memory.stat").read_text().splitlines():
        key, _, value = line.partition(" ")
        if key in ("total_rss", "anon"):  # the cgroup and its children (v1), or v2's anonymous memory
            found["rss"] = int(value)
    return found


class Sampler:
    """Samples the memory of the pods of a namespace (and of named pods elsewhere) until stopped."""

    def __init__(self, kube: Any, namespaces: list[str]) -> None:
        self.kube = kube
        self.namespaces = namespaces
        self.peaks: dict[str, dict[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._paths: dict[str, Path | None] = {}

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            for namespace in self.namespaces:
                for pod in self.kube.pods(namespace):
                    uid, name = pod["metadata"]["uid"], pod["metadata"]["name"]
                    if self._paths.get(uid) is None:
                        self._paths[uid] = _pod_cgroup(uid)
                    path = self._paths[uid]
                    if path is None:
                        continue
                    try:
                        now = _read(path)
                    except (OSError, ValueError):
                        continue  # the pod ended and its cgroup went
                    seen = self.peaks.setdefault(name, {"peak": 0, "rss": 0})
                    for key, value in now.items():
                        seen[key] = max(seen[key], value)


def lab_rounds(
    env: Any, rounds: int, lab_id: str = "11-pytorchjob", namespace: str = NAMESPACE
) -> list[dict[str, Any]]:
    """``lab.run`` of the lab's reference solution ``rounds`` times: seconds, score and the memory of
    the namespace's pods and of the add-on's (``kubeflow``)."""
    lab = env.catalog.get(lab_id)
    found = []
    try:
        for number in range(1, rounds + 1):
            with Sampler(env.runner.client, [namespace, "kubeflow"]) as sampler:
                began = time.monotonic()
                graded = env.runner.run(lab, lab.solution_path, namespace, "bench")
                seconds = round(time.monotonic() - began, 1)
            memory = {
                name: {k: round(v / MiB) for k, v in seen.items()}
                for name, seen in sorted(sampler.peaks.items())
            }
            score = f"{graded.score}/{graded.max_score}"
            found.append({"lab_run_s": seconds, "score": score, "memory_mib": memory})
            print(f"round {number}: lab.run {seconds} s, {score}, MiB {memory}")
    finally:
        env.runner.reset(lab, namespace)
        env.runner.client.delete("Namespace", namespace)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--manifests", type=Path, default=REPO.parent / "shared" / "manifests")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    optional = {"charts": {"optional": ["training-operator"]}, "sources_dir": str(options.manifests)}
    config = parse_config(optional)
    cluster = LocalCluster(config)
    cluster.ensure_addon_images([TRAINING_OPERATOR_IMAGE.name, PYTORCH_INIT_IMAGE.name])
    target = resolve_target(config, REPO)
    report: dict[str, Any] = {}
    with addons_environment(config, target) as addons:
        started = time.monotonic()
        (result,) = addons.install(["training-operator"])
        report["operator_install_s"] = round(time.monotonic() - started, 1)
        report["operator_install"] = result.action
        print(f"training-operator {result.action} in {report['operator_install_s']} s")
        try:
            with lab_environment(config, REPO, target) as env:
                report["rounds"] = lab_rounds(env, options.rounds)
        finally:
            addons.uninstall(["training-operator"])
    if options.json:
        options.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
