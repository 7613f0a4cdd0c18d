"""The lab runner's orchestration on the in-memory API (no cluster): the order of its steps, what
it refuses before applying anything, what reset removes, what it records. Whether a real cluster
runs and grades the lab is tested in tests/cluster/test_labs.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubedojo.client.fake import FakeKube
from kubedojo.client.kinds import KindInfo
from kubedojo.errors import ConfigError, Invalid
from kubedojo.labs.catalog import Catalog
from kubedojo.labs.records import ResultStore
from kubedojo.labs.runner import LabRunner
from kubedojo.labs.session import session_name

from .fakecluster import finishing_jobs, namespace

PROJECT = Path(__file__).resolve().parents[2]
NS = "lab-tester"
LOG = "Epoch 5/5 loss 0.1\nTest accuracy: 0.95\n"


class Recorder:
    """A LabReporter that keeps what it was told."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def step(self, title: str) -> Any:
        import contextlib

        self.lines.append(f"step {title}")
        return contextlib.nullcontext()

    watching = step

    def note(self, message: str) -> None:
        self.lines.append(f"note {message}")

    def pod(self, name: str, phase: str, detail: str) -> None:
        self.lines.append(f"pod {name} {phase} {detail}")

    def log(self, pod: str, line: str) -> None:
        self.lines.append(f"log {pod} {line}")


@pytest.fixture
def fake() -> FakeKube:
    fake = FakeKube()
    namespace(fake, NS)
    return fake


def runner(fake: FakeKube, tmp_path: Path, images: list[str] | None = None) -> LabRunner:
    built = images if images is not None else []
    return LabRunner(
        fake, ResultStore(tmp_path / "results"), reporter=Recorder(), images=lambda lab: built.append(lab.id)
    )


def lab01() -> Any:
    return Catalog(PROJECT).get("01-run-job")


def test_run_applies_follows_and_grades_the_solution(fake: FakeKube, tmp_path: Path) -> None:
    fake.react("Job", finishing_jobs(lambda job: LOG))
    built: list[str] = []
    lab = lab01()
    result = runner(fake, tmp_path, built).run(lab, PROJECT / "labs/01-run-job/solution.yaml", NS, "tester")

    assert built == ["01-run-job"]
    assert result.score == result.max_score, [(c.id, c.status, c.found) for c in result.checks]
    assert result.status == "passed"
    assert result.attempt == 1
    assert Path(tmp_path / "results").rglob("*.json")
    # The start was recorded before the submission was applied.
    writes = [what for verb, what in fake.history if verb in ("apply", "create")]
    assert writes.index(f"ConfigMap/{session_name(lab.id)}") < writes.index("Job/handson-01")


def test_a_refused_object_applies_nothing(fake: FakeKube, tmp_path: Path) -> None:
    def refuse(verb: str, obj: dict[str, Any]) -> None:
        if obj["kind"] == "Job":
            raise Invalid('Job.batch "handson-01" is invalid: spec.backoffLimit: Invalid value: -1')

    fake.refuse = refuse
    result = runner(fake, tmp_path).run(lab01(), PROJECT / "labs/01-run-job/solution.yaml", NS, "tester")

    assert result.status == "failed"
    assert result.refused is not None and "spec.backoffLimit" in result.refused
    assert result.refused.startswith("Job/handson-01: ")
    assert fake.find("Job", "handson-01", NS) is None


def test_a_job_that_never_finishes_ends_the_wait_at_the_timeout(fake: FakeKube, tmp_path: Path) -> None:
    lab_runner = runner(fake, tmp_path)
    result = lab_runner.run(lab01(), PROJECT / "labs/01-run-job/solution.yaml", NS, "tester", timeout=0.5)
    complete = next(c for c in result.checks if c.id == "complete")
    assert complete.status == "pending"
    assert isinstance(lab_runner.reporter, Recorder)
    assert "note stopped waiting after 0.5 s; unfinished checks are pending" in lab_runner.reporter.lines


def test_a_second_run_removes_the_previous_attempt_first(fake: FakeKube, tmp_path: Path) -> None:
    fake.react("Job", finishing_jobs(lambda job: LOG))
    lab = lab01()
    lab_runner = runner(fake, tmp_path)
    lab_runner.run(lab, PROJECT / "labs/01-run-job/solution.yaml", NS, "tester")
    fake.history.clear()
    second = lab_runner.run(lab, PROJECT / "labs/01-run-job/solution.yaml", NS, "tester")

    assert ("delete", "Job/handson-01") in fake.history
    assert fake.history.index(("delete", "Job/handson-01")) < fake.history.index(("apply", "Job/handson-01"))
    assert second.attempt == 2 and second.status == "passed"


def test_reset_removes_the_labs_objects_and_nothing_else(fake: FakeKube, tmp_path: Path) -> None:
    fake.react("Job", finishing_jobs(lambda job: LOG))
    lab = lab01()
    lab_runner = runner(fake, tmp_path)
    lab_runner.run(lab, PROJECT / "labs/01-run-job/solution.yaml", NS, "tester")
    fake.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mine", "namespace": NS}})

    removed = lab_runner.reset(lab, NS)

    assert set(removed) == {"Job/handson-01", f"ConfigMap/{session_name(lab.id)}"}
    assert fake.pods(NS) == []  # the Job's pod went with it
    assert [c["metadata"]["name"] for c in fake.list("ConfigMap", NS)] == ["mine"]


def test_check_refuses_a_lab_that_was_not_started(fake: FakeKube, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="was not started"):
        runner(fake, tmp_path).check(lab01(), NS, "tester")
    assert fake.history == []


