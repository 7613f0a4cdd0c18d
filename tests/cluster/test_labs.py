"""Every lab on the real cluster: the reference solution scores full marks; typical wrong submissions
(the pitfalls of the labs catalogue) score partial credit with the right hint; a malformed manifest
is refused before anything is applied."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubedojo.client.kube import KubeClient
from kubedojo.errors import ConfigError
from kubedojo.labs import LabRunner

from .labtools import (
    CATALOG,
    assert_full_marks,
    assert_partial,
    container,
    named,
    render,
    run,
    solution,
    variant,
    write,
)

pytestmark = pytest.mark.cluster


def nothing_applied(admin: KubeClient, namespace: str) -> None:
    assert admin.list("Job", namespace) == []
    assert admin.list("PersistentVolumeClaim", namespace) == []


# -- 01 run a Job -------------------------------------------------------------------------------


def test_01_solution(lab_runner: LabRunner, namespace: str) -> None:
    lab = CATALOG.get("01-run-job")
    assert_full_marks(run(lab_runner, lab.id, lab.solution_path, namespace))


def test_01_args_as_numbers_are_refused_with_partial_credit(
    lab_runner: LabRunner, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    lab = CATALOG.get("01-run-job")
    manifest = variant(lab, tmp_path, lambda docs: container(docs[0]).update(args=[5, "relu", 0.0001]))
    result = run(lab_runner, lab.id, manifest, namespace)
    assert result.refused and "args" in result.refused
    assert_partial(result, {"args-strings", "complete", "all-epochs", "accuracy"}, "quote")
    nothing_applied(admin, namespace)


def test_01_wrong_activation_fails_the_run(lab_runner: LabRunner, namespace: str, tmp_path: Path) -> None:
    lab = CATALOG.get("01-run-job")
    manifest = variant(lab, tmp_path, lambda docs: container(docs[0]).update(args=["5", "softmax", "0.0001"]))
    result = run(lab_runner, lab.id, manifest, namespace)
    assert_partial(result, {"complete", "all-epochs", "accuracy"}, "wrong argument")
    assert result.evidence is not None
    evidence = Path(result.evidence)
    logs = list((evidence / "logs").glob("*.log"))
    assert logs and "softmax" in logs[0].read_text()
    assert "handson-01" in (evidence / "objects.jsonl").read_text()


def test_01_malformed_manifest_is_refused_before_anything(
    lab_runner: LabRunner, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    lab = CATALOG.get("01-run-job")
    bad = tmp_path / "job.yaml"
    bad.write_text(lab.solution_path.read_text().replace("name: handson-01", "name: ml-job-"))
    with pytest.raises(ConfigError, match="'ml-job-' is not a valid name"):
        run(lab_runner, lab.id, bad, namespace)
    bad.write_text(lab.solution_path.read_text() + "---\nkind: Job\nmetadata: {name: second}\n")
    with pytest.raises(ConfigError, match=r"\(document 2\): missing 'apiVersion'"):
        run(lab_runner, lab.id, bad, namespace)
    nothing_applied(admin, namespace)
    with pytest.raises(ConfigError, match="still '___'"):
        run(lab_runner, lab.id, lab.starter_path, namespace)
    nothing_applied(admin, namespace)


# -- 02 save the model on a claim ------------------------------------------------------------------


def test_02_solution_file_is_on_the_volume(lab_runner: LabRunner, namespace: str) -> None:
    lab = CATALOG.get("02-save-model")
    result = run(lab_runner, lab.id, lab.solution_path, namespace)
    assert_full_marks(result)
    assert ".joblib" in next(c.found for c in result.checks if c.id == "model-file")


def test_02_mounted_elsewhere(lab_runner: LabRunner, namespace: str, tmp_path: Path) -> None:
    lab = CATALOG.get("02-save-model")
    manifest = variant(
        lab,
        tmp_path,
        lambda d: container(named(d, "Job", "handson-02"))["volumeMounts"][0].update(mountPath="/models"),
    )
    assert_partial(
        run(lab_runner, lab.id, manifest, namespace), {"mounted", "complete", "model-file"}, "mount the claim"
    )


def test_02_no_storage_class_named_is_graded_alike_by_every_route(
    lab_runner: LabRunner, namespace: str, tmp_path: Path
) -> None:
    """Without storageClassName the API server gives the claim the default class, nfs-storage here:
    the claim uses nfs-storage, and lab.run (the API server's dry-run answer) and lab.check (the live
    claim) both grade what is stored. (It scored 9/10 one way and 10/10 the other.)"""
    lab = CATALOG.get("02-save-model")
    manifest = variant(
        lab,
        tmp_path,
        lambda d: named(d, "PersistentVolumeClaim", "model-storage")["spec"].pop("storageClassName"),
    )
    by_run = run(lab_runner, lab.id, manifest, namespace)
    by_check = lab_runner.check(lab, namespace, "tester")
    assert_full_marks(by_run)
    assert [(c.id, c.status) for c in by_check.checks] == [(c.id, c.status) for c in by_run.checks]


# -- 03 out of memory -----------------------------------------------------------------------------


def test_03_solution(lab_runner: LabRunner, admin: KubeClient, namespace: str) -> None:
    lab = CATALOG.get("03-exception")
    result = run(lab_runner, lab.id, lab.solution_path, namespace)
    assert_full_marks(result)
    assert "OOMKilled (exit code 137)" in next(c.found for c in result.checks if c.id == "oom-killed")


def test_03_crash_is_not_an_oom(lab_runner: LabRunner, namespace: str, tmp_path: Path) -> None:
    lab = CATALOG.get("03-exception")
    manifest = variant(
        lab,
        tmp_path,
        lambda d: container(named(d, "Job", "handson-03")).update(args=["lots", "relu", "0.0001"]),
    )
    result = run(lab_runner, lab.id, manifest, namespace)
    assert_partial(result, {"oom-killed"}, "ordinary crash")
    assert "Error (exit code 2)" in next(c.found for c in result.checks if c.id == "oom-killed")


def test_03_limit_below_request_is_refused(
    lab_runner: LabRunner, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    lab = CATALOG.get("03-exception")
    manifest = variant(
        lab,
        tmp_path,
        lambda d: container(named(d, "Job", "handson-03"))["resources"]["limits"].update(memory="64Mi"),
    )
    result = run(lab_runner, lab.id, manifest, namespace)
    assert result.refused and "memory" in result.refused
    assert_partial(
        result,
        {"memory-limit", "oom-killed", "job-failed", "steady-complete", "node-healthy"},
        "limits.memory",
    )
    nothing_applied(admin, namespace)


# -- 04 hyper-parameters from a ConfigMap -------------------------------------------------------------


def test_04_solution(lab_runner: LabRunner, namespace: str) -> None:
    lab = CATALOG.get("04-hyperparams")
    assert_full_marks(run(lab_runner, lab.id, lab.solution_path, namespace))


def test_04_quoted_epochs(lab_runner: LabRunner, namespace: str, tmp_path: Path) -> None:
    lab = CATALOG.get("04-hyperparams")

    def quote(docs: list[dict[str, Any]]) -> None:
        cm = named(docs, "ConfigMap", "model-hp")
        cm["data"]["exp.yaml"] = 'args: ["10", relu, 0.001]\n'

    result = run(lab_runner, lab.id, variant(lab, tmp_path, quote), namespace)
    assert_partial(result, {"hp-file", "complete", "used-config"}, "none of them quoted")


def test_04_config_mounted_elsewhere(lab_runner: LabRunner, namespace: str, tmp_path: Path) -> None:
    lab = CATALOG.get("04-hyperparams")
    manifest = variant(
        lab,
        tmp_path,
        lambda d: container(named(d, "Job", "handson-04"))["volumeMounts"][0].update(mountPath="/config"),
    )
    assert_partial(
        run(lab_runner, lab.id, manifest, namespace), {"mounted", "complete", "used-config"}, "/model_hp"
    )


# -- 05 many experiments --------------------------------------------------------------------------


def experiments(admin: KubeClient, tmp_path: Path, edit: Any = None) -> Path:
    """Render the lab's experiments with make_jobs.py, CPU requests sized so that three fit on this node."""
    import yaml

    from kubedojo.quantity import parse_quantity

    lab = CATALOG.get("05-many-jobs")
    node = next(n for n in admin.nodes() if not n["metadata"]["name"].startswith("sim-"))
    cpu = float(parse_quantity(node["status"]["allocatable"]["cpu"]))
    per_job = int(cpu * 1000 * 0.9 / 3)  # three fit (with room for CoreDNS), four do not
    data = yaml.safe_load((lab.directory / "solution-experiments.yaml").read_text())
    data["resources"]["cpu"] = f"{per_job}m"
    if edit:
        edit(data)
    source = tmp_path / "experiments.yaml"
    source.write_text(yaml.safe_dump(data))
    return write(render(lab.handson_dir / "make_jobs.py", str(source), cwd=tmp_path), tmp_path / "jobs.yaml")


