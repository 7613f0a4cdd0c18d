"""Benchmark: JupyterHub on the local cluster, a class's notebook servers and lab 10: time and memory.

1. **Install JupyterHub** (optional add-on; the chart from ``../shared/charts``, as the cluster tests
   install it) with a class of ``--participants`` set up before: seconds to ready (its three images
   built and pushed first, not timed).
2. **Servers**: each participant logs in and starts their server, one after another (the first pulls
   the notebook image into the node's containerd): seconds from the request to ready, as the hub
   reports it; the memory of the hub, the proxy and each idle server, sampled from the pods' memory
   cgroups (the training operator benchmark's sampler: the kernel's recorded peak, page cache
   included, and the largest resident set seen).
3. **Lab 10** by the first participant in a headless chromium (``tests/cluster/hub.py``: log in, the
   reference notebook into the home, every cell run, saved): seconds of that work, seconds of
   ``lab.check`` (its grader pod on the claim) and the score; the server's memory while the
   notebook trains, and the grader pod's.
4. Servers stopped, JupyterHub uninstalled, the class torn down.

Needs the local cluster (``invoke cluster.up``) and chromium (``scripts/setup``); uses the
namespaces ``dojo-benchjh-<n>`` and removes them.

    python bench/jupyterhub_addon.py [--participants 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.training_labs import MiB, Sampler  # noqa: E402
from kubedojo.addons import addons_environment  # noqa: E402
from kubedojo.addons.releases import load_releases  # noqa: E402
from kubedojo.classroom import Classroom, Participant  # noqa: E402
from kubedojo.config import parse_config  # noqa: E402
from kubedojo.labs.environment import lab_environment  # noqa: E402
from kubedojo.local.images import CHP_IMAGE, JUPYTERHUB_HUB_IMAGE, JUPYTERHUB_SINGLEUSER_IMAGE  # noqa: E402
from kubedojo.local.provider import LocalCluster  # noqa: E402
from kubedojo.target import resolve_target  # noqa: E402
from tests.cluster.browser import Browser  # noqa: E402
from tests.cluster.hub import hub_login, lab_notebook, start_server, stop_server, work_in_jupyterhub  # noqa: E402
from tests.cluster.realcharts import shipped_releases  # noqa: E402

PREFIX = "dojo-benchjh-"
HUB_NAMESPACE = "jupyterhub"


def _mib(sampler: Sampler) -> dict[str, dict[str, int]]:
    return {
        name: {k: round(v / MiB) for k, v in seen.items()} for name, seen in sorted(sampler.peaks.items())
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=3)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    config = parse_config({"charts": {"optional": ["jupyterhub"]}})
    cluster = LocalCluster(config)
    cluster.ensure_addon_images([JUPYTERHUB_HUB_IMAGE.name, CHP_IMAGE.name, JUPYTERHUB_SINGLEUSER_IMAGE.name])
    cluster.build_images()
    target = resolve_target(config, REPO)
    kube = cluster.admin_client()
    work = Path(tempfile.mkdtemp(prefix="kubedojo-bench-jh-"))
    names = [f"p{n}" for n in range(1, options.participants + 1)]
    room = Classroom(
        kube,
        config.classroom,
        cluster.kubeconfig_path,
        work / "class",
        PREFIX,
        "benchjh",
        addons=load_releases(REPO / "charts" / "releases.yaml").releases,
        jupyter_namespace=HUB_NAMESPACE,
    )
    passwords = {
        n: Path(p).read_text().strip()
        for n, p in room.setup([Participant(n) for n in names], "bench").jupyter_passwords.items()
    }
    releases = shipped_releases(["jupyterhub"], work)
    report: dict[str, Any] = {"participants": options.participants}
    namespaces = [HUB_NAMESPACE, *(room.namespace(n) for n in names)]
    with addons_environment(config, target, releases=str(releases)) as addons:
        began = time.monotonic()
        (result,) = addons.install(["jupyterhub"])
        report["install_s"] = round(time.monotonic() - began, 1)
        print(f"jupyterhub {result.action} in {report['install_s']} s")
        sessions = []
        try:
            with Sampler(kube, namespaces) as idle:
                spawns = []
                for name in names:
                    _, _, session = hub_login(name, passwords[name])
                    began = time.monotonic()
                    start_server(session)
                    spawns.append(round(time.monotonic() - began, 1))
                    sessions.append(session)
                    print(f"{name}'s server ready in {spawns[-1]} s")
                time.sleep(10)  # the servers idle
            report["spawn_s"] = spawns
            report["idle_mib"] = _mib(idle)
            print(f"idle MiB: {report['idle_mib']}")

            first = names[0]
            with lab_environment(config, REPO, target) as env:
                lab = env.catalog.get("10-jupyterhub")
                env.runner.start(lab, room.namespace(first), first)
                with Sampler(kube, [room.namespace(first)]) as busy:
                    began = time.monotonic()
                    with Browser(work / "browser") as browser:
                        work_in_jupyterhub(browser, first, passwords[first], lab_notebook())
                    report["lab10_work_s"] = round(time.monotonic() - began, 1)
                with Sampler(kube, [room.namespace(first)]) as grading:
                    began = time.monotonic()
                    checked = env.runner.check(lab, room.namespace(first), first)
                    report["lab10_check_s"] = round(time.monotonic() - began, 1)
                report["lab10_score"] = f"{checked.score}/{checked.max_score}"
                report["lab10_mib"] = _mib(busy)
                report["lab10_grader_mib"] = {
                    n: m for n, m in _mib(grading).items() if n.startswith("kubedojo-reader")
                }
            print(
                f"lab 10: work {report['lab10_work_s']} s, lab.check {report['lab10_check_s']} s, "
                f"{report['lab10_score']}, MiB {report['lab10_mib']}, grader MiB {report['lab10_grader_mib']}"
            )
        finally:
            for session in sessions:
                stop_server(session)
            began = time.monotonic()
            (removed,) = addons.uninstall(["jupyterhub"])
            report["uninstall_s"] = round(time.monotonic() - began, 1)
            print(f"jupyterhub {removed.action} in {report['uninstall_s']} s")
            room.teardown(timeout=180)
    if options.json:
        options.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
