from __future__ import annotations

import pytest

from kubedojo.config import parse_config
from kubedojo.errors import ConfigError
from kubedojo.local.simnodes import SIM_POOL_LABEL, kwok_stages, node_object, parse_sim_nodes

POOLS = parse_config({}).local.sim_pools


def test_parse_counts_per_pool() -> None:
    assert parse_sim_nodes("gpu=2, train-cpu=0", POOLS) == {"gpu": 2, "train-cpu": 0}
    assert parse_sim_nodes("", POOLS) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gpu", "'gpu' must look like POOL=COUNT"),
        ("tpu=1", "unknown pool 'tpu' (pools in workshop.yaml local.sim_pools: gpu, train-cpu, train-mem)"),
        ("gpu=two", "'two' for pool 'gpu' is not a whole number"),
        ("gpu=-1", "gpu=-1 must be between 0 and 500"),
    ],
)
def test_bad_sim_nodes_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_sim_nodes(text, POOLS)
    assert message in str(error.value)


def test_gpu_node_advertises_gpus_with_the_pool_label_and_taint() -> None:
    node = node_object("gpu", 1, POOLS["gpu"])
    assert node["metadata"]["name"] == "sim-gpu-1"
    assert node["metadata"]["labels"][SIM_POOL_LABEL] == "gpu"
    assert node["metadata"]["labels"]["role"] == "train-gpu"
    assert node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
    assert node["spec"]["taints"] == [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
    assert node["status"]["allocatable"]["nvidia.com/gpu"] == "1"


def test_stages_cover_node_and_pod_lifecycles() -> None:
    stages = {s["metadata"]["name"]: s["spec"]["resourceRef"]["kind"] for s in kwok_stages()}
    assert sorted(stages.values()).count("Node") == 2
    assert sorted(stages.values()).count("Pod") == 5


def test_a_jobs_simulated_pod_ends_completed_after_the_configured_time_without_a_digest() -> None:
    """Only a Job's pods, and not those annotated with an outcome (which end after a second)."""
    from kubedojo.local.simnodes import SIM_OUTCOME

    ended = next(s for s in kwok_stages(7) if s["metadata"]["name"] == "kubedojo-job-pod-complete")
    assert ended["spec"]["delay"] == {"durationMilliseconds": 7000}
    keys = {e["key"]: (e["operator"], e.get("values")) for e in ended["spec"]["selector"]["matchExpressions"]}
    assert keys[".metadata.ownerReferences.[].kind"] == ("In", ["Job"])
    assert keys[f'.metadata.annotations["{SIM_OUTCOME}"]'] == ("DoesNotExist", None)
    status = ended["spec"]["next"]["statusTemplate"]
    assert "phase: Succeeded" in status and "exitCode: 0" in status
    assert 'imageID: ""' in status and "startedAt: {{ $started | Quote }}" in status


def test_only_annotated_simulated_pods_complete() -> None:
    from kubedojo.local.simnodes import SIM_OUTCOME

    complete = next(s for s in kwok_stages() if s["metadata"]["name"] == "kubedojo-pod-complete")
    keys = {e["key"]: e.get("values") for e in complete["spec"]["selector"]["matchExpressions"]}
    assert keys[f'.metadata.annotations["{SIM_OUTCOME}"]'] == ["Succeeded"]
    assert keys[".status.phase"] == ["Running"]
    assert "phase: Succeeded" in complete["spec"]["next"]["statusTemplate"]


def test_an_oom_killed_outcome_fails_the_pod_as_the_kernel_would() -> None:
    """What a run of lab 03's hungry script ends with: phase Failed, exit code 137, OOMKilled."""
    from kubedojo.local.simnodes import SIM_OUTCOME

    killed = next(s for s in kwok_stages() if s["metadata"]["name"] == "kubedojo-pod-oomkilled")
    keys = {e["key"]: e.get("values") for e in killed["spec"]["selector"]["matchExpressions"]}
    assert keys[f'.metadata.annotations["{SIM_OUTCOME}"]'] == ["OOMKilled"]
    status = killed["spec"]["next"]["statusTemplate"]
    assert "phase: Failed" in status
    assert "exitCode: 137" in status and "reason: OOMKilled" in status
    assert "phase: Succeeded" not in status
