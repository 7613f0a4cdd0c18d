"""Benchmark: what kubedojo adds to an on-prem run, and how long preflight takes.

1. **Event folding** (no root needed). A kubespray-sized stream of ansible-runner events (task starts
   and per-host results for ``--hosts`` hosts and ``--tasks`` tasks, with some ignored failures) is
   fed to :class:`PlaybookProgress` while a reader takes snapshots as the live display does.
   Reported: microseconds per event (target: at most 50 µs, so the handler never holds Ansible back:
   kubespray emits at most a few hundred events a second).
2. **Preflight wall time** on 1, 3 and 6 test hosts (systemd containers reached over real SSH; needs
   root, runc and the test-host image, built on first use). Target: at most 30 s for a workshop-sized
   site, so it can precede every ``cluster.up``.
3. **Driver overhead**: the stand-in kubespray tree's cluster.yml on 3 hosts through kubedojo
   (ansible-runner, events, recap, summary) against the same playbook through plain
   ``ansible-playbook`` with the same inventory.

    python bench/onprem.py [--rounds 3] [--hosts 5] [--tasks 1500] [--no-hosts] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
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

import yaml  # noqa: E402

from kubedojo.config import parse_config  # noqa: E402
from kubedojo.onprem.cluster import OnpremCluster  # noqa: E402
from kubedojo.onprem.events import PlaybookProgress  # noqa: E402
from kubedojo.paths import CacheDirs  # noqa: E402

TARGETS = {"event_us": 50.0, "preflight_s": 30.0}
STANDIN = REPO / "tests" / "hosts" / "standin_kubespray"


def synthetic_events(hosts: int, tasks: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [{"event": "playbook_on_play_start", "event_data": {"play": "Install"}}]
    for t in range(tasks):
        name = f"task {t}"
        events.append(
            {"event": "playbook_on_task_start", "event_data": {"task": name, "role": "kubernetes/node"}}
        )
        for h in range(hosts):
            kind = "runner_on_ok" if (t + h) % 7 else "runner_on_skipped"
            data: dict[str, Any] = {
                "host": f"node{h}",
                "task": name,
                "role": "kubernetes/node",
                "res": {"changed": t % 3 == 0},
            }
            if t % 97 == 0:
                kind, data = "runner_on_failed", {**data, "ignore_errors": True, "res": {"msg": "optional"}}
            events.append({"event": kind, "event_data": data})
    events.append(
        {"event": "playbook_on_stats", "event_data": {"ok": {f"node{h}": tasks for h in range(hosts)}}}
    )
    return events


def event_folding(hosts: int, tasks: int, rounds: int) -> dict[str, Any]:
    events = synthetic_events(hosts, tasks)
    per_event = []
    for _ in range(rounds):
        progress = PlaybookProgress("cluster.yml")
        stop = threading.Event()

        def display(progress: PlaybookProgress = progress, stop: threading.Event = stop) -> None:
            while not stop.wait(0.25):  # as rich's Live refreshes, 4 times a second
                progress.snapshot()

        reader = threading.Thread(target=display)
        reader.start()
        started = time.perf_counter()
        for event in events:
            progress.feed(event)
        elapsed = time.perf_counter() - started
        stop.set()
        reader.join()
        assert progress.snapshot().failures == ()
        per_event.append(elapsed / len(events) * 1e6)
    return {"events": len(events), "us_per_event": round(statistics.median(per_event), 2)}


def _site(directory: Path, hosts: Any, names: list[str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    nodes = [
        {
            "name": n,
            "address": hosts.hosts[n].address,
            **({"roles": ["control-plane", "etcd", "worker"]} if i == 0 else {}),
        }
        for i, n in enumerate(names)
    ]
    (directory / "site.yaml").write_text(
        yaml.safe_dump(
            {"ssh": {"user": "kdadmin", "key": str(hosts.key.private), "connect_timeout": 3}, "nodes": nodes}
        )
    )
    return directory


def host_measurements(rounds: int) -> dict[str, Any]:
    from tests.hosts.testhosts import HostSpec, TestHosts

    names = [f"h{i}" for i in range(1, 7)]
    config = parse_config({"onprem": {"kubespray_checkout": str(STANDIN)}})
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kubedojo-bench-onprem-") as tmp:
        hosts = TestHosts(
            CacheDirs.under(config.cache_root), Path(tmp) / "hosts", [HostSpec(n) for n in names]
        )
        started = time.monotonic()
        with hosts.running():
            results["hosts_start_s"] = round(time.monotonic() - started, 2)
            for count in (1, 3, 6):
                site = OnpremCluster(_site(Path(tmp) / f"site{count}", hosts, names[:count]), config, REPO)
                times = []
                for _ in range(rounds):
                    t = time.monotonic()
                    report = site.preflight()
                    times.append(time.monotonic() - t)
                    assert report.ok, report.summary()
                results[f"preflight_{count}_hosts_s"] = round(statistics.median(times), 2)
            site = OnpremCluster(_site(Path(tmp) / "site3", hosts, names[:3]), config, REPO)
            tree = site.kubespray()
            ours, plain = [], []
            for _ in range(rounds):
                t = time.monotonic()
                site.runner.run("up", tree.path, "cluster.yml", timeout=600)
                ours.append(time.monotonic() - t)
                t = time.monotonic()
                subprocess.run(
                    [
                        str(Path(sys.executable).parent / "ansible-playbook"),
                        "-b",
                        "-i",
                        str(site.inventory.hosts_file),
                        "cluster.yml",
                    ],
                    cwd=tree.path,
                    check=True,
                    capture_output=True,
                    env={
                        **os.environ,
                        **site.runner.environment(),
                        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
                    },
                )
                plain.append(time.monotonic() - t)
            site.runner.close_connections()
            results["standin_cluster_yml_kubedojo_s"] = round(statistics.median(ours), 2)
            results["standin_cluster_yml_ansible_playbook_s"] = round(statistics.median(plain), 2)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hosts", type=int, default=5)
    parser.add_argument("--tasks", type=int, default=1500)
    parser.add_argument(
        "--no-hosts", action="store_true", help="only the event-folding part (no root needed)"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results: dict[str, Any] = {
        "targets": TARGETS,
        "event_folding": event_folding(args.hosts, args.tasks, args.rounds),
    }
    if not args.no_hosts:
        results["hosts"] = host_measurements(args.rounds)
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