def test_check_grades_work_submitted_with_kubectl(fake: FakeKube, tmp_path: Path) -> None:
    import yaml

    fake.react("Job", finishing_jobs(lambda job: LOG))
    lab = lab01()
    lab_runner = runner(fake, tmp_path)
    lab_runner.start(lab, NS, "tester")
    for doc in yaml.safe_load_all((PROJECT / "labs/01-run-job/solution.yaml").read_text()):
        fake.apply_one(doc, NS)

    first = lab_runner.check(lab, NS, "tester")
    second = lab_runner.check(lab, NS, "tester")

    assert first.status == second.status == "passed"
    assert first.requests == second.requests
    assert second.attempt == first.attempt + 1


def test_a_stuck_job_ends_the_run_at_once_with_its_cause(fake: FakeKube, tmp_path: Path) -> None:
    import time

    def image_not_found(fake: FakeKube, event: str, job: dict[str, Any]) -> None:
        if event != "ADDED":
            return
        meta = job["metadata"]
        fake.put(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"{meta['name']}-pod",
                    "namespace": meta["namespace"],
                    "labels": {"batch.kubernetes.io/job-name": meta["name"]},
                },
                "spec": job["spec"]["template"]["spec"],
                "status": {
                    "phase": "Pending",
                    "containerStatuses": [
                        {
                            "name": "train",
                            "state": {"waiting": {"reason": "ErrImagePull", "message": "not found"}},
                        }
                    ],
                },
            }
        )

    fake.react("Job", image_not_found)
    lab_runner = runner(fake, tmp_path)
    began = time.monotonic()
    result = lab_runner.run(lab01(), PROJECT / "labs/01-run-job/solution.yaml", NS, "tester")

    assert time.monotonic() - began < 10  # not the lab's 15-minute limit
    complete = next(c for c in result.checks if c.id == "complete")
    assert complete.status == "failed"
    assert "cannot be pulled (ErrImagePull: not found)" in complete.found
    assert "containers[name=train].image" in complete.hint
    assert result.extra["stuck"]["subject"] == "Pod/handson-01-pod"
    assert result.evidence is not None and Path(result.evidence, "objects.jsonl").exists()
    assert isinstance(lab_runner.reporter, Recorder)
    assert any(
        line.startswith("note stopped: Pod/handson-01-pod: container train")
        for line in lab_runner.reporter.lines
    )


def test_reset_removes_what_the_labs_jobs_use_under_any_name(fake: FakeKube, tmp_path: Path) -> None:
    import yaml

    lab = Catalog(PROJECT).get("04-hyperparams")
    config_map, job = yaml.safe_load_all((PROJECT / "labs/04-hyperparams/solution.yaml").read_text())
    config_map["metadata"]["name"] = "my-own-hp"  # the participant's own name for it
    job["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] = "my-own-hp"
    lab_runner = runner(fake, tmp_path)
    lab_runner.start(lab, NS, "tester")
    for doc in (config_map, job):
        fake.apply_one(doc, NS)
    fake.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unrelated", "namespace": NS}})

    removed = lab_runner.reset(lab, NS)

    assert {"Job/handson-04", "ConfigMap/my-own-hp"} <= set(removed)
    assert [c["metadata"]["name"] for c in fake.list("ConfigMap", NS)] == ["unrelated"]


def test_a_lab_of_pytorchjobs_where_none_are_served_says_how_to_turn_the_operator_on(
    fake: FakeKube, tmp_path: Path
) -> None:
    lab = Catalog(PROJECT).get("11-pytorchjob")
    with pytest.raises(
        ConfigError, match=r"runs PyTorchJobs, and this cluster serves none: turn the training"
    ):
        runner(fake, tmp_path).run(lab, lab.solution_path, NS, "tester")
    assert not [what for verb, what in fake.history if what.startswith("PyTorchJob/")]


def test_a_lab_of_experiments_where_none_are_served_says_how_to_turn_katib_on(
    fake: FakeKube, tmp_path: Path
) -> None:
    lab = Catalog(PROJECT).get("12-katib")
    with pytest.raises(
        ConfigError, match=r"runs Katib Experiments, and this cluster serves none: turn Katib on"
    ):
        runner(fake, tmp_path).run(lab, lab.solution_path, NS, "tester")
    assert not [what for verb, what in fake.history if what.startswith("Experiment/")]


def test_lab_12_reset_deletes_the_experiment_and_the_answer_only(fake: FakeKube, tmp_path: Path) -> None:
    lab = Catalog(PROJECT).get("12-katib")
    fake.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "katib-report", "namespace": NS}})
    fake.put({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "unrelated", "namespace": NS}})
    removed = runner(fake, tmp_path).reset(lab, NS)
    assert "ConfigMap/katib-report" in removed
    assert [c["metadata"]["name"] for c in fake.list("ConfigMap", NS)] == ["unrelated"]


def test_lab_11_reset_deletes_its_pytorchjob_without_the_submission(fake: FakeKube, tmp_path: Path) -> None:
    lab = Catalog(PROJECT).get("11-pytorchjob")
    fake.add_kind(KindInfo("PyTorchJob", "kubeflow.org/v1", "pytorchjobs", True))
    fake.put(
        {
            "apiVersion": "kubeflow.org/v1",
            "kind": "PyTorchJob",
            "metadata": {"name": "digits-11", "namespace": NS},
        }
    )
    assert "PyTorchJob/digits-11" in runner(fake, tmp_path).reset(lab, NS)
    assert fake.list("PyTorchJob", NS) == []
