"""Simulated nodes: Node objects that kwok keeps alive, for labs about scheduling and capacity; and the
kwok daemon with its stages.

``--sim-nodes gpu=2,train-cpu=1`` sets how many nodes each pool has; pools not named keep what they
have. A pool's nodes are named ``sim-<pool>-<n>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from ..client.probes import HttpProbe
from ..config import SimPool
from ..errors import ConfigError
from ..labels import SIM_POOL_LABEL
from .layout import Component, Layout, client_kubeconfig, daemon

__all__ = [
    "SIM_ANNOTATION_PREFIX",
    "SIM_IMAGE_ID",
    "SIM_MESSAGE",
    "SIM_OUTCOME",
    "SIM_OUTCOMES",
    "SIM_POOL_LABEL",
    "kwok",
    "kwok_stages",
    "node_object",
    "parse_sim_nodes",
    "sim_node_name",
]

MAX_SIM_NODES = 500
KWOK_PORT = 10247


def parse_sim_nodes(text: str, pools: Mapping[str, SimPool]) -> dict[str, int]:
    """Parse ``pool=count[,pool=count...]``; each pool must be declared in the configuration."""
    counts: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        pool, sep, raw = item.partition("=")
        pool = pool.strip()
        if not sep:
            raise ConfigError(f"--sim-nodes: '{item}' must look like POOL=COUNT, for example gpu=2")
        if pool not in pools:
            known = ", ".join(sorted(pools)) or "none"
            raise ConfigError(
                f"--sim-nodes: unknown pool '{pool}' (pools in workshop.yaml local.sim_pools: {known})"
            )
        try:
            count = int(raw)
        except ValueError:
            raise ConfigError(f"--sim-nodes: '{raw}' for pool '{pool}' is not a whole number") from None
        if not 0 <= count <= MAX_SIM_NODES:
            raise ConfigError(f"--sim-nodes: {pool}={count} must be between 0 and {MAX_SIM_NODES}")
        counts[pool] = count
    return counts


def sim_node_name(pool: str, index: int) -> str:
    return f"sim-{pool}-{index}"


def _taint(text: str) -> dict[str, str]:
    rest, _, effect = text.rpartition(":")
    key, _, value = rest.partition("=")
    taint = {"key": key, "effect": effect}
    if value:
        taint["value"] = value
    return taint


def node_object(pool: str, index: int, spec: SimPool) -> dict[str, Any]:
    name = sim_node_name(pool, index)
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                **spec.labels,
                "type": "kwok",
                SIM_POOL_LABEL: pool,
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
            },
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {"taints": [_taint(t) for t in spec.taints]},
        "status": {
            "capacity": dict(spec.capacity),
            "allocatable": dict(spec.capacity),
        },
    }


def _stage(
    name: str,
    kind: str,
    selector: list[dict[str, Any]],
    next_: dict[str, Any],
    delay_ms: int | None = None,
    jitter_ms: int | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "resourceRef": {"apiGroup": "v1", "kind": kind},
        "selector": {"matchExpressions": selector},
        "next": next_,
    }
    if delay_ms is not None:
        spec["delay"] = {"durationMilliseconds": delay_ms}
        if jitter_ms is not None:
            spec["delay"]["jitterDurationMilliseconds"] = jitter_ms
    return {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": name},
        "spec": spec,
    }


_NODE_CONDITIONS = """{{ $now := Now }}
conditions:
{{ $conditions := dict "Ready" "True" "MemoryPressure" "False" "DiskPressure" "False" }}
{{ $_ := set $conditions "PIDPressure" "False" }}{{ $_ := set $conditions "NetworkUnavailable" "False" }}
{{ range $type, $status := $conditions }}
- type: {{ $type | Quote }}
  status: {{ $status | Quote }}
  reason: {{ printf "Simulated%s" $type | Quote }}
  message: "simulated by kwok for kubedojo"
  lastHeartbeatTime: {{ $now | Quote }}
  lastTransitionTime: {{ $now | Quote }}
{{ end }}
"""


SIM_ANNOTATION_PREFIX = "kubedojo.dev/sim-"
"""Annotations that make a pod on a simulated node look as if work ran; only the cluster's
administrators may set any annotation with this prefix (the admission policy in :mod:`.simpolicy`)."""
SIM_OUTCOME = SIM_ANNOTATION_PREFIX + "outcome"
"""Annotate a pod for a simulated node with this to have it end a second after it starts: its value,
one of :data:`SIM_OUTCOMES`, says how."""
SIM_OUTCOMES: dict[str, tuple[str, int, str]] = {
    "Succeeded": ("Succeeded", 0, "Completed"),
    "OOMKilled": ("Failed", 137, "OOMKilled"),
}
"""Outcome → (the pod's phase, its containers' exit code and reason): completed, or killed by the
kernel for crossing their memory limit (what a run of lab 03's hungry script ends with)."""
SIM_IMAGE_ID = SIM_ANNOTATION_PREFIX + "image-id"
"""With :data:`SIM_OUTCOME`: the ``imageID`` its containers report (a kubelet reports the digest of
the image it ran), so that the grader's real-work gate sees the image the benchmark claims."""
SIM_MESSAGE = SIM_ANNOTATION_PREFIX + "termination-message"
"""With :data:`SIM_OUTCOME`: the termination message its containers end with (what a lab script
reports: its output, the files it saved), for benchmarks that grade simulated work."""


def kwok_stages(job_seconds: int = 20) -> list[dict[str, Any]]:
    """How kwok moves simulated nodes and the pods bound to them through their lives.

    A new node becomes Ready and keeps sending heartbeats; a pod bound to a simulated node runs
    (nothing really executes there): a Job's pod for ``job_seconds``, then it ends as completed (the
    Job controller then sees the Job through, and its node falls idle), any other pod until it is
    deleted — unless it is annotated
    ``kubedojo.dev/sim-outcome`` (:data:`SIM_OUTCOMES`): ``Succeeded`` makes it complete after a second,
    ``OOMKilled`` makes it fail as a container killed for its memory does (benchmarks use them to
    create finished work at scale), its containers reporting the ``imageID`` and termination message
    of the annotations :data:`SIM_IMAGE_ID` and :data:`SIM_MESSAGE` (empty without them); a deleted
    pod goes away at once.
    """
    not_deleted = {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"}
    return [
        _stage(
            "kubedojo-node-start",
            "Node",
            [not_deleted, {"key": ".status.phase", "operator": "DoesNotExist"}],
            {
                "statusTemplate": "phase: Running\n"
                + _NODE_CONDITIONS
                + (
                    "addresses:\n- type: InternalIP\n  address: {{ NodeIP | Quote }}\n"
                    "nodeInfo:\n  architecture: amd64\n  operatingSystem: linux\n"
                    "  kubeletVersion: kwok\n  kubeProxyVersion: kwok\n"
                )
            },
        ),
        _stage(
            "kubedojo-node-heartbeat",
            "Node",
            [not_deleted, {"key": ".status.phase", "operator": "In", "values": ["Running"]}],
            {"statusTemplate": _NODE_CONDITIONS},
            delay_ms=20000,
            jitter_ms=5000,
        ),
        _stage(
            "kubedojo-pod-run",
            "Pod",
            [
                not_deleted,
                {"key": ".spec.nodeName", "operator": "Exists"},
                {"key": ".status.podIP", "operator": "DoesNotExist"},
            ],
            {
                "statusTemplate": """{{ $now := Now }}
phase: Running
hostIP: {{ NodeIP | Quote }}
podIP: {{ PodIP | Quote }}
startTime: {{ $now | Quote }}
conditions:
{{ range $type := list "PodScheduled" "Initialized" "ContainersReady" "Ready" }}
- type: {{ $type | Quote }}
  status: "True"
  lastTransitionTime: {{ $now | Quote }}
{{ end }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: ""
  ready: true
  started: true
  restartCount: 0
  state:
    running:
      startedAt: {{ $now | Quote }}
{{ end }}
"""
            },
        ),
        *(_pod_end_stage(outcome) for outcome in SIM_OUTCOMES),
        _job_pod_end_stage(job_seconds),
        _stage(
            "kubedojo-pod-delete",
            "Pod",
            [{"key": ".metadata.deletionTimestamp", "operator": "Exists"}],
            {"finalizers": {"empty": True}, "delete": True},
        ),
    ]


_END_TEMPLATE = """{{ $now := Now }}{{ $notes := .metadata.annotations }}{{ $started := .status.startTime }}
phase: PHASE
conditions:
{{ range $type := list "Ready" "ContainersReady" }}
- type: {{ $type | Quote }}
  status: "False"
  reason: POD_REASON
  lastTransitionTime: {{ $now | Quote }}
{{ end }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  imageID: IMAGE_ID
  ready: false
  started: false
  restartCount: 0
  state:
    terminated:
      exitCode: EXIT_CODE
      reason: REASON
      message: MESSAGE
      startedAt: STARTED
      finishedAt: {{ $now | Quote }}
{{ end }}
"""


def _end_status(phase: str, exit_code: int, reason: str, annotated: bool) -> str:
    """The status template of a simulated pod's end: its phase, every container terminated with
    ``exit_code`` and ``reason``; ``annotated``: the image digest and message from the pod's
    annotations and a run of no length (a benchmark's work), else none and a run since the pod's start."""
    fields = {
        "PHASE": phase,
        "POD_REASON": "PodCompleted" if phase == "Succeeded" else "PodFailed",
        "EXIT_CODE": str(exit_code),
        "REASON": reason,
        "IMAGE_ID": f'{{{{ get $notes "{SIM_IMAGE_ID}" | Quote }}}}' if annotated else '""',
        "MESSAGE": f'{{{{ get $notes "{SIM_MESSAGE}" | Quote }}}}' if annotated else '""',
        "STARTED": "{{ $now | Quote }}" if annotated else "{{ $started | Quote }}",
    }
    template = _END_TEMPLATE
    for key, value in fields.items():
        template = template.replace(key, value)
    return template


def _pod_end_stage(outcome: str) -> dict[str, Any]:
    """The stage that ends a running simulated pod annotated with ``outcome`` a second after it
    started: its phase, and every container terminated with the outcome's exit code and reason."""
    phase, exit_code, reason = SIM_OUTCOMES[outcome]
    name = "kubedojo-pod-complete" if outcome == "Succeeded" else f"kubedojo-pod-{outcome.lower()}"
    return _stage(
        name,
        "Pod",
        [
            {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
            {"key": ".status.phase", "operator": "In", "values": ["Running"]},
            {"key": f'.metadata.annotations["{SIM_OUTCOME}"]', "operator": "In", "values": [outcome]},
        ],
        {"statusTemplate": _end_status(phase, exit_code, reason, annotated=True)},
        delay_ms=1000,
    )


def _job_pod_end_stage(seconds: int) -> dict[str, Any]:
    """The stage that ends a Job's running simulated pod (not annotated with an outcome) ``seconds``
    after it started, as completed: exit code 0, the containers' run from the pod's start to now,
    no image digest and no message (nothing ran: the grader tells it from a real run)."""
    return _stage(
        "kubedojo-job-pod-complete",
        "Pod",
        [
            {"key": ".metadata.deletionTimestamp", "operator": "DoesNotExist"},
            {"key": ".status.phase", "operator": "In", "values": ["Running"]},
            {"key": ".metadata.ownerReferences.[].kind", "operator": "In", "values": ["Job"]},
            {"key": f'.metadata.annotations["{SIM_OUTCOME}"]', "operator": "DoesNotExist"},
        ],
        {"statusTemplate": _end_status("Succeeded", 0, "Completed", annotated=False)},
        delay_ms=seconds * 1000,
    )


def kwok(layout: Layout) -> Component:
    """kwok, which keeps the simulated nodes (annotated ``kwok.x-k8s.io/node: fake``) and their pods
    going through :func:`kwok_stages`."""
    net = layout.settings.network
    cfg = layout.state.config
    kc, kc_text = client_kubeconfig(layout, "kwok", "kwok")
    return Component(
        "kwok",
        daemon(
            layout,
            "kwok",
            [
                str(layout.kwok_bin),
                f"--kubeconfig={kc}",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                f"--cidr={net.sim_subnet}",
                f"--node-ip={net.node_ip}",
                f"--server-address=127.0.0.1:{KWOK_PORT}",
                "--config=" + str(cfg / "kwok.yaml"),
            ],
        ),
        HttpProbe(f"http://127.0.0.1:{KWOK_PORT}/healthz"),
        2,
        {
            kc: kc_text,
            cfg / "kwok.yaml": yaml.safe_dump_all(
                [
                    {
                        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
                        "kind": "KwokConfiguration",
                        "options": {
                            "enableCNI": False,
                            "nodePlayStageParallelism": 4,
                            "podPlayStageParallelism": 4,
                            "podsOnNodeSyncParallelism": 4,
                            "nodeLeaseDurationSeconds": 40,
                            "nodeLeaseParallelism": 2,
                        },
                    },
                    *kwok_stages(layout.settings.sim_job_seconds),
                ],
                sort_keys=False,
            ),
        },
    )
