"""Lab 12 on the real local cluster, with Katib v0.19.0 as kubedojo builds it: the reference solution
(random search, four trials, two at a time) to full marks by ``lab.run``, ``lab.check`` and the class
grading alike once the answer names the best trial; each trial's pod is Katib's rewrite of the
template (its command one ``sh -c`` line, the collector beside it, one process namespace) and still
counts as the lab's code. A search that gives ``--hidden`` a fixed value instead of Katib's (the
suggestion put in an environment variable the script does not read), with an answer naming the worst
trial, fails exactly those checks, with their hints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubedojo.addons import Addons
from kubedojo.classroom.grading import grade_class
from kubedojo.client.kube import KubeClient
from kubedojo.labs import LabRunner
from kubedojo.labs.program import KATIB_WRAPPER
from kubedojo.labs.records import ResultStore
from kubedojo.labs.results import LabResult

from .labtools import CATALOG, assert_full_marks, assert_partial, run, side_by_side, variant

pytestmark = pytest.mark.cluster

KATIB = "kubeflow.org/v1beta1"
LAB = "12-katib"


def _answer(admin: KubeClient, namespace: str, trial: str) -> None:
    admin.apply_one(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "katib-report"},
            "data": {"best_trial": trial},
        },
        namespace,
    )


def _accuracies(admin: KubeClient, namespace: str) -> dict[str, float]:
    return {
        t["metadata"]["name"]: float(t["status"]["observation"]["metrics"][0]["latest"])
        for t in admin.list("Trial", namespace, api_version=KATIB)
    }


def _fixed_hidden(docs: list[dict[str, Any]]) -> None:
    """--hidden=32 in every trial, whatever Katib suggests for hidden: its trial parameter is put in
    the environment, which train_trial.py does not read (Katib requires every trial parameter to be
    used somewhere in the template, and every search parameter to be some trial parameter's)."""
    (container,) = docs[0]["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"]
    container["command"][3] = "--hidden=32"
    container["env"] = [{"name": "HIDDEN_UNITS", "value": "${trialParameters.hiddenUnits}"}]


def _verdicts(result: LabResult) -> dict[str, tuple[str, int]]:
    return {c.id: (c.status, c.earned) for c in result.checks}


def test_12_solution_by_every_route_and_a_search_that_ignores_a_suggestion(
    katib: Addons,
    lab_runner: LabRunner,
    admin: KubeClient,
    namespace: str,
    other_namespace: str,
    tmp_path: Path,
) -> None:
    lab = CATALOG.get(LAB)
    fixed = variant(lab, tmp_path, _fixed_hidden)
    ran, wrong = side_by_side(
        lambda: run(lab_runner, LAB, lab.solution_path, namespace, timeout=600),
        lambda: run(lab_runner, LAB, fixed, other_namespace, timeout=600, participant="tester-b"),
    )
    # The run grades before there is an answer: everything else passes.
    assert {c.id: c.status for c in ran.checks if c.status != "passed"} == {"answer": "pending"}, [
        (c.id, c.status, c.found) for c in ran.checks
    ]
    assert "4 trials" in {c.id: c.found for c in ran.checks}["trials-ran"]
    assert wrong.refused is None and {c.id: c.status for c in wrong.checks}["experiment"] == "failed"

    # What the grader accepted is Katib's rewrite of the template, with kubedojo's collector beside it.
    # The trials' pods (the suggestion service's carries the experiment's label too, not a trial's).
    pods = admin.pods(
        namespace, label_selector="katib.kubeflow.org/experiment=digits-12,katib.kubeflow.org/trial"
    )
    assert len(pods) == 4, [p["metadata"]["name"] for p in pods]
    for pod in pods:
        spec = pod["spec"]
        assert spec.get("shareProcessNamespace") is True
        training, collector = spec["containers"]
        assert training["command"] == ["sh", "-c"] and training["args"][0].endswith(KATIB_WRAPPER)
        assert (
            collector["name"] == "metrics-logger-and-collector"
            and "katib-file-metrics-collector" in collector["image"]
        )

    accuracies = _accuracies(admin, namespace)
    best = max(accuracies, key=lambda name: accuracies[name])
    experiment = admin.get("Experiment", "digits-12", namespace, api_version=KATIB)
    assert experiment["status"]["currentOptimalTrial"]["bestTrialName"] == best
    _answer(admin, namespace, best)
    checked = lab_runner.check(lab, namespace, "tester")
    graded = grade_class(
        lab_runner.client,
        [lab],
        {"tester": namespace},
        ResultStore(tmp_path / "results"),
        lab_runner.reader,
        digests=lab_runner.digests,
    )
    assert_full_marks(checked)
    assert _verdicts(checked) == _verdicts(graded.results[0])

    # The other search: every trial trained 32 hidden units, whatever Katib assigned; its answer
    # names the worst trial.
    others = _accuracies(admin, other_namespace)
    _answer(admin, other_namespace, min(others, key=lambda name: others[name]))
    bad = lab_runner.check(lab, other_namespace, "tester-b")
    assert_partial(bad, {"experiment", "trials-ran", "answer"}, "--hidden")
    found = {c.id: c.found for c in bad.checks}
    assert "its training ran with --hidden=32" in found["trials-ran"], found["trials-ran"]
