"""How the control plane is sized for a class submitting at once, on the local cluster and on a
kubespray site alike.

Kubernetes' defaults (the controller manager syncing 5 Jobs at a time at 20 requests per second,
the scheduler at 50) ran the 1200 Jobs of 200 participants x 5 labs in about nine minutes on the
local cluster; these figures bring that down (docs/benchmarks.md, ``bench/class_grading.py``).
"""

from __future__ import annotations

__all__ = ["API_BURST", "API_QPS", "JOB_SYNCS", "controller_manager_flags", "scheduler_client"]

JOB_SYNCS = 50
"""Jobs the controller manager syncs at once (Kubernetes' default: 5)."""
API_QPS = 200
"""Requests per second the controller manager and the scheduler may send (defaults: 20 and 50)."""
API_BURST = 400
"""Their burst above that rate (defaults: 30 and 100)."""


def controller_manager_flags() -> dict[str, str]:
    """kube-controller-manager flags, without their leading dashes."""
    return {
        "concurrent-job-syncs": str(JOB_SYNCS),
        "kube-api-qps": str(API_QPS),
        "kube-api-burst": str(API_BURST),
    }


def scheduler_client() -> dict[str, int]:
    """The scheduler's ``clientConnection`` rate (KubeSchedulerConfiguration)."""
    return {"qps": API_QPS, "burst": API_BURST}
