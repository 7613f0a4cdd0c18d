"""Every correct answer gets full marks (issue 12, section 2), and a failure's hint names the cause the
check found (section 7): the labs' reference solutions, varied in ways that change nothing, graded on
hand-written object states, and wrong variants with the hint for their real cause."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from kubedojo.errors import ConfigError
from kubedojo.labs.catalog import Catalog
from kubedojo.labs.context import FileInfo
from kubedojo.labs.definition import load_definition
from kubedojo.labs.grading import GradingContext, grade
from kubedojo.labs.integrity import LabImages
from kubedojo.labs.program import program_of
from kubedojo.labs.results import CheckResult
from kubedojo.labs.snapshot import ClusterSnapshot

PROJECT = Path(__file__).resolve().parents[2]
CATALOG = Catalog(PROJECT)
START = datetime(2026, 11, 22, 10, 0, 0, tzinfo=UTC)
Docs = list[dict[str, Any]]
DIGEST = "ab" * 32
"""The digest every lab image has here; pods report it, so runs count as the lab's code."""


def lab_images(lab: str) -> LabImages:
    return LabImages({spec.name: frozenset({DIGEST}) for spec in CATALOG.get(lab).images})


def ts(seconds: int) -> str:
    return (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def solution(lab: str) -> Docs:
    return [d for d in yaml.safe_load_all(CATALOG.get(lab).solution_path.read_text()) if d]


def jobs_of(docs: Docs) -> Docs:
    return [d for d in docs if d["kind"] == "Job"]


def spec(doc: dict[str, Any]) -> dict[str, Any]:
    return cast(dict[str, Any], doc["spec"]["template"]["spec"])


def main(doc: dict[str, Any]) -> dict[str, Any]:
    return cast(dict[str, Any], spec(doc)["containers"][-1])


# -- variants: small transformations of a solution --------------------------------------------------


def renamed_with_helper(docs: Docs) -> Docs:
    """The training container named ``ml`` (as every seed names it), a helper container listed first."""
    for doc in jobs_of(docs):
        main(doc)["name"] = "ml"
        helper = {"name": "helper", "image": main(doc)["image"], "command": ["python", "-c", "print(1)"]}
        spec(doc)["containers"].insert(0, helper)
    return docs


def python_u_split(docs: Docs) -> Docs:
    """``command: [python]``, ``args: [-u, script, ...]``: the same program."""
    for doc in jobs_of(docs):
        container = main(doc)
        if container.get("command"):
            script = [w for w in container["command"] if w.endswith(".py")]
            container["args"] = ["-u", *script, *container.get("args", [])]
            container["command"] = ["python3"]
    return docs


def on_failure(docs: Docs) -> Docs:
    for doc in jobs_of(docs):
        spec(doc)["restartPolicy"] = "OnFailure"
    return docs


# -- grading -------------------------------------------------------------------------------------


class Files:
    def __init__(self, *files: FileInfo) -> None:
        self.files = list(files)

    def list_files(
        self, namespace: str, *, claim: str | None, host_path: str | None, node: str | None
    ) -> list[FileInfo]:
        return self.files

    def read_object(self, namespace: str, *, bucket: str, key: str) -> None:
        return None


def static(lab: str, docs: Docs) -> dict[str, CheckResult]:
    ctx = GradingContext(CATALOG.get(lab), ClusterSnapshot("ns", START, {}), START, submission=docs)
    return {c.id: c for c in grade(ctx, "me", static_only=True).checks}


def failed(results: dict[str, CheckResult]) -> dict[str, CheckResult]:
    return {k: c for k, c in results.items() if c.status != "passed"}


def live(docs: Docs, final: str = "Complete") -> tuple[Docs, Docs]:
    """The Jobs as the cluster shows them once finished, with one pod each (the pod template's
    containers, each terminated)."""
    jobs, pods = [], []
    for i, doc in enumerate(jobs_of(docs)):
        job = copy.deepcopy(doc)
        meta = job["metadata"]
        meta.update(
            uid=f"j{i}", creationTimestamp=ts(5), name=meta.get("name") or f"{meta['generateName']}{i}"
        )
        job["status"] = {"conditions": [{"type": final, "status": "True", "reason": "X"}]}
        jobs.append(job)
        pods.append(pod_of(job, f"p{i}"))
    return jobs, pods


def pod_of(job: dict[str, Any], name: str, reason: str = "Completed", code: int = 0) -> dict[str, Any]:
    containers = spec(job)["containers"]
    state = {"terminated": {"reason": reason, "exitCode": code, "startedAt": ts(6), "finishedAt": ts(9)}}
    return {
        "kind": "Pod",
        "metadata": {
            "name": name,
            "uid": name,
            "creationTimestamp": ts(6),
            "ownerReferences": [{"kind": "Job", "uid": job["metadata"]["uid"], "controller": True}],
        },
        "spec": {**spec(job), "nodeName": "n1"},
        "status": {
            "qosClass": "Burstable",
            "containerStatuses": [
                {"name": c["name"], "state": state, "imageID": f"{c['image']}@sha256:{DIGEST}"}
                for c in containers
            ],
        },
    }


def runtime(
    lab: str,
    jobs: Docs,
    pods: Docs,
    logs: dict[tuple[str, str], str] | None = None,
    reader: Files | None = None,
) -> dict[str, CheckResult]:
    snapshot = ClusterSnapshot("ns", START + timedelta(minutes=5), {"Job": jobs, "Pod": pods})
    snapshot._logs.update({(p, c, False): text for (p, c), text in (logs or {}).items()})
    ctx = GradingContext(CATALOG.get(lab), snapshot, START, reader=reader, images=lab_images(lab))
    return {c.id: c for c in grade(ctx, "me").checks if c.phase == "runtime"}


# -- the equivalent variants score what the reference scores -------------------------------------------

LABS = sorted(lab.id for lab in CATALOG.all() if lab.works_in == "cluster")
"""The labs whose work is a manifest (not a notebook on JupyterHub)."""
VARIANTS: dict[str, Callable[[Docs], Docs]] = {
    "renamed-with-helper": renamed_with_helper,
    "python-u-split": python_u_split,
    "both": lambda d: python_u_split(renamed_with_helper(d)),
}


@pytest.mark.parametrize("lab", LABS)
def test_the_reference_solution_passes_every_static_check(lab: str) -> None:
    assert not failed(static(lab, solution(lab)))


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("lab", LABS)
def test_equivalent_variants_pass_every_static_check(lab: str, variant: str) -> None:
    results = static(lab, VARIANTS[variant](solution(lab)))
    assert not failed(results), [(c.id, c.found) for c in failed(results).values()]


@pytest.mark.parametrize("lab", [lab for lab in LABS if lab != "01-run-job"])
def test_on_failure_is_accepted_where_the_lab_does_not_teach_never(lab: str) -> None:
    assert not failed(static(lab, on_failure(solution(lab))))


def test_01_keeps_restart_policy_never_and_says_why() -> None:
    bad = failed(static("01-run-job", on_failure(solution("01-run-job"))))
    assert set(bad) == {"restart-never"}
    assert "OnFailure" in bad["restart-never"].hint and "OnFailure" in bad["restart-never"].found


def test_the_effective_command_normalises_the_interpreter() -> None:
    reference = program_of({"command": ["python", "train.py"], "args": ["5", "relu", "0.0001"]})
    for same in (
        {"command": ["python"], "args": ["-u", "train.py", "5", "relu", "0.0001"]},
        {"command": ["python3", "-u", "-B", "./train.py"], "args": ["5", "relu", "0.0001"]},
        {"command": ["/usr/bin/python3", "-uB", "/workspace/train.py", "5", "relu", "0.0001"]},
        {"args": ["python", "train.py", "5", "relu", "0.0001"]},
        {"command": ["sh", "-c", "python -u train.py 5 relu 0.0001"]},
    ):
        program = program_of(same)
        assert (program.script, program.arguments) == (reference.script, reference.arguments), same
    numbers = program_of({"command": ["python", "train.py"], "args": [5, "relu", 0.0001]})
    assert numbers.script == "train.py" and numbers.arguments == (5, "relu", 0.0001)
    other = program_of({"command": ["python", "-c", "print(1)"]})
    assert other.script is None
    assert program_of({"args": ["x", "--model-dir=/m"]}).option("--model-dir") == "/m"


# -- runtime checks look at the lab's container -----------------------------------------------------


def test_01_logs_are_read_from_the_lab_container_not_the_first() -> None:
    jobs, pods = live(renamed_with_helper(solution("01-run-job")))
    log = "Epoch 5/5 - loss 0.1\nTest accuracy: 0.96\n"
    results = runtime("01-run-job", jobs, pods, {("p0", "ml"): log, ("p0", "helper"): "1\n"})
    assert not failed(results), [(c.id, c.found) for c in failed(results).values()]


def test_05_experiments_in_any_order_with_any_unique_names() -> None:
    docs = python_u_split(renamed_with_helper(solution("05-many-jobs")))
    docs.reverse()
    for i, doc in enumerate(docs):
        doc["metadata"] = {"name": f"run-{chr(97 + i)}"}
    assert not failed(static("05-many-jobs", docs))
    jobs, _ = live(docs)
    pods = []
    for i, job in enumerate(jobs):
        oom = program_of(main(job)).script == "train_oom.py"
        if oom:
            job["status"]["conditions"][0]["type"] = "Failed"
        pod = pod_of(job, f"p{i}", "OOMKilled" if oom else "Completed", 137 if oom else 0)
        window = {"startedAt": ts(10 * (i // 3)), "finishedAt": ts(10 * (i // 3) + 9)}
        for status in pod["status"]["containerStatuses"]:
            status["state"]["terminated"].update(window)
        pods.append(pod)
    events = [{"reason": "FailedScheduling", "involvedObject": {"uid": "p5", "name": "p5"}, "message": "cpu"}]
    snapshot = ClusterSnapshot(
        "ns", START + timedelta(minutes=5), {"Job": jobs, "Pod": pods, "Event": events}
    )
    ctx = GradingContext(CATALOG.get("05-many-jobs"), snapshot, START, images=lab_images("05-many-jobs"))
    result = grade(ctx, "me")
    assert result.score == result.max_score, [(c.id, c.found) for c in result.checks if c.status != "passed"]
    # The helper container next to each experiment is not counted as another pod running.
    assert "at most 3 of 8" in {c.id: c for c in result.checks}["parallel"].found


def test_more5_grid_by_hyper_parameters_with_names_and_no_label() -> None:
    docs = solution("more-5-parallel-grid")
    docs.reverse()
    for i, doc in enumerate(python_u_split(docs)):
        doc["metadata"] = {"name": f"exp-{i}"}
    assert not failed(static("more-5-parallel-grid", docs))
    docs[1]["metadata"]["name"] = "exp-0"
    bad = failed(static("more-5-parallel-grid", docs))
    assert set(bad) == {"own-names"} and "exp-0" in bad["own-names"].found
    assert "generateName" in bad["own-names"].hint


# -- mounts --------------------------------------------------------------------------------------------


def volume_mount(doc: dict[str, Any]) -> dict[str, Any]:
    return cast(dict[str, Any], main(doc)["volumeMounts"][0])


def test_02_sub_path_mount_and_a_file_below_the_claim_count() -> None:
    docs = solution("02-save-model")
    volume_mount(docs[1])["subPath"] = "run-1"
    assert not failed(static("02-save-model", docs))
    jobs, pods = live(docs)
    written = (START + timedelta(seconds=60)).timestamp()
    model = FileInfo("run-1/model-20261122-100100.joblib", 5000, written, sha256="c" * 64)
    report = '{"files": [{"name": "model-20261122-100100.joblib", "sha256": "' + "c" * 64 + '"}]}'
    pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]["message"] = report
    results = runtime("02-save-model", jobs, pods, reader=Files(model))
    assert results["model-file"].status == "passed", results["model-file"].found
    # The same file, but not what the run reported writing: junk under the model's name.
    junk = FileInfo("run-1/model-20261122-100100.joblib", 5000, written, sha256="d" * 64)
    results = runtime("02-save-model", jobs, pods, reader=Files(junk))
    assert (
        results["model-file"].status == "failed"
        and "not a file the lab's code wrote" in results["model-file"].found
    )
    results = runtime("02-save-model", jobs, pods, reader=Files())
    assert results["model-file"].status == "failed" and results["model-file"].hint.startswith("the file must")


def test_02_the_scripts_own_model_dir_option() -> None:
    docs = solution("02-save-model")
    volume_mount(docs[1])["mountPath"] = "/models"
    bad = failed(static("02-save-model", docs))
    assert set(bad) == {"mounted"} and "/models" in bad["mounted"].found
    assert "/model_storage" in bad["mounted"].hint
    main(docs[1])["args"] += ["--model-dir", "/models"]
    assert not failed(static("02-save-model", docs))
    main(docs[1])["args"][-2:] = ["--model-dir=/models/run-2"]
    assert not failed(static("02-save-model", docs))


def test_04_projected_config_map_and_sub_path_of_the_key() -> None:
    docs = solution("04-hyperparams")
    job = docs[1]
    spec(job)["volumes"][0] = {
        "name": "model-hp",
        "projected": {"sources": [{"configMap": {"name": "model-hp"}}]},
    }
    assert not failed(static("04-hyperparams", docs))
    volume_mount(job).update(subPath="exp.yaml", mountPath="/model_hp/exp.yaml")
    assert not failed(static("04-hyperparams", docs))
    volume_mount(job).update(mountPath="/model_hp")
    bad = failed(static("04-hyperparams", docs))
    assert set(bad) == {"mounted"} and "subPath" in bad["mounted"].found
    assert "/model_hp/exp.yaml" in bad["mounted"].hint


def test_04_no_arguments_whatever_the_split() -> None:
    docs = solution("04-hyperparams")
    main(docs[1]).update(command=["python"], args=["-u", "train_hp.py"])
    assert not failed(static("04-hyperparams", docs))
    main(docs[1])["args"].append("5")
    assert set(failed(static("04-hyperparams", docs))) == {"no-args"}


def test_more3_the_node_directory_claim_itself_not_a_sub_path_nor_a_host_path() -> None:
    docs = solution("more-3-host-dir")
    assert not failed(static("more-3-host-dir", docs))
    volume_mount(docs[0])["subPath"] = "mine"
    bad = failed(static("more-3-host-dir", docs))
    assert set(bad) == {"node-volume"} and "subPath mine" in bad["node-volume"].found
    assert "no subPath" in bad["node-volume"].hint
    docs = solution("more-3-host-dir")
    spec(docs[0])["volumes"][0] = {"name": "results", "hostPath": {"path": "/var/tmp/kubedojo-results"}}
    bad = failed(static("more-3-host-dir", docs))
    assert set(bad) == {"node-volume"} and "no volume from claim node-results" in bad["node-volume"].found


# -- at least, at most ---------------------------------------------------------------------------------


def test_more2_at_least_and_at_most() -> None:
    docs = solution("more-2-requests-limits")
    main(docs[0])["resources"] = {
        "requests": {"cpu": "200m", "memory": "600Mi"},
        "limits": {"cpu": "800m", "memory": "1000Mi"},
    }
    assert not failed(static("more-2-requests-limits", docs))
    main(docs[0])["resources"]["requests"]["cpu"] = "50m"
    main(docs[0])["resources"]["limits"]["memory"] = "2Gi"
    bad = failed(static("more-2-requests-limits", docs))
    assert set(bad) == {"cpu-request", "memory-limit"}
    assert "at least 100m" in bad["cpu-request"].expected and "at most 1Gi" in bad["memory-limit"].expected


def test_more2_a_missing_limit_is_not_called_below_its_request() -> None:
    docs = solution("more-2-requests-limits")
    del main(docs[0])["resources"]["limits"]["memory"]
    bad = failed(static("more-2-requests-limits", docs))
    assert set(bad) == {"memory-limit", "limits-cover"}
    assert "no memory limit" in bad["limits-cover"].found
    assert "set both limits" in bad["limits-cover"].hint and "below" not in bad["limits-cover"].hint
    main(docs[0])["resources"]["limits"]["memory"] = "400Mi"
    bad = failed(static("more-2-requests-limits", docs))
    assert "below its request" in bad["limits-cover"].found and "refused" in bad["limits-cover"].hint


# -- the hint names the cause found -----------------------------------------------------------------------


def test_01_no_lab_container_is_said_so_not_quote_numbers() -> None:
    docs = renamed_with_helper(solution("01-run-job"))
    main(docs[0]).update(name="trainer", command=["python", "other.py"])
    bad = failed(static("01-run-job", docs))
    assert set(bad) == {"command", "args-strings"}
    for check in bad.values():
        assert "no lab container among helper, trainer" in check.found
        assert "runs train.py" in check.hint and "quote" not in check.hint


def test_01_each_cause_has_its_hint() -> None:
    docs = solution("01-run-job")
    main(docs[0])["args"] = [5, "relu", "0.0001"]
    bad = failed(static("01-run-job", docs))
    assert set(bad) == {"args-strings"} and "5 (int)" in bad["args-strings"].found
    assert "quote numbers" in bad["args-strings"].hint
    main(docs[0])["args"] = ["5", "relu", "0.0001", "extra"]
    bad = failed(static("01-run-job", docs))
    assert "4 arguments" in bad["args-strings"].found and "three arguments" in bad["args-strings"].hint
    main(docs[0])["command"] = ["python", "serve.py"]
    bad = failed(static("01-run-job", docs))
    assert "runs python serve.py" in bad["command"].found and "train.py" in bad["command"].hint


def test_ds_job_present_false_does_not_pass_without_the_container() -> None:
    docs = renamed_with_helper(solution("ds-job"))
    main(docs[0])["name"] = "iris"
    bad = failed(static("ds-job", docs))
    assert set(bad) == {"no-command"} and bad["no-command"].status == "failed"
    assert "no lab container" in bad["no-command"].found and "ds-job" in bad["no-command"].hint


def test_03_termination_hints_follow_what_was_found() -> None:
    docs = solution("03-exception")
    jobs, pods = live(docs)
    jobs[0]["status"]["conditions"][0]["type"] = "Failed"

    def oom(pods: Docs, jobs: Docs = jobs) -> CheckResult:
        return runtime("03-exception", jobs, pods)["oom-killed"]

    crashed = [pod_of(jobs[0], "p0", "Error", 1), pods[1]]
    assert "Error (exit code 1)" in oom(crashed).found and "ordinary crash" in oom(crashed).hint
    finished = [pod_of(jobs[0], "p0"), pods[1]]
    assert "Completed" in oom(finished).found and "without crossing" in oom(finished).hint
    nothing = oom([pods[1]])
    assert "never terminated" in nothing.found and "Error" not in nothing.hint
    gone = copy.deepcopy(jobs)
    spec(gone[0])["restartPolicy"] = "OnFailure"
    deleted = oom([pods[1]], gone)
    assert "gone" in deleted.found and "restartPolicy Never" in deleted.hint
    killed = [pod_of(jobs[0], "p0", "OOMKilled", 137), pods[1]]
    assert oom(killed).status == "passed"


def test_03_memory_limit_causes() -> None:
    docs = solution("03-exception")
    del main(docs[0])["resources"]["limits"]["memory"]
    bad = failed(static("03-exception", docs))
    assert (
        "no memory limit" in bad["memory-limit"].found
        and "set resources.limits.memory" in bad["memory-limit"].hint
    )
    main(docs[0])["resources"]["limits"]["memory"] = "64Mi"
    bad = failed(static("03-exception", docs))
    assert (
        "below its request" in bad["memory-limit"].found
        and "below resources.requests.memory" in bad["memory-limit"].hint
    )


def test_a_missing_object_is_named_as_the_cause() -> None:
    bad = failed(static("01-run-job", [{"kind": "Job", "metadata": {"name": "other"}, "spec": {}}]))
    assert bad["no-retries"].found == "the manifest has no Job handson-01"
    assert bad["no-retries"].hint == "submit Job handson-01"


def test_hints_for_causes_a_kind_never_names_are_refused(tmp_path: Path) -> None:
    lab = tmp_path / "x"
    lab.mkdir()
    text = (PROJECT / "labs" / "more-2-requests-limits" / "lab.yaml").read_text()
    (lab / "lab.yaml").write_text(
        text.replace("id: more-2-requests-limits", "id: x").replace("no-limit:", "no-limits:")
    )
    with pytest.raises(ConfigError, match="no cause no-limits"):
        load_definition(lab / "lab.yaml", PROJECT)


def test_a_refused_submission_says_so_not_the_checks_hint() -> None:
    ctx = GradingContext(CATALOG.get("03-exception"), ClusterSnapshot("ns", START, {}), START, submission=[])
    results = {c.id: c for c in grade(ctx, "me", refused="limits.memory: must be >= request").checks}
    assert "nothing was applied" in results["oom-killed"].found
    assert (
        "refused the submission" in results["oom-killed"].hint and "Error" not in results["oom-killed"].hint
    )
