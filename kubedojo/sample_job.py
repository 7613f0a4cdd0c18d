"""A sample training Job: the quickest proof that the cluster trains a model end to end.

It ships the training program in a ConfigMap, runs it from the lab base image as a Job, watches the
Job to its end and reads the accuracy the program printed.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .client.kubeapi import KubeAPI, condition_true
from .errors import ClusterError

__all__ = ["SAMPLE_NAMESPACE", "SampleJobResult", "job_manifest", "run_sample_job"]

SAMPLE_NAMESPACE = "kubedojo-sample"
_ACCURACY = re.compile(r"^Test accuracy:\s*([0-9.]+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class SampleJobResult:
    namespace: str
    job: str
    succeeded: bool
    accuracy: float | None
    seconds: float
    log: str


def training_program() -> str:
    return resources.files("kubedojo.workloads").joinpath("train_digits.py").read_text()


def job_manifest(name: str, image: str, args: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "kubedojo"}},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": 600,
            "ttlSecondsAfterFinished": 3600,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "train",
                            "image": image,
                            "command": ["python3", "/opt/train/train_digits.py"],
                            "args": args,
                            "resources": {
                                "requests": {"cpu": "500m", "memory": "256Mi"},
                                "limits": {"cpu": "1", "memory": "512Mi"},
                            },
                            "volumeMounts": [{"name": "program", "mountPath": "/opt/train"}],
                        }
                    ],
                    "volumes": [{"name": "program", "configMap": {"name": "train-digits"}}],
                },
            },
        },
    }


def run_sample_job(
    client: KubeAPI,
    image: str,
    *,
    timeout: float = 300.0,
    args: tuple[str, ...] = ("30", "relu", "0.0001"),
    namespace: str = SAMPLE_NAMESPACE,
) -> SampleJobResult:
    """Run the sample Job and wait for it; the result says whether it succeeded and its accuracy."""
    started = time.monotonic()
    name = f"sample-train-{int(time.time())}"
    client.apply(
        [
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": namespace,
                    "labels": {"app.kubernetes.io/managed-by": "kubedojo"},
                },
            },
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "train-digits", "namespace": namespace},
                "data": {"train_digits.py": training_program()},
            },
        ]
    )
    client.create(job_manifest(name, image, list(args)), namespace)
    job = client.wait_for(
        f"Job {namespace}/{name} to finish", "Job", _finished, timeout, namespace, name=name
    )
    log = _job_log(client, namespace, name)
    match = _ACCURACY.search(log)
    return SampleJobResult(
        namespace=namespace,
        job=name,
        succeeded=condition_true(job, "Complete"),
        accuracy=float(match.group(1)) if match else None,
        seconds=time.monotonic() - started,
        log=log,
    )


def _finished(job: dict[str, Any]) -> bool:
    return condition_true(job, "Complete") or condition_true(job, "Failed")


def _job_log(client: KubeAPI, namespace: str, job: str) -> str:
    pods = client.pods(namespace, label_selector=f"batch.kubernetes.io/job-name={job}")
    if not pods:
        raise ClusterError(f"Job {namespace}/{job} finished without a pod to read the log of")
    pod = pods[0]["metadata"]["name"]
    log = client.pod_log(namespace, pod, container="train")
    if log is None:
        raise ClusterError(f"cannot read the log of pod {namespace}/{pod}: the node served no log")
    return log
