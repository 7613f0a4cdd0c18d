"""Benchmark: the workflow labs' speed.

1. **Verdict latency.** ``lab.run`` of lab 08's reference solution (two Workflows, ten pods), side by
   side with ``kubectl wait --for=jsonpath={.status.phase}=Succeeded`` on both Workflows (started as
   soon as they exist). Reported: the time from ``kubectl wait`` returning to the graded result
   being available (target: at most 1 s; negative means kubedojo answered first).
2. **Grading a class.** Method: the last round's two Workflows and ten pods, as Argo's controller and
   the kubelet left them, are copied into N participants' namespaces (default 200): the Workflows
   with their status (the administrator may write it: Argo's resource has no status subresource),
   the pods bound to a node object with no kubelet (``bench-ghost``, unschedulable), their status
   written through the pods' status subresource as the kubelet wrote it. This 2-core machine cannot
   run 2,000 Argo pods; what ``class.grade`` reads is what 200 real runs would leave. Then
   ``grade_class`` grades everyone for lab 08, ``--rounds`` times: the seconds and API requests per
   grading, and how many results passed (all should: the copies are real runs' objects).

Needs the local cluster with Argo Workflows (``invoke cluster.up``, then ``invoke charts.install
argo-workflows``); uses the namespaces ``dojo-bench`` and ``wfbench-*`` and removes them.

    python bench/workflow_labs.py [--rounds 3] [--participants 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kubedojo.classroom import grade_class  # noqa: E402
from kubedojo.config import parse_config  # noqa: E402
from kubedojo.labs.environment import lab_environment  # noqa: E402
from kubedojo.labs.records import ResultStore  # noqa: E402
from kubedojo.labs.session import record_start  # noqa: E402
from kubedojo.labs.workflowaccess import workflow_access_objects  # noqa: E402
from kubedojo.local.provider import LocalCluster  # noqa: E402
from kubedojo.target import resolve_target  # noqa: E402

NAMESPACE = "dojo-bench"
PREFIX = "wfbench-"
GHOST = "bench-ghost"
WORKFLOWS = ("diamond-08", "dag2-08")


def verdict_latency(env: Any, kubectl: Path, kubeconfig: Path, rounds: int) -> list[float]:
    lab = env.catalog.get("08-dag")
    gaps = []
    env.runner.start(lab, NAMESPACE, "bench")  # the namespace, for kubectl to wait in
    for _ in range(rounds):
        env.runner.reset(lab, NAMESPACE)
        done: dict[str, float] = {}

        def wait_with_kubectl(done: dict[str, float] = done) -> None:
            base = [str(kubectl), "--kubeconfig", str(kubeconfig), "-n", NAMESPACE]
            for name in WORKFLOWS:  # one at a time: kubectl wait --for=create takes one name
                for condition in ("--for=create", "--for=jsonpath={.status.phase}=Succeeded"):
                    answer = subprocess.run(
                        [*base, "wait", condition, f"workflow/{name}", "--timeout=300s"],
                        capture_output=True,
                        text=True,
                    )
                    if answer.returncode != 0:
                        raise RuntimeError(
                            f"kubectl wait {condition} workflow/{name}: {answer.stderr.strip()}"
                        )
            done["kubectl"] = time.monotonic()

        watcher = threading.Thread(target=wait_with_kubectl)
        watcher.start()
        result = env.runner.run(lab, lab.solution_path, NAMESPACE, "bench")
        done["kubedojo"] = time.monotonic()
        watcher.join(timeout=300)
        assert result.status == "passed", [(c.id, c.found) for c in result.checks]
        gaps.append(round(done["kubedojo"] - done["kubectl"], 3))
        print(f"verdict after kubectl wait: {gaps[-1]:+.3f} s")
    return gaps


def _clean(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    meta = out["metadata"]
    for key in ("uid", "resourceVersion", "creationTimestamp", "managedFields", "generation", "selfLink"):
        meta.pop(key, None)
    meta["namespace"] = namespace
    return out


def copy_run(
    api: k8s.ApiClient, admin: Any, workflows: list[dict[str, Any]], pods: list[dict[str, Any]], ns: str
) -> int:
    """The run's Workflows (with status) and pods (status written as the kubelet's) in ``ns``."""
    core = k8s.CoreV1Api(api)
    custom = k8s.CustomObjectsApi(api)
    uids = {}
    for workflow in workflows:
        made = custom.create_namespaced_custom_object(
            "argoproj.io", "v1alpha1", ns, "workflows", _clean(workflow, ns)
        )
        uids[workflow["metadata"]["uid"]] = made["metadata"]["uid"]
    for pod in pods:
        body = _clean(pod, ns)
        body["spec"]["nodeName"] = GHOST
        body["spec"].pop("volumes", None)  # the service account token's projection: nothing mounts here
        for container in [*body["spec"].get("initContainers", []), *body["spec"]["containers"]]:
            container.pop("volumeMounts", None)
        for ref in body["metadata"].get("ownerReferences") or []:
            ref["uid"] = uids.get(ref["uid"], ref["uid"])
        status = body.pop("status")
        core.create_namespaced_pod(ns, body)
        core.patch_namespaced_pod_status(body["metadata"]["name"], ns, {"status": status})
    return len(workflows) + len(pods)


def class_grading(env: Any, cluster: LocalCluster, participants: int, rounds: int) -> dict[str, Any]:
    admin = env.runner.client
    lab = env.catalog.get("08-dag")
    workflows = [admin.get("Workflow", w, NAMESPACE) for w in WORKFLOWS]
    uids = {w["metadata"]["uid"] for w in workflows}
    pods = [
        p
        for p in admin.pods(NAMESPACE)
        if any(r.get("uid") in uids for r in p["metadata"].get("ownerReferences") or [])
    ]
    k8s_config.load_kube_config(str(cluster.kubeconfig_path))
    api = k8s.ApiClient()
    admin.apply(
        [
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": GHOST, "labels": {"kubedojo.dev/bench": "true"}},
                "spec": {"unschedulable": True},
            }
        ]
    )
    names = {f"p{i:03d}": f"{PREFIX}{i:03d}" for i in range(participants)}
    report: dict[str, Any] = {
        "participants": participants,
        "objects_per_participant": len(workflows) + len(pods),
    }
    try:
        started = time.monotonic()

        def prepare(namespace: str) -> int:
            admin.ensure_namespace(namespace)
            admin.apply(workflow_access_objects(namespace, {}))  # as class.setup makes it
            record_start(admin, namespace, lab.id)
            return copy_run(api, admin, workflows, pods, namespace)

        with ThreadPoolExecutor(max_workers=16) as pool:
            report["objects"] = sum(pool.map(prepare, names.values()))
        report["prepare_s"] = round(time.monotonic() - started, 1)
        print(f"copied {report['objects']} objects into {participants} namespaces in {report['prepare_s']} s")
        seconds, requests = [], []
        with tempfile.TemporaryDirectory() as results:
            for _ in range(rounds):
                grades = grade_class(
                    admin,
                    [lab],
                    names,
                    ResultStore(Path(results)),
                    env.runner.reader,
                    digests=env.runner.digests,
                )
                passed = sum(r.status == "passed" for r in grades.results)
                seconds.append(round(grades.seconds, 2))
                requests.append(grades.requests)
                report["passed"] = passed
                print(
                    f"class.grade: {grades.seconds:.2f} s, {grades.requests} API requests,"
                    f" {passed}/{len(grades.results)} passed"
                )
        report["grade_s"], report["grade_requests"] = seconds, requests
    finally:
        for namespace in names.values():
            admin.delete("Namespace", namespace)
        for namespace in names.values():
            admin.wait_deleted("Namespace", namespace, None, 600)
        admin.delete("Node", GHOST)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    config = parse_config({})
    cluster = LocalCluster(config)
    kubectl = cluster.layout.k8s_bin / "kubectl"
    target = resolve_target(config, REPO)
    report: dict[str, Any] = {}
    with lab_environment(config, REPO, target) as env:
        try:
            gaps = verdict_latency(env, kubectl, cluster.kubeconfig_path, options.rounds)
            report["verdict_after_kubectl_wait_s"] = gaps
            report["class"] = class_grading(env, cluster, options.participants, options.rounds)
        finally:
            env.runner.reset(env.catalog.get("08-dag"), NAMESPACE)
            env.runner.client.delete("Namespace", NAMESPACE)
    median_gap = statistics.median(report["verdict_after_kubectl_wait_s"])
    median_grade = statistics.median(report["class"]["grade_s"])
    print(f"median verdict after kubectl wait: {median_gap:+.3f} s (target <= 1 s)")
    print(f"median class.grade of {options.participants}: {median_grade:.2f} s (target <= 1 s)")
    if options.json:
        options.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0 if median_gap <= 1 and median_grade <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
