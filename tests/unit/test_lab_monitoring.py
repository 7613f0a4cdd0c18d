"""Lab 05-monitoring graded on hand-written states: the participant's answer against metrics-server's
figures at grading time."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from kubedojo.labs.catalog import Catalog
from kubedojo.labs.grading import GradingContext, grade
from kubedojo.labs.snapshot import ClusterSnapshot

PROJECT = Path(__file__).resolve().parents[2]
START = datetime(2026, 12, 4, 10, 0, 0, tzinfo=UTC)
LAB = Catalog(PROJECT).get("05-monitoring")


def ts(seconds: int) -> str:
    return (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def experiments(running: bool = True) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    jobs, pods = [], []
    for doc in yaml.safe_load_all(LAB.solution_path.read_text()):
        job = copy.deepcopy(doc)
        name = job["metadata"]["name"]
        job["metadata"].update(uid=f"uid-{name}", creationTimestamp=ts(1))
        job["status"] = {} if running else {"conditions": [{"type": "Complete", "status": "True"}]}
        jobs.append(job)
        pods.append(
            {
                "kind": "Pod",
                "metadata": {
                    "name": f"{name}-x1y2z",
                    "uid": f"pod-{name}",
                    "creationTimestamp": ts(2),
                    "ownerReferences": [{"kind": "Job", "uid": f"uid-{name}", "controller": True}],
                },
                "spec": job["spec"]["template"]["spec"],
                "status": {"phase": "Running" if running else "Succeeded"},
            }
        )
    return jobs, pods


def metrics(pod: str, memory: str) -> dict[str, Any]:
    return {
        "metadata": {"name": pod},
        "containers": [{"name": "train", "usage": {"cpu": "80m", "memory": memory}}],
    }


def answer(text: str) -> dict[str, Any]:
    return {
        "kind": "ConfigMap",
        "metadata": {"name": "monitoring-report", "creationTimestamp": ts(60)},
        "data": {"most_memory": text},
    }


def most_memory(answer_text: str | None, usage: dict[str, str], running: bool = True) -> Any:
    jobs, pods = experiments(running)
    objects = {
        "Job": jobs,
        "Pod": pods,
        "ConfigMap": [answer(answer_text)] if answer_text is not None else [],
        "PodMetrics": [metrics(f"{name}-x1y2z", memory) for name, memory in usage.items()],
    }
    snapshot = ClusterSnapshot("ns", START + timedelta(minutes=2), objects)
    result = grade(GradingContext(LAB, snapshot, START), "me")
    return {c.id: c for c in result.checks}["most-memory"]


USAGE = {"mon-a": "135Mi", "mon-b": "221Mi", "mon-c": "98Mi"}


def test_the_right_answer_passes_and_shows_the_figures() -> None:
    check = most_memory("mon-b", USAGE)
    assert check.status == "passed"
    assert "mon-b 221Mi, mon-a 135Mi, mon-c 98Mi" in check.found


def test_a_wrong_answer_fails_with_the_figures_and_the_hint() -> None:
    check = most_memory("mon-a", USAGE)
    assert check.status == "failed" and "mon-b 221Mi" in check.found and "kubectl" in check.hint


def test_within_the_tolerance_of_the_top_counts() -> None:
    assert most_memory("mon-a", {**USAGE, "mon-a": "205Mi"}).status == "passed"  # 93% of the top
    assert most_memory("mon-a", {**USAGE, "mon-a": "190Mi"}).status == "failed"  # 86%


def test_no_answer_yet_or_no_figures_yet_is_pending() -> None:
    assert most_memory(None, USAGE).status == "pending"
    assert most_memory("  ", USAGE).status == "pending"
    waiting = most_memory("mon-b", {"mon-b": "221Mi"})
    assert waiting.status == "pending" and "1 of 3" in waiting.found


def test_after_the_experiments_finished_there_is_nothing_to_compare_with() -> None:
    check = most_memory("mon-b", {}, running=False)
    assert check.status == "pending" and "finished" in check.found


def test_an_answer_that_is_not_an_experiment_fails() -> None:
    check = most_memory("mon-b-x1y2z", USAGE)
    assert check.status == "failed" and "not one of the experiments" in check.found
