"""Why a lab is stuck, from hand-written pod, Job and event states (the real states are produced on
the real cluster in tests/cluster/test_lab_stuck.py)."""

from __future__ import annotations

from typing import Any

from kubedojo.labs.stuck import diagnose

JOB = {"kind": "Job", "metadata": {"name": "handson-01"}}


def pod(phase: str = "Pending", waiting: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    containers = [{"name": "train", "state": {"waiting": waiting} if waiting else {}, "restartCount": 3}]
    return {
        "kind": "Pod",
        "metadata": {"name": "handson-01-abcde", "labels": {"batch.kubernetes.io/job-name": "handson-01"}},
        "spec": {"containers": [{"name": "train", "image": "127.0.0.1:5000/kubedojo/lab-01-run-jbo:v1"}]},
        "status": {"phase": phase, "containerStatuses": containers, **status},
    }


def event(kind: str, name: str, reason: str, message: str) -> dict[str, Any]:
    return {"involvedObject": {"kind": kind, "name": name}, "reason": reason, "message": message}


def test_a_moving_job_is_not_stuck() -> None:
    assert diagnose([JOB], [pod("Running")], []) is None
    assert diagnose([JOB], [pod("Pending", {"reason": "ContainerCreating"})], []) is None
    assert diagnose([JOB], [], []) is None  # no pod yet, no refusal either


def test_an_image_that_cannot_be_pulled() -> None:
    found = diagnose(
        [JOB], [pod(waiting={"reason": "ImagePullBackOff", "message": 'Back-off pulling image "x"'})], []
    )
    assert found is not None
    assert found.subject == "Pod/handson-01-abcde"
    assert "image 127.0.0.1:5000/kubedojo/lab-01-run-jbo:v1 cannot be pulled (ImagePullBackOff" in found.cause
    assert "spec.template.spec.containers[name=train].image" in found.hint


def test_image_pull_policy_never() -> None:
    found = diagnose([JOB], [pod(waiting={"reason": "ErrImageNeverPull", "message": "never pull"})], [])
    assert found is not None and "imagePullPolicy is Never" in found.cause
    assert "remove imagePullPolicy: Never" in found.hint


def test_a_missing_configmap_in_env_or_volume() -> None:
    env = pod(waiting={"reason": "CreateContainerConfigError", "message": 'configmap "hp" not found'})
    found = diagnose([JOB], [env], [])
    assert found is not None and "create the configmap hp first" in found.hint

    mount = event(
        "Pod",
        "handson-01-abcde",
        "FailedMount",
        'MountVolume.SetUp failed for volume "hp" : configmap "hp" not found',
    )
    found = diagnose([JOB], [pod(waiting={"reason": "ContainerCreating"})], [mount])
    assert found is not None and found.cause.startswith(
        "a volume cannot be mounted: MountVolume.SetUp failed"
    )
    assert "create the configmap hp first" in found.hint


def test_a_crash_loop() -> None:
    crashing = pod("Running", {"reason": "CrashLoopBackOff", "message": "back-off 20s"})
    crashing["status"]["containerStatuses"][0]["lastState"] = {"terminated": {"exitCode": 2}}
    found = diagnose([JOB], [crashing], [])
    assert found is not None and "keeps crashing (exit code 2, restarted 3 times)" in found.cause
    assert "kubectl logs handson-01-abcde -c train --previous" in found.hint


def unschedulable(message: str) -> dict[str, Any]:
    condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message}
    return pod("Pending", None, conditions=[condition])


def test_a_request_no_node_can_hold() -> None:
    found = diagnose(
        [JOB], [unschedulable("0/1 nodes are available: 1 Insufficient memory. preemption: ...")], []
    )
    assert found is not None and "Insufficient memory" in found.cause
    assert "(memory)" in found.hint and "resources.requests" in found.hint


def test_a_missing_claim() -> None:
    found = diagnose([JOB], [unschedulable('persistentvolumeclaim "models" not found')], [])
    assert found is not None and "create the persistentvolumeclaim models first" in found.hint


def test_waiting_for_room_while_others_run_or_a_node_is_added_is_not_stuck() -> None:
    queued = unschedulable("0/1 nodes are available: 1 Insufficient cpu.")
    other = {"kind": "Job", "metadata": {"name": "exp-02"}}
    running = pod("Running")
    running["metadata"] = {"name": "exp-02-x", "labels": {"batch.kubernetes.io/job-name": "exp-02"}}
    assert diagnose([JOB, other], [queued, running], []) is None
    scale_up = event(
        "Pod", "handson-01-abcde", "TriggeredScaleUp", "pod triggered scale-up: [gpu 0->1 (max: 2)]"
    )
    assert diagnose([JOB], [queued], [scale_up]) is None


def test_on_an_autoscaled_cluster_only_the_autoscalers_no_counts() -> None:
    """Before its next scan the autoscaler may add a node for the pod: not stuck until it declines."""
    queued = unschedulable("0/1 nodes are available: 1 Insufficient nvidia.com/gpu.")
    assert diagnose([JOB], [queued], [], autoscaled=True) is None
    declined = event(
        "Pod",
        "handson-01-abcde",
        "NotTriggerScaleUp",
        "pod didn't trigger scale-up: 1 node(s) had untolerated taint",
    )
    found = diagnose([JOB], [queued], [declined], autoscaled=True)
    assert found is not None and "Insufficient nvidia.com/gpu" in found.cause


