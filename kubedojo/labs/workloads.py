"""What a submission runs: the kinds ``lab.run`` follows to their end and grades when they are final
(Jobs, Argo Workflows, Kubeflow's PyTorchJobs and Katib's Experiments), described once so that
following, waiting, resetting and grading are the same code for every kind.

A workload kind says when an object of it is final (and how it ended), which label names it on its
pods, and which container of those pods is the one whose log the live view follows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .integrity import KATIB_COLLECTOR
from .objects import job_finished

__all__ = [
    "EXPERIMENT_LABEL",
    "TRAINING_JOB_LABEL",
    "WORKFLOW_LABEL",
    "WORKLOADS",
    "Workload",
    "done",
    "experiment_finished",
    "final_state",
    "training_job_finished",
    "workflow_finished",
    "workload_of_pod",
]

Obj = dict[str, Any]

WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
"""The label Argo's controller puts on a Workflow's pods: the Workflow's name."""
_WORKFLOW_FINAL = ("Succeeded", "Failed", "Error")


def workflow_finished(workflow: Obj) -> Obj | None:
    """The Workflow's end as a condition (``type``: Succeeded, Failed or Error; ``message``: the
    controller's), or None while it is pending or running."""
    status = workflow.get("status") or {}
    phase = status.get("phase")
    if phase not in _WORKFLOW_FINAL:
        return None
    return {"type": phase, "message": status.get("message") or ""}


TRAINING_JOB_LABEL = "training.kubeflow.org/job-name"
"""The label Kubeflow's training operator puts on a job's pods: the job's name."""


def training_job_finished(job: Obj) -> Obj | None:
    """A Kubeflow training job's end (``type`` Succeeded or Failed, with the operator's reason and
    message), or None while it is created, running or restarting."""
    for condition in (job.get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Succeeded", "Failed") and condition.get("status") == "True":
            return {
                "type": condition["type"],
                "reason": condition.get("reason") or "",
                "message": condition.get("message") or "",
            }
    return None


EXPERIMENT_LABEL = "katib.kubeflow.org/experiment"
"""The label Katib puts on an Experiment's Trials and on its trials' pods: the Experiment's name."""


def experiment_finished(experiment: Obj) -> Obj | None:
    """A Katib Experiment's end (``type`` Succeeded or Failed, with the controller's reason, such as
    MaxTrialsReached or GoalReached, and message), or None while it is created, running or
    restarting. Succeeded comes only once every trial it started has ended."""
    return training_job_finished(experiment)  # the same condition types and meaning


@dataclass(frozen=True)
class Workload:
    kind: str
    pod_label: str
    """The label on the workload's pods whose value is the workload's name."""
    finished: Callable[[Obj], Obj | None]
    """The final condition (``type``, ``reason``, ``message``), or None while it runs."""
    log_container: str | None
    """The container of its pods whose log the live view follows (None: the lab's container)."""
    succeeded: str
    """The ``type`` of :attr:`finished` that means it did what it was asked."""
    settles_pods: bool = False
    """Having succeeded, it is done only once all its pods have ended: a PyTorchJob succeeds with
    its master, and its workers end a moment later."""


WORKLOADS: dict[str, Workload] = {
    "Job": Workload("Job", "batch.kubernetes.io/job-name", job_finished, None, "Complete"),
    "Workflow": Workload("Workflow", WORKFLOW_LABEL, workflow_finished, "main", "Succeeded"),
    "PyTorchJob": Workload(
        "PyTorchJob", TRAINING_JOB_LABEL, training_job_finished, "pytorch", "Succeeded", settles_pods=True
    ),
    # A trial's training container writes to the file Katib's collector reads; the collector prints
    # each line of it, so its log is the one to follow.
    "Experiment": Workload("Experiment", EXPERIMENT_LABEL, experiment_finished, KATIB_COLLECTOR, "Succeeded"),
}
"""Every kind ``lab.run`` follows, by kind."""


def final_state(obj: Obj) -> Obj | None:
    """How a workload of any kind ended, or None while it runs (or when it is no workload)."""
    workload = WORKLOADS.get(str(obj.get("kind")))
    return None if workload is None else workload.finished(obj)


def done(workload: Obj, pods: Iterable[Mapping[str, Any]]) -> bool:
    """Final, and for a kind that :attr:`Workload.settles_pods`, having succeeded, with every pod it
    owns (among ``pods``) ended; one that failed is done at once (it may leave pods waiting for ever)."""
    kind = WORKLOADS[str(workload.get("kind"))]
    ended = kind.finished(workload)
    if ended is None:
        return False
    if not kind.settles_pods or ended.get("type") != kind.succeeded:
        return True
    uid = workload["metadata"].get("uid")
    return all(
        ((p.get("status") or {}).get("phase")) in ("Succeeded", "Failed")
        for p in pods
        if any(r.get("uid") == uid for r in (p.get("metadata") or {}).get("ownerReferences") or [])
    )


def workload_of_pod(pod: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, name) of the workload a pod belongs to, by its label; None for a pod of no workload.
    A pod of a Job that another workload made (a Katib trial's) belongs to that workload."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    for workload in sorted(WORKLOADS.values(), key=lambda w: w.kind == "Job"):
        name = labels.get(workload.pod_label)
        if name:
            return workload.kind, str(name)
    return None
