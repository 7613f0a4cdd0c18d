"""Lab 11 on the real local cluster, with the real training operator (v1.9.4, built here) and PyTorch
(2.15.0 from PyPI, in kubedojo's image): the reference solution to full marks by ``lab.run``,
``lab.check`` and the class grading alike, its two ranks in one process group with equal weights; a
master alone (world size 1) to the failed checks with their hints; a worker whose container is not
named ``pytorch``, refused by the operator's webhook before anything runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubedojo.addons import Addons
from kubedojo.labs import LabRunner

from .labtools import CATALOG, assert_full_marks, assert_partial, every_route, run, side_by_side, variant

pytestmark = pytest.mark.cluster


def _replicas(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return docs[0]["spec"]["pytorchReplicaSpecs"]  # type: ignore[no-any-return]


def test_11_solution_by_every_route_and_a_master_alone(
    training_operator: Addons, lab_runner: LabRunner, namespace: str, other_namespace: str, tmp_path: Path
) -> None:
    lab = CATALOG.get("11-pytorchjob")
    alone = variant(lab, tmp_path, lambda docs: _replicas(docs).pop("Worker"))
    good, bad = side_by_side(
        lambda: every_route(lab_runner, lab.id, lab.solution_path, namespace, tmp_path / "results", 600),
        lambda: run(lab_runner, lab.id, alone, other_namespace, timeout=600, participant="tester-b"),
    )
    assert_full_marks(good)
    found = {c.id: c.found for c in good.checks}
    assert "ranks 0 and 1, world size 2" in found["one-group"]
    assert_partial(bad, {"replicas", "both-ran", "one-group"}, "Worker")
    assert "no worker pod" in {c.id: c.found for c in bad.checks}["both-ran"]


def test_11_a_worker_without_a_pytorch_container_is_refused_before_it_runs(
    training_operator: Addons, lab_runner: LabRunner, namespace: str, tmp_path: Path
) -> None:
    lab = CATALOG.get("11-pytorchjob")

    def rename(docs: list[dict[str, Any]]) -> None:
        _replicas(docs)["Worker"]["template"]["spec"]["containers"][0]["name"] = "train"

    result = run(lab_runner, lab.id, variant(lab, tmp_path, rename), namespace)
    assert result.refused is not None and "pytorch" in result.refused, result.refused
    assert result.score == 0