def test_a_pod_refused_by_the_quota() -> None:
    refused = event(
        "Job",
        "handson-01",
        "FailedCreate",
        'Error creating: pods "handson-01-x" is forbidden: exceeded quota: participant, requested: limits.memory=8Gi',
    )
    found = diagnose([JOB], [], [refused])
    assert found is not None and found.subject == "Job/handson-01"
    assert "exceeded quota" in found.cause and "kubectl describe quota" in found.hint
    # Once the Job has a pod, an old refusal no longer stops the lab.
    assert diagnose([JOB], [pod("Running")], [refused]) is None


def test_a_pod_refused_by_the_limit_range() -> None:
    refused = event(
        "Job",
        "handson-01",
        "FailedCreate",
        'Error creating: pods "x" is forbidden: maximum memory usage per Container is 2Gi, but limit is 8Gi',
    )
    found = diagnose([JOB], [], [refused])
    assert found is not None and "kubectl describe limitrange" in found.hint


def test_the_scheduler_must_have_said_so_for_a_moment_and_nothing_may_be_placed() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 11, 30, 10, 0, 0, tzinfo=UTC)
    fresh = unschedulable("0/1 nodes are available: 1 Insufficient cpu.")
    fresh["status"]["conditions"][0]["lastTransitionTime"] = "2026-11-30T10:00:00Z"
    assert diagnose([JOB], [fresh], [], now=now) is None  # the pods placed before it may still be binding
    assert diagnose([JOB], [fresh], [], now=now + timedelta(seconds=3)) is not None

    other = {"kind": "Job", "metadata": {"name": "exp-02"}}
    binding = pod("Pending")  # placed on a node, not running yet
    binding["metadata"] = {"name": "exp-02-x", "labels": {"batch.kubernetes.io/job-name": "exp-02"}}
    binding["spec"]["nodeName"] = "node-1"
    assert diagnose([JOB, other], [fresh, binding], [], now=now + timedelta(seconds=30)) is None


def node(name: str, cpu: str = "2", memory: str = "8Gi", **spec: Any) -> dict[str, Any]:
    return {
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": spec,
        "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": "110"}},
    }


def requesting(message: str, **resources: Any) -> dict[str, Any]:
    found = unschedulable(message)
    found["spec"]["containers"][0]["resources"] = resources
    return found


def test_room_held_by_pods_elsewhere_is_waited_for_when_a_node_could_hold_the_pod() -> None:
    """The scheduler says "Insufficient cpu" both for a pod too large for every node and for one that
    waits for others' pods to end: with the nodes known, only the first is stuck."""
    message = "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {gpu: }."
    fits = requesting(message, requests={"cpu": "250m", "memory": "128Mi"})
    gpu = node("gpu-0", cpu="8", taints=[{"key": "gpu", "effect": "NoSchedule"}])
    assert diagnose([JOB], [fits], [], nodes=[node("n1"), gpu]) is None
    # Without the nodes (a watch refused) it counts as before.
    assert diagnose([JOB], [fits], []) is not None
    # Too large for the one node it may go to: the tainted larger node does not count, nor a cordoned one.
    large = requesting(message, requests={"cpu": "3"})
    found = diagnose([JOB], [large], [], nodes=[node("n1"), gpu, node("n2", cpu="4", unschedulable=True)])
    assert found is not None and "Insufficient cpu" in found.cause
    # A request given as a limit alone is requested at the limit (the API server's default).
    gpu_only_limit = requesting(message, limits={"nvidia.com/gpu": "1", "cpu": "1"})
    assert diagnose([JOB], [gpu_only_limit], [], nodes=[node("n1")]) is not None
    tolerating = requesting(message, limits={"nvidia.com/gpu": "1"})
    tolerating["spec"]["tolerations"] = [{"key": "gpu", "operator": "Exists"}]
    gpu["status"]["allocatable"]["nvidia.com/gpu"] = "1"
    assert diagnose([JOB], [tolerating], [], nodes=[node("n1"), gpu]) is None


def test_a_node_the_pod_does_not_select_cannot_make_room_for_it() -> None:
    message = (
        "0/2 nodes are available: 1 Insufficient memory, 1 node(s) didn't match Pod's node affinity/selector."
    )
    selective = requesting(message, requests={"memory": "4Gi"})
    small, big = node("small", memory="2Gi"), node("big", memory="16Gi")
    big["metadata"]["labels"]["pool"] = "large"
    selective["spec"]["nodeSelector"] = {"pool": "small"}
    assert diagnose([JOB], [selective], [], nodes=[small, big]) is not None
    selective["spec"]["nodeSelector"] = {}
    selective["spec"]["affinity"] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["large"]}]}
                ]
            }
        }
    }
    assert diagnose([JOB], [selective], [], nodes=[small, big]) is None
    selective["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ][0]["matchExpressions"][0]["operator"] = "NotIn"
    assert diagnose([JOB], [selective], [], nodes=[small, big]) is not None


def test_an_init_container_larger_than_the_rest_sets_the_pods_request() -> None:
    from decimal import Decimal

    from kubedojo.labs.room import pod_requests

    pod_ = {
        "spec": {
            "initContainers": [{"resources": {"requests": {"cpu": "1500m"}}}],
            "containers": [
                {"resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}},
                {"resources": {"limits": {"cpu": "250m"}}},
                {"resources": {"requests": {"cpu": "not-a-quantity"}}},
            ],
        }
    }
    assert pod_requests(pod_) == {"cpu": Decimal("1.5"), "memory": Decimal(1024**3)}
