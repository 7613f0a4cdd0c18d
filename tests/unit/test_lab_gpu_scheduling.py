"""Labs 06-gpu and 06-gpu-autoscale graded on hand-written object states: where pods may go
(tolerations, node selection), where they went, the autoscaler's evidence, and what a run on a
simulated node earns (the scheduling and kwok's ending count; what the program saw is not applicable)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubedojo.client.fake import FakeKube
from kubedojo.errors import ConfigError
from kubedojo.labs.catalog import Catalog
from kubedojo.labs.evaluators.scheduling import requires_label, tolerates
from kubedojo.labs.grading import GradingContext, grade
from kubedojo.labs.integrity import LabImages
from kubedojo.labs.quota import check_extended_quota, extended_needs
from kubedojo.labs.snapshot import ClusterSnapshot

PROJECT = Path(__file__).resolve().parents[2]
START = datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC)
DIGEST = "ab" * 32
IMAGES = LabImages({"lab-06-gpu": frozenset({DIGEST})})
TAINT = "nvidia.com/gpu=present:NoSchedule"


def ts(seconds: int) -> str:
    return (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def solution(lab: str) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all((PROJECT / "labs" / lab / "solution.yaml").read_text()))


def live(obj: dict[str, Any], uid: str, created: int = 1, final: str | None = "Complete") -> dict[str, Any]:
    job = copy.deepcopy(obj)
    job["metadata"].update(uid=uid, creationTimestamp=ts(created))
    job["status"] = {
        "conditions": [{"type": final, "status": "True", "lastTransitionTime": ts(60)}] if final else []
    }
    return job


def pod_of(job: dict[str, Any], node: str | None, image_id: str = "", log: str = "") -> dict[str, Any]:
    name = f"{job['metadata']['name']}-abcde"
    spec = copy.deepcopy(job["spec"]["template"]["spec"])
    if node:
        spec["nodeName"] = node
    message = json.dumps({"log": log, "files": []}) if log else ""
    return {
        "kind": "Pod",
        "metadata": {
            "name": name,
            "uid": f"pod-{job['metadata']['uid']}",
            "creationTimestamp": ts(2),
            "labels": {"batch.kubernetes.io/job-name": job["metadata"]["name"]},
            "ownerReferences": [{"kind": "Job", "uid": job["metadata"]["uid"], "controller": True}],
        },
        "spec": spec,
        "status": {
            "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": ts(31)}]
            if node
            else [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}],
            "containerStatuses": [
                {
                    "name": "train",
                    "imageID": image_id,
                    "state": {
                        "terminated": {
                            "reason": "Completed",
                            "exitCode": 0,
                            "startedAt": ts(32),
                            "finishedAt": ts(52),
                            "message": message,
                        }
                    },
                }
            ]
            if node
            else [],
        },
    }


def node(name: str, simulated: bool, role: str = "train-gpu", gpus: str = "1") -> dict[str, Any]:
    labels = {"role": role, **({"type": "kwok"} if simulated else {})}
    return {
        "kind": "Node",
        "metadata": {"name": name, "labels": labels},
        "status": {"allocatable": {"nvidia.com/gpu": gpus}},
    }


def event(pod: dict[str, Any], reason: str, message: str, at: int) -> dict[str, Any]:
    involved = {"kind": "Pod", "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}
    return {"reason": reason, "message": message, "involvedObject": involved, "firstTimestamp": ts(at)}


def graded(lab: str, objects: dict[str, list[dict[str, Any]]], images: LabImages | None = IMAGES) -> Any:
    snapshot = ClusterSnapshot("ns", START + timedelta(minutes=5), objects)
    ctx = GradingContext(Catalog(PROJECT).get(lab), snapshot, START, images=images)
    result = grade(ctx, "me")
    return result, {c.id: c for c in result.checks}


def gpu_run(node_obj: dict[str, Any], image_id: str = "", log: str = "") -> dict[str, list[dict[str, Any]]]:
    train, greedy = solution("06-gpu")
    job, waiting = live(train, "j1"), live(greedy, "j2", final=None)
    pod, pending = pod_of(job, node_obj["metadata"]["name"], image_id, log), pod_of(waiting, None)
    scheduler = "0/2 nodes are available: 1 Insufficient nvidia.com/gpu, 1 node(s) didn't match"
    return {
        "Job": [job, waiting],
        "Pod": [pod, pending],
        "Node": [node_obj, node("kubedojo", False, role="default", gpus="0")],
        "Event": [event(pending, "FailedScheduling", scheduler, 3)],
    }


def test_on_a_simulated_gpu_node_the_scheduling_counts_and_the_gpu_output_is_not_applicable() -> None:
    result, checks = graded("06-gpu", gpu_run(node("sim-gpu-0", simulated=True)))
    assert checks["gpu-seen"].status == "skipped" and "simulated node sim-gpu-0" in checks["gpu-seen"].found
    assert checks["complete"].status == "passed" and "kwok ended it" in checks["complete"].found
    assert checks["on-gpu-node"].status == "passed" and "simulated" in checks["on-gpu-node"].found
    assert "Insufficient nvidia.com/gpu" in checks["greedy-pending"].found
    assert result.status == "passed"
    assert result.score == result.max_score == 10  # the skipped check's 2 points leave the maximum


def test_on_a_real_gpu_node_the_program_must_have_seen_its_gpu() -> None:
    real = node("gpu-1", simulated=False)
    seen = "GPUs given to this container: 1 (nvidia0); NVIDIA_VISIBLE_DEVICES='GPU-1'\nTest accuracy: 0.9\n"
    result, checks = graded("06-gpu", gpu_run(real, f"registry/lab-06-gpu@sha256:{DIGEST}", seen))
    assert checks["gpu-seen"].status == "passed" and result.score == result.max_score == 12

    blind = "GPUs given to this container: 0 (none); NVIDIA_VISIBLE_DEVICES=''\n"
    _, checks = graded("06-gpu", gpu_run(real, f"registry/lab-06-gpu@sha256:{DIGEST}", blind))
    assert checks["gpu-seen"].status == "failed"


def test_a_claimed_gpu_line_from_another_image_on_a_real_node_earns_nothing() -> None:
    other = "registry/lab-06-gpu@sha256:" + "cd" * 32
    _, checks = graded("06-gpu", gpu_run(node("gpu-1", False), other, "GPUs given to this container: 1\n"))
    assert checks["gpu-seen"].status == "failed" and checks["complete"].status == "failed"


def test_a_simulated_run_of_another_image_does_not_complete_the_lab() -> None:
    objects = gpu_run(node("sim-gpu-0", simulated=True))
    objects["Pod"][0]["spec"]["containers"][0]["image"] = "busybox"
    _, checks = graded("06-gpu", objects)
    assert checks["complete"].status == "failed" and "not one of the lab's" in checks["complete"].found
    assert checks["on-gpu-node"].status == "passed"  # where it was scheduled is still the scheduler's


def test_a_pod_on_a_cpu_node_fails_the_placement() -> None:
    _, checks = graded("06-gpu", gpu_run(node("sim-cpu-0", simulated=True, role="train-cpu", gpus="0")))
    assert checks["on-gpu-node"].status == "failed" and "sim-cpu-0" in checks["on-gpu-node"].found


def test_static_checks_name_what_is_missing() -> None:
    train, _ = solution("06-gpu")
    spec = train["spec"]["template"]["spec"]
    spec["tolerations"] = [{"key": "kubedojo.dev/simulated", "operator": "Exists"}]
    spec["nodeSelector"] = {}
    spec["affinity"] = {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {
                    "weight": 1,
                    "preference": {
                        "matchExpressions": [{"key": "role", "operator": "In", "values": ["train-gpu"]}]
                    },
                }
            ]
        }
    }
    spec["containers"][0]["resources"]["limits"].pop("nvidia.com/gpu")
    snapshot = ClusterSnapshot("ns", START, {})
    ctx = GradingContext(Catalog(PROJECT).get("06-gpu"), snapshot, START, submission=[train])
    checks = {c.id: c for c in grade(ctx, "me", static_only=True).checks}
    assert checks["tolerates-gpu-taint"].status == "failed"
    assert checks["selects-gpu-pool"].status == "failed" and "preferred" in checks["selects-gpu-pool"].found
    assert "required" in checks["selects-gpu-pool"].hint
    assert checks["gpu-limit"].status == "failed" and "limits" in checks["gpu-limit"].hint


@pytest.mark.parametrize(
    ("tolerations", "ok"),
    [
        ([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}], True),
        ([{"key": "nvidia.com/gpu", "operator": "Equal", "value": "present"}], True),
        ([{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}], True),
        ([{"operator": "Exists"}], True),
        ([{"key": "nvidia.com/gpu", "operator": "Equal", "value": "absent"}], False),
        ([{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoExecute"}], False),
        ([{"key": "gpu", "operator": "Exists"}], False),
        ([], False),
    ],
)
def test_tolerations_match_as_the_scheduler_matches_them(tolerations: list[dict[str, str]], ok: bool) -> None:
    assert tolerates(tolerations, TAINT) is ok


def test_node_selection_by_selector_or_every_required_term() -> None:
    term = {"matchExpressions": [{"key": "role", "operator": "In", "values": ["train-gpu"]}]}
    other = {"matchExpressions": [{"key": "role", "operator": "In", "values": ["train-cpu"]}]}
    required = "requiredDuringSchedulingIgnoredDuringExecution"
    assert requires_label({"nodeSelector": {"role": "train-gpu"}}, "role", "train-gpu")
    assert requires_label(
        {"affinity": {"nodeAffinity": {required: {"nodeSelectorTerms": [term]}}}}, "role", "train-gpu"
    )
    either = {"affinity": {"nodeAffinity": {required: {"nodeSelectorTerms": [term, other]}}}}
    assert not requires_label(either, "role", "train-gpu")  # terms are ORed: a CPU node would do
    assert not requires_label({"nodeSelector": {"role": "train-cpu"}}, "role", "train-gpu")


def autoscale_run(removed: bool, triggered: bool = True) -> dict[str, list[dict[str, Any]]]:
    (train,) = solution("06-gpu-autoscale")
    job = live(train, "j1")
    pod = pod_of(job, "ca-gpu-x7k2p")
    events = [event(pod, "FailedScheduling", "0/1 nodes are available", 2)]
    if triggered:
        events.append(event(pod, "TriggeredScaleUp", "pod triggered scale-up: [{ca-gpu 0->1 (max: 4)}]", 12))
    nodes = [node("kubedojo", False, role="default", gpus="0")]
    if not removed:
        nodes.append(node("ca-gpu-x7k2p", simulated=True))
    return {"Job": [job], "Pod": [pod], "Node": nodes, "Event": events}


def test_the_whole_autoscaling_cycle_with_its_times() -> None:
    result, checks = graded("06-gpu-autoscale", autoscale_run(removed=True))
    found = checks["scaled-up-and-down"].found
    assert checks["scaled-up-and-down"].status == "passed", found
    assert "scale-up of ca-gpu 10 s after" in found and "after 29 s" in found and "removed since" in found
    # The node is gone, so its labels are not: the autoscaler's group tells where the pod ran.
    assert checks["on-new-gpu-node"].status == "passed" and "group ca-gpu" in checks["on-new-gpu-node"].found
    assert checks["gpu-seen"].status == "skipped"
    assert result.status == "passed" and result.score == result.max_score


def test_the_scale_down_is_pending_while_the_node_is_still_there() -> None:
    result, checks = graded("06-gpu-autoscale", autoscale_run(removed=False))
    assert (
        checks["scaled-up-and-down"].status == "pending"
        and "still there" in checks["scaled-up-and-down"].found
    )
    assert result.status == "pending"


def test_no_scale_up_fails_with_the_hint_about_a_free_node() -> None:
    _, checks = graded("06-gpu-autoscale", autoscale_run(removed=False, triggered=False))
    assert checks["scaled-up-and-down"].status == "failed"
    assert "cluster.up --sim-nodes gpu=0" in checks["scaled-up-and-down"].hint


def test_a_gone_node_without_the_autoscalers_event_is_not_taken_on_trust() -> None:
    _, checks = graded("06-gpu-autoscale", autoscale_run(removed=True, triggered=False))
    assert checks["on-new-gpu-node"].status == "failed" and "gone" in checks["on-new-gpu-node"].found


def test_nodes_hidden_from_the_identity_leave_the_node_checks_pending() -> None:
    objects = autoscale_run(removed=True)
    del objects["Node"]
    snapshot = ClusterSnapshot("ns", START, objects, hidden=frozenset({"Node"}))
    ctx = GradingContext(Catalog(PROJECT).get("06-gpu-autoscale"), snapshot, START, images=IMAGES)
    checks = {c.id: c for c in grade(ctx, "me").checks}
    for check in ("on-new-gpu-node", "scaled-up-and-down", "complete", "gpu-seen"):
        assert checks[check].status == "pending", (check, checks[check].found)


def quota(hard: str, used: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "kubedojo-quota", "namespace": "dojo-ann"},
        "spec": {"hard": {"requests.nvidia.com/gpu": hard, "requests.cpu": "4"}},
        "status": {"hard": {"requests.nvidia.com/gpu": hard}, "used": {"requests.nvidia.com/gpu": used}},
    }


def test_what_a_submission_asks_of_extended_resources_per_job() -> None:
    needs = extended_needs(solution("06-gpu"))
    assert {job: int(n) for job, n in needs["nvidia.com/gpu"].items()} == {
        "handson-06": 1,
        "handson-06-greedy": 2,
    }
    parallel = copy.deepcopy(solution("06-gpu-autoscale")[0])
    parallel["spec"]["parallelism"] = 3
    assert int(extended_needs([parallel])["nvidia.com/gpu"]["handson-06-scale"]) == 3


def test_a_quota_too_small_for_the_lab_is_said_before_anything_is_applied() -> None:
    kube = FakeKube()
    kube.put(quota("1", "0"))
    with pytest.raises(ConfigError) as info:
        check_extended_quota(kube, "dojo-ann", solution("06-gpu"), "06-gpu")
    message = str(info.value)
    assert "needs 3 nvidia.com/gpu" in message and "handson-06-greedy: 2" in message
    assert "leaves 1" in message and "class.quota.gpus" in message and "\n" not in message
    kube.put(quota("3", "0"))
    check_extended_quota(kube, "dojo-ann", solution("06-gpu"), "06-gpu")  # enough now
    kube.put(quota("3", "1"))  # another lab's pod still holds one
    with pytest.raises(ConfigError, match="leaves 2"):
        check_extended_quota(kube, "dojo-ann", solution("06-gpu"), "06-gpu")


def node_loss_run(
    deleted: bool, replaced: bool = True, tainted: bool = False
) -> dict[str, list[dict[str, Any]]]:
    (doc,) = yaml.safe_load_all((PROJECT / "labs" / "03-node-loss" / "solution.yaml").read_text())
    job = live(doc, "j1")
    second = pod_of(job, "sim-train-cpu-9")
    second["metadata"]["name"] = "handson-03-node-loss-second"
    second["status"]["phase"] = "Succeeded" if replaced else "Failed"
    scheduled = [
        {
            "reason": "Scheduled",
            "message": f"Successfully assigned ns/{pod} to {node}",
            "involvedObject": {"kind": "Pod", "name": pod},
        }
        for pod, node in (
            ("handson-03-node-loss-first", "sim-train-cpu-0"),
            (second["metadata"]["name"], "sim-train-cpu-9"),
        )
    ]
    nodes = [node("sim-train-cpu-9", True, role="train-cpu")]
    if not deleted:
        first = node("sim-train-cpu-0", True, role="train-cpu")
        if tainted:
            first["spec"] = {"taints": [{"key": "node.kubernetes.io/out-of-service", "effect": "NoExecute"}]}
        nodes.append(first)
    return {"Job": [job], "Pod": [second], "Node": nodes, "Event": scheduled}


def test_node_loss_is_found_in_the_scheduler_events_that_outlive_the_lost_pod() -> None:
    result, checks = graded("03-node-loss", node_loss_run(deleted=True), images=None)
    assert result.status == "passed", [(c.id, c.found) for c in result.checks]
    assert checks["rescheduled"].status == "passed", checks["rescheduled"].found
    assert "lost with sim-train-cpu-0" in checks["rescheduled"].found
    assert "handson-03-node-loss-second completed on sim-train-cpu-9" in checks["rescheduled"].found


def test_node_loss_without_a_deleted_node_or_a_replacement_fails_with_what_to_do() -> None:
    _, checks = graded("03-node-loss", node_loss_run(deleted=False, tainted=True), images=None)
    assert checks["rescheduled"].status == "passed"  # marked out of service: lost too
    _, checks = graded("03-node-loss", node_loss_run(deleted=False), images=None)
    assert checks["rescheduled"].status == "failed" and "out-of-service" in checks["rescheduled"].hint
    _, checks = graded("03-node-loss", node_loss_run(deleted=True, replaced=False), images=None)
    assert checks["rescheduled"].status == "failed" and "no pod" in checks["rescheduled"].found