def test_05_solution(lab_runner: LabRunner, admin: KubeClient, namespace: str, tmp_path: Path) -> None:
    result = run(lab_runner, "05-many-jobs", experiments(admin, tmp_path), namespace, timeout=600)
    assert_full_marks(result)


def test_05_without_resources_everything_starts_at_once(
    lab_runner: LabRunner, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    jobs_file = experiments(admin, tmp_path)
    import yaml

    docs = [d for d in yaml.safe_load_all(jobs_file.read_text()) if d]
    for doc in docs:
        container(doc).pop("resources", None)
        doc["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "MAX_MB", "value": "300"}]
    result = run(lab_runner, "05-many-jobs", write(docs, tmp_path / "jobs.yaml"), namespace, timeout=600)
    assert_partial(result, {"cpu-requests", "queued", "parallel", "oom-expected"}, "requests")


# -- do it more: time limit and retries --------------------------------------------------------------


def test_more1_solution(lab_runner: LabRunner, namespace: str) -> None:
    lab = CATALOG.get("more-1-deadline-retries")
    assert_full_marks(run(lab_runner, lab.id, lab.solution_path, namespace))


def test_more1_deadline_in_the_pod_template(lab_runner: LabRunner, namespace: str, tmp_path: Path) -> None:
    lab = CATALOG.get("more-1-deadline-retries")

    def move(docs: list[dict[str, Any]]) -> None:
        docs[0]["spec"]["template"]["spec"]["activeDeadlineSeconds"] = docs[0]["spec"].pop(
            "activeDeadlineSeconds"
        )

    assert_partial(
        run(lab_runner, lab.id, variant(lab, tmp_path, move), namespace),
        {"deadline"},
        "belongs to the Job's spec",
    )


def test_more1_deadline_too_short_is_deadline_exceeded(
    lab_runner: LabRunner, namespace: str, tmp_path: Path
) -> None:
    lab = CATALOG.get("more-1-deadline-retries")

    def too_long(docs: list[dict[str, Any]]) -> None:
        docs[0]["spec"]["activeDeadlineSeconds"] = 5
        container(docs[0])["args"] = ["100000", "relu", "0.0001"]

    manifest = variant(lab, tmp_path, too_long)
    result = run(lab_runner, lab.id, manifest, namespace)
    assert_partial(result, {"deadline", "complete", "accuracy"}, "DeadlineExceeded")
    assert "DeadlineExceeded" in next(c.found for c in result.checks if c.id == "complete")


# -- do it more: requests and limits ---------------------------------------------------------------


def test_more2_solution_other_units(lab_runner: LabRunner, namespace: str) -> None:
    lab = CATALOG.get("more-2-requests-limits")
    assert_full_marks(run(lab_runner, lab.id, lab.solution_path, namespace))


def test_more2_guaranteed_is_not_burstable(lab_runner: LabRunner, namespace: str, tmp_path: Path) -> None:
    lab = CATALOG.get("more-2-requests-limits")
    manifest = variant(
        lab, tmp_path, lambda d: container(d[0])["resources"].update(requests={"cpu": "1", "memory": "1Gi"})
    )
    # 1 CPU and 1Gi are at least 100m and 500Mi: only the QoS class tells.
    assert_partial(run(lab_runner, lab.id, manifest, namespace), {"burstable"}, "Guaranteed")


def test_more2_limit_below_request_refused(
    lab_runner: LabRunner, admin: KubeClient, namespace: str, tmp_path: Path
) -> None:
    lab = CATALOG.get("more-2-requests-limits")
    manifest = variant(lab, tmp_path, lambda d: container(d[0])["resources"]["limits"].update(memory="400Mi"))
    result = run(lab_runner, lab.id, manifest, namespace)
    assert result.refused
    # 400Mi is at most 1Gi: the memory-limit check passes; the limit below its request does not.
    assert_partial(result, {"limits-cover", "burstable", "complete"}, "refused by the API server")
    nothing_applied(admin, namespace)


# -- do it more: a directory on the node ---------------------------------------------------------------


@pytest.fixture(autouse=False)
def host_results() -> Any:
    """The lab writes into the node's /var/tmp/kubedojo-results; leave the machine as it was."""
    import shutil

    target = Path("/var/tmp/kubedojo-results")
    existed = target.exists()
    yield target
    if not existed:
        shutil.rmtree(target, ignore_errors=True)


def test_more3_solution(lab_runner: LabRunner, namespace: str, host_results: Path) -> None:
    lab = CATALOG.get("more-3-host-dir")
    assert_full_marks(run(lab_runner, lab.id, lab.solution_path, namespace))


def test_more3_a_host_path_is_refused_by_pod_security(
    lab_runner: LabRunner, namespace: str, tmp_path: Path, host_results: Path
) -> None:
    """The seed's way, a hostPath volume: the Job is stored but Pod Security refuses its pod, and the
    run ends at once with the API server's reason (not at the time limit)."""
    lab = CATALOG.get("more-3-host-dir")

    def host_path(docs: list[dict[str, Any]]) -> None:
        volume = {"name": "results", "hostPath": {"path": "/var/tmp/kubedojo-results", "type": "Directory"}}
        docs[0]["spec"]["template"]["spec"]["volumes"][0] = volume

    result = run(lab_runner, lab.id, variant(lab, tmp_path, host_path), namespace)
    verdicts = {c.id: (c.status, c.found, c.hint) for c in result.checks}
    assert {k: v[0] for k, v in verdicts.items()} == dict.fromkeys(verdicts, "failed"), verdicts
    assert "no volume from claim node-results" in verdicts["node-volume"][1]
    assert "violates PodSecurity" in verdicts["complete"][1] and "hostPath" in verdicts["complete"][1]
    assert "policy refuses" in verdicts["complete"][2]


def test_more3_file_written_inside_the_container(
    lab_runner: LabRunner, namespace: str, tmp_path: Path, host_results: Path
) -> None:
    """The Job completes, but the weights go to the container's own disk and vanish with it."""
    lab = CATALOG.get("more-3-host-dir")
    manifest = variant(
        lab, tmp_path, lambda d: container(d[0])["args"].extend(["--weights", "/tmp/mymodel.npz"])
    )
    assert_partial(
        run(lab_runner, lab.id, manifest, namespace), {"weights-file"}, "written into the mounted directory"
    )


# -- do it more: a parallel grid -----------------------------------------------------------------------


def grid(tmp_path: Path) -> list[dict[str, Any]]:
    lab = CATALOG.get("more-5-parallel-grid")
    return render(lab.handson_dir / "make_grid.py", cwd=tmp_path)


def test_more5_solution_from_make_grid(lab_runner: LabRunner, namespace: str, tmp_path: Path) -> None:
    result = run(lab_runner, "more-5-parallel-grid", write(grid(tmp_path), tmp_path / "grid.yaml"), namespace)
    assert_full_marks(result)


def test_more5_duplicate_combination(lab_runner: LabRunner, namespace: str, tmp_path: Path) -> None:
    docs = grid(tmp_path)
    container(docs[1])["args"] = list(container(docs[0])["args"])
    result = run(lab_runner, "more-5-parallel-grid", write(docs, tmp_path / "grid.yaml"), namespace)
    assert_partial(result, {"grid"}, "none twice")


def test_more5_only_five(lab_runner: LabRunner, namespace: str, tmp_path: Path) -> None:
    docs = grid(tmp_path)[:5]
    result = run(lab_runner, "more-5-parallel-grid", write(docs, tmp_path / "grid.yaml"), namespace)
    assert_partial(result, {"six-jobs", "grid"}, "one Job per combination")


# -- ds-job ---------------------------------------------------------------------------------------


def test_ds_job_solution(lab_runner: LabRunner, namespace: str) -> None:
    lab = CATALOG.get("ds-job")
    assert_full_marks(run(lab_runner, lab.id, lab.solution_path, namespace))


def test_ds_job_short_ttl(lab_runner: LabRunner, namespace: str, tmp_path: Path) -> None:
    lab = CATALOG.get("ds-job")
    manifest = variant(lab, tmp_path, lambda d: d[0]["spec"].update(ttlSecondsAfterFinished=30))
    assert_partial(run(lab_runner, lab.id, manifest, namespace), {"ttl"}, "ttlSecondsAfterFinished")


def test_ds_job_wrong_command(lab_runner: LabRunner, namespace: str, tmp_path: Path) -> None:
    lab = CATALOG.get("ds-job")
    manifest = variant(
        lab, tmp_path, lambda d: container(d[0], "ds-job").update(command=["python", "mian.py"])
    )
    assert_partial(run(lab_runner, lab.id, manifest, namespace), {"no-command", "complete", "matrix"}, "CMD")


# -- kubectl submission, lab.check, lab.reset ---------------------------------------------------------


def test_check_grades_kubectl_work_and_reset_removes_only_the_lab(
    lab_runner: LabRunner, admin: KubeClient, namespace: str
) -> None:
    from .helpers import wait_job_finished

    lab = CATALOG.get("01-run-job")
    with pytest.raises(ConfigError, match="was not started"):
        lab_runner.check(lab, namespace, "tester")
    lab_runner.images(lab)  # type: ignore[misc]
    lab_runner.start(lab, namespace, "tester")
    admin.apply([{**doc, "metadata": {**doc["metadata"], "namespace": namespace}} for doc in solution(lab)])
    bystander = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "mine", "namespace": namespace},
        "data": {"a": "b"},
    }
    admin.apply([bystander])
    wait_job_finished(admin, namespace, "handson-01")
    first = lab_runner.check(lab, namespace, "tester")
    assert_full_marks(first)
    second = lab_runner.check(lab, namespace, "tester")
    assert [(c.id, c.status, c.found) for c in second.checks] == [
        (c.id, c.status, c.found) for c in first.checks
    ]
    assert second.attempt == first.attempt + 1
    assert first.requests == second.requests <= 8

    # Work from before a (re)start does not count.
    lab_runner.start(lab, namespace, "tester")
    stale = lab_runner.check(lab, namespace, "tester")
    assert {c.id for c in stale.checks if c.status == "failed"} >= {"complete"}
    assert "before the lab started" in next(c.found for c in stale.checks if c.id == "complete")

    deleted = lab_runner.reset(lab, namespace)
    assert "Job/handson-01" in deleted
    assert admin.list("Job", namespace) == []
    assert [p for p in admin.list("Pod", namespace)] == []
    assert [
        c["metadata"]["name"] for c in admin.list("ConfigMap", namespace) if c["metadata"]["name"] == "mine"
    ] == ["mine"]
