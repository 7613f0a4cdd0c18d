"""Scenes for orchestration tests on :class:`~kubedojo.client.fake.FakeKube`: what a test means a
cluster to do (a Job that finishes and logs, one that never starts), written as reactions.

These stand in for controllers only so that the orchestrators' own logic (wait, reset, record,
report, refuse) can be tested in milliseconds; what a real cluster does is tested in tests/cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubedojo.client.fake import FakeKube

Obj = dict[str, Any]


def namespace(fake: FakeKube, name: str) -> None:
    fake.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def finishing_jobs(log: Callable[[Obj], str], condition: str = "Complete") -> Callable[..., None]:
    """A reaction that runs every new Job at once: one pod that printed ``log(job)`` and ended,
    and the Job's ``condition`` (Complete or Failed)."""

    def react(fake: FakeKube, event: str, job: Obj) -> None:
        if event != "ADDED":
            return
        meta = job["metadata"]
        pod_name = f"{meta['name']}-pod"
        succeeded = condition == "Complete"
        container = job["spec"]["template"]["spec"]["containers"][0]
        fake.put(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": pod_name,
                    "namespace": meta["namespace"],
                    "labels": {"batch.kubernetes.io/job-name": meta["name"], "job-name": meta["name"]},
                    "ownerReferences": [
                        {"kind": "Job", "name": meta["name"], "uid": meta["uid"], "controller": True}
                    ],
                },
                "spec": job["spec"]["template"]["spec"],
                "status": {
                    "phase": "Succeeded" if succeeded else "Failed",
                    "containerStatuses": [
                        {
                            "name": container["name"],
                            "state": {
                                "terminated": {
                                    "exitCode": 0 if succeeded else 1,
                                    "reason": "Completed" if succeeded else "Error",
                                }
                            },
                        }
                    ],
                },
            }
        )
        fake.logs[(meta["namespace"], pod_name, container["name"])] = log(job)
        finished = {**job, "status": {"conditions": [{"type": condition, "status": "True"}]}}
        fake.put(finished)

    return react
