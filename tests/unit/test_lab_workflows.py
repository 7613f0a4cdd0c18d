"""Labs 07-hello-workflow and 08-dag graded on hand-written Workflow states, as Argo's controller
writes them: the shape of steps and DAGs, phases, order and overlap in time, parameters passed
between nodes, the exit handler; a node believed only with its pod; the node tree kept as evidence;
the live view's filter of the executor's log lines."""

from __future__ import annotations

import copy
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubedojo.classroom import follow_grades
from kubedojo.classroom.objects import SERVICE_ACCOUNT
from kubedojo.classroom.workflowpolicy import workflow_status_policy
from kubedojo.client.fake import FakeKube
from kubedojo.client.kinds import KindInfo
from kubedojo.labs.catalog import Catalog
from kubedojo.labs.evaluators.workflows import template_edges
from kubedojo.labs.evidence import save_evidence
from kubedojo.labs.grading import GradingContext, StoredFile, grade
from kubedojo.labs.records import ResultStore
from kubedojo.labs.session import record_start
from kubedojo.labs.snapshot import ClusterSnapshot
from kubedojo.labs.stuck import diagnose
from kubedojo.labs.workflows import executor_line, node_tree, nodes_named, program_output
from kubedojo.labs.workloads import workload_of_pod

PROJECT = Path(__file__).resolve().parents[2]
CATALOG = Catalog(PROJECT)
START = datetime(2026, 12, 5, 10, 0, 0, tzinfo=UTC)
NODE_ID = "workflows.argoproj.io/node-id"


def ts(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def solution(lab: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all((PROJECT / "labs" / lab / "solution.yaml").read_text()) if d]


class Run:
    """A Workflow as the controller leaves it, with the pods of its Pod nodes."""

    def __init__(self, manifest: dict[str, Any], phase: str = "Succeeded") -> None:
        self.wf = copy.deepcopy(manifest)
        self.name = self.wf["metadata"]["name"]
        self.wf["metadata"].update(uid=f"uid-{self.name}", creationTimestamp=ts(1))
        self.wf["status"] = {"phase": phase, "nodes": {}, "startedAt": ts(1), "finishedAt": ts(60)}
        self.pods: list[dict[str, Any]] = []
        self.logs: dict[str, str] = {}

    def node(
        self,
        shown: str,
        start: float,
        end: float,
        phase: str = "Succeeded",
        kind: str = "Pod",
        inputs: dict[str, str] | None = None,
        outputs: dict[str, str] | None = None,
        children: list[str] = (),  # type: ignore[assignment]
        name: str | None = None,
        log: str = "",
        exit_code: int | None = None,
    ) -> str:
        node_id = f"{self.name}-{abs(hash((shown, start))) % 10**8}"
        node: dict[str, Any] = {
            "id": node_id,
            "name": name or f"{self.name}.{shown}",
            "displayName": shown,
            "type": kind,
            "phase": phase,
            "startedAt": ts(start),
            "finishedAt": ts(end),
            "children": list(children),
        }
        if inputs:
            node["inputs"] = {"parameters": [{"name": k, "value": v} for k, v in inputs.items()]}
        if outputs:
            node["outputs"] = {"parameters": [{"name": k, "value": v} for k, v in outputs.items()]}
        self.wf["status"]["nodes"][node_id] = node
        if kind == "Pod":
            pod_name = f"{self.name}-{shown.lower()}-{len(self.pods)}"
            code = exit_code if exit_code is not None else (0 if phase == "Succeeded" else 1)
            self.pods.append(
                {
                    "kind": "Pod",
                    "metadata": {
                        "name": pod_name,
                        "uid": f"pod-{node_id}",
                        "creationTimestamp": ts(start),
                        "labels": {"workflows.argoproj.io/workflow": self.name},
                        "annotations": {NODE_ID: node_id},
                        "ownerReferences": [
                            {"uid": self.wf["metadata"]["uid"], "controller": True, "kind": "Workflow"}
                        ],
                    },
                    "spec": {"nodeName": "node1", "containers": [{"name": "wait"}, {"name": "main"}]},
                    "status": {
                        "phase": "Succeeded" if code == 0 else "Failed",
                        "containerStatuses": [
                            {
                                "name": "main",
                                "state": {"terminated": {"exitCode": code, "reason": "Completed"}},
                            }
                        ],
                    },
                }
            )
            self.logs[pod_name] = log
        return node_id


class Client:
    """Logs by pod name (what the snapshot asks the API server for)."""

    requests = 0

    def __init__(self, logs: dict[str, str]) -> None:
        self.logs = logs

    def pod_log(self, namespace: str, pod: str, container: str | None = None, previous: bool = False) -> str:
        assert container == "main"
        return self.logs.get(pod, "")


def context(lab_id: str, runs: list[Run], submission: list[dict[str, Any]] | None = None) -> GradingContext:
    lab = CATALOG.get(lab_id)
    logs = {k: v for run in runs for k, v in run.logs.items()}
    objects = {
        "Workflow": [r.wf for r in runs],
        "Pod": [p for r in runs for p in r.pods],
        "Node": [{"metadata": {"name": "node1", "labels": {}}}],
        "Job": [],
    }
    snapshot = ClusterSnapshot("ns", START + timedelta(minutes=2), objects, Client(logs))  # type: ignore[arg-type]
    return GradingContext(lab, snapshot, START, submission=submission)


def statuses(ctx: GradingContext) -> dict[str, tuple[str, str]]:
    return {c.id: (c.status, c.found) for c in grade(ctx, "p").checks}


def bubble(text: str) -> str:
    return f' ___\n< {text} >\n ---\nsaid: {text}\ntime=2026-12-05T10:00:05Z level=INFO msg="sub-process exited" argo=true error=<nil>\n'


def lab07(parallel: bool = True, handler_says: bool = True, passed: str = "world") -> list[Run]:
    hello, steps, ok, fail = (Run(d) for d in solution("07-hello-workflow"))
    hello.node(
        "hello-07", 1, 5, inputs={"message": "hello world"}, name="hello-07", log=bubble("hello world")
    )
    h1 = steps.node("hello1", 2, 8, outputs={"next": "world"})
    second = (10, 15) if parallel else (16, 20)
    a = steps.node("hello2a", 9, 14, inputs={"message": passed})
    b = steps.node("hello2b", *second, inputs={"message": "other world"})
    group = steps.node("[1]", 9, 20, kind="StepGroup", children=[a, b])
    steps.wf["status"]["nodes"][h1]["children"] = [group]
    for run, phase in ((ok, "Succeeded"), (fail, "Failed")):
        run.wf["status"]["phase"] = phase
        run.node("hello1", 2, 6)
        if phase == "Failed":
            run.node(
                "oops",
                7,
                9,
                phase="Failed",
                log=bubble("this step fails on purpose") + "Error: exit status 1\n",
            )
        said = f"Good bye! The workflow {phase}" if handler_says else "Good bye!"
        run.node(f"{run.name}.onExit", 11, 14, name=f"{run.name}.onExit", log=bubble(said))
    return [hello, steps, ok, fail]


def test_the_07_solution_as_the_controller_writes_it_gets_full_marks() -> None:
    runs = lab07()
    ctx = context("07-hello-workflow", runs, submission=solution("07-hello-workflow"))
    result = grade(ctx, "p")
    assert [(c.id, c.status, c.found) for c in result.checks if c.status != "passed"] == []
    assert result.score == result.max_score


def test_sequential_steps_fail_the_parallel_check_only() -> None:
    found = statuses(context("07-hello-workflow", lab07(parallel=False)))
    assert found["steps-parallel"][0] == "failed" and "one after the other" in found["steps-parallel"][1]
    assert found["steps-order"][0] == "passed"
    assert [k for k, (s, _) in found.items() if s == "failed"] == ["steps-parallel"]


def test_an_exit_handler_that_does_not_say_the_status_is_not_seen() -> None:
    found = statuses(context("07-hello-workflow", lab07(handler_says=False)))
    assert found["exit-handler-success"][0] == found["exit-handler-failure"][0] == "failed"
    assert "did not print or receive 'Failed'" in found["exit-handler-failure"][1]
    # The executor's own lines in the log (argo=true, "Error: exit status 1") do not count as seeing it.
    assert found["exit-failed"][0] == "passed"


def test_a_parameter_not_passed_on_is_a_wrong_value() -> None:
    found = statuses(context("07-hello-workflow", lab07(passed="{{steps.hello1.outputs.parameters.nxt}}")))
    assert found["steps-passed"][0] == "failed" and "not 'world'" in found["steps-passed"][1]


def test_a_forged_status_without_pods_is_not_believed() -> None:
    runs = lab07()
    for run in runs:
        run.pods.clear()
    found = statuses(context("07-hello-workflow", runs))
    runtime = {k: v for k, v in found.items() if k != "steps-shape"}
    assert all(status == "failed" and "no pod left" in text for status, text in runtime.values()), runtime


def test_a_node_marked_succeeded_over_a_failed_pod_is_tampering() -> None:
    runs = lab07()
    runs[0].pods[0]["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] = 2
    found = statuses(context("07-hello-workflow", runs))
    assert found["hello-succeeded"][0] == "failed" and "exited with code 2" in found["hello-succeeded"][1]


def test_a_workflow_still_running_is_pending_and_one_that_never_ran_says_why() -> None:
    runs = lab07()
    runs[1].wf["status"]["phase"] = "Running"
    runs[0].wf["status"] = {"phase": "Failed", "message": "invalid spec: template name 'sya' undefined"}
    found = statuses(context("07-hello-workflow", runs))
    assert found["steps-parallel"] == ("pending", "still running: steps-07 (Running)")
    assert (
        found["hello-succeeded"][0] == "failed"
        and "template name 'sya' undefined" in found["hello-succeeded"][1]
    )
    assert "ran no step" in found["hello-message"][1] and "'sya' undefined" in found["hello-message"][1]


def test_a_workflow_from_before_the_start_is_stale() -> None:
    runs = lab07()
    runs[0].wf["metadata"]["creationTimestamp"] = ts(-100)
    assert statuses(context("07-hello-workflow", runs))["hello-succeeded"][0] == "failed"


def dag(run: Run, edges: list[tuple[str, str]], times: dict[str, tuple[float, float]], **params: Any) -> None:
    for name, (start, end) in times.items():
        run.node(name, start, end, **params.get(name, {}))


def test_the_08_solution_and_a_diamond_with_b_after_c() -> None:
    diamond, dag2 = (Run(d) for d in solution("08-dag"))
    dag(diamond, [], {"A": (1, 4), "B": (5, 9), "C": (5, 10), "D": (11, 14)})
    dag(
        dag2,
        [],
        {"A": (1, 4), "B": (5, 9), "C": (5, 9), "D": (5, 10), "E": (11, 14), "F": (15, 18)},
        C={"outputs": {"value": "from-C"}},
        D={"outputs": {"value": "from-D"}},
        E={"inputs": {"left": "from-C", "right": "from-D"}},
    )
    result = grade(context("08-dag", [diamond, dag2], submission=solution("08-dag")), "p")
    assert [(c.id, c.found) for c in result.checks if c.status != "passed"] == []

    wrong = copy.deepcopy(solution("08-dag"))
    wrong[0]["spec"]["templates"][0]["dag"]["tasks"][1]["dependencies"] = ["C"]  # B after C
    diamond, dag2b = Run(wrong[0]), Run(wrong[1])
    dag(diamond, [], {"A": (1, 4), "C": (5, 9), "B": (10, 14), "D": (15, 18)})
    dag2b.wf = dag2.wf
    dag2b.pods, dag2b.logs = dag2.pods, dag2.logs
    found = statuses(context("08-dag", [diamond, dag2b], submission=wrong))
    assert {k for k, (s, _) in found.items() if s == "failed"} == {"diamond-shape", "diamond-parallel"}
    assert "missing A → B" in found["diamond-shape"][1] and "extra C → B" in found["diamond-shape"][1]


@pytest.mark.parametrize(
    ("template", "edges"),
    [
        (
            {"dag": {"tasks": [{"name": "A"}, {"name": "B", "depends": "A && (C.Failed || D)"}]}},
            {("A", "B"), ("C", "B"), ("D", "B")},
        ),
        ({"dag": {"tasks": [{"name": "B", "dependencies": ["A"]}]}}, {("A", "B")}),
        (
            {"steps": [[{"name": "a"}], [{"name": "b"}, {"name": "c"}], [{"name": "d"}]]},
            {("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")},
        ),
        ({"container": {"image": "x"}}, None),
    ],
)
def test_template_edges(template: dict[str, Any], edges: set[tuple[str, str]] | None) -> None:
    assert template_edges(template) == edges


def test_nodes_named_takes_fan_out_items_and_a_retry_node_not_its_attempts() -> None:
    run = Run(solution("08-dag")[0])
    attempt = run.node("train(0)", 2, 3, phase="Failed")
    run.node("train", 1, 9, kind="Retry", children=[attempt])
    run.node("fit(0:0.1)", 1, 5)
    run.node("fit(1:0.5)", 1, 6)
    run.node("fit", 1, 6, kind="TaskGroup")
    assert [n["displayName"] for n in nodes_named(run.wf, "train")] == ["train"]
    assert sorted(n["displayName"] for n in nodes_named(run.wf, "fit")) == ["fit(0:0.1)", "fit(1:0.5)"]


def test_evidence_keeps_the_node_tree(tmp_path: Path) -> None:
    runs = lab07(parallel=False)
    ctx = context("07-hello-workflow", runs)
    save_evidence(ctx, tmp_path)
    tree = (tmp_path / "workflows.txt").read_text()
    assert "Workflow steps-07: Succeeded" in tree and "hello2b [Pod] Succeeded in 4 s" in tree
    assert "\n      hello2a" in tree  # under its group, under hello1
    assert node_tree(runs[0].wf)[0] == "Workflow hello-07: Succeeded"


def test_the_executors_lines_are_not_the_programs() -> None:
    assert executor_line(
        'time=2026-12-05T02:47:28.959Z level=INFO msg="sub-process exited" argo=true error="exit status 1"'
    )
    assert executor_line("Error: exit status 1")
    assert not executor_line("said: Error: exit status 1 is what argo=true prints")
    assert program_output(bubble("hi")).splitlines()[-1] == "said: hi"


def test_a_workflow_pod_stuck_on_its_image_names_the_workflow() -> None:
    pod = {
        "metadata": {"name": "steps-07-say-1", "labels": {"workflows.argoproj.io/workflow": "steps-07"}},
        "spec": {"containers": [{"name": "main", "image": "reg/nope:v1"}]},
        "status": {
            "containerStatuses": [
                {"name": "main", "state": {"waiting": {"reason": "ErrImagePull", "message": "not found"}}}
            ]
        },
    }
    wf = {"kind": "Workflow", "metadata": {"name": "steps-07"}}
    assert workload_of_pod(pod) == ("Workflow", "steps-07")
    stuck = diagnose([wf], [pod], [])
    assert stuck is not None and "reg/nope:v1 cannot be pulled" in stuck.cause
    assert "in Workflow steps-07" in stuck.hint and "spec.templates[].container.image" in stuck.hint


def test_the_status_policy_refuses_participants_only() -> None:
    policy, binding = workflow_status_policy(SERVICE_ACCOUNT)
    spec = policy["spec"]
    assert spec["matchConstraints"]["resourceRules"][0]["resources"] == ["workflows"]
    assert ":participant'" in spec["matchConditions"][0]["expression"]
    assert "!has(object.status)" in spec["validations"][0]["expression"]
    assert binding["spec"] == {"policyName": policy["metadata"]["name"], "validationActions": ["Deny"]}


class Store:
    """The artifact repository's objects by key (what the reader pod would print)."""

    def __init__(self, objects: dict[str, list[StoredFile]]) -> None:
        self.objects = objects
        self.read: list[tuple[str, str]] = []

    def list_files(self, namespace: str, **where: Any) -> list[Any]:
        return []

    def read_object(self, namespace: str, *, bucket: str, key: str) -> list[StoredFile] | None:
        self.read.append((bucket, key))
        return self.objects.get(f"{bucket}/{key}")


def artifact_result(stored: dict[str, list[StoredFile]], outputs: dict[str, Any] | None) -> tuple[str, str]:
    _, pipeline = solution("09-ml-pipeline")
    run = Run(pipeline)
    fetch = run.node("fetch", 1, 5)
    if outputs is not None:
        run.wf["status"]["nodes"][fetch]["outputs"] = outputs
    ctx = context("09-ml-pipeline", [run])
    ctx.reader = Store(stored)  # type: ignore[assignment]
    (result,) = [c for c in grade(ctx, "p").checks if c.id == "data-artifact"]
    return result.status, result.found


def test_the_data_artifact_is_read_back_from_the_repository() -> None:
    key = "alice/pipeline-09/pipeline-09-fetch-1/data.tgz"
    outputs = {"artifacts": [{"name": "data", "path": "/data/digits.npz", "s3": {"key": key}}]}
    digits = StoredFile("digits.npz", 72000, "ab" * 32, ("x_train", "y_train", "x_test", "y_test"))
    assert artifact_result({f"argo-artifacts/{key}": [digits]}, outputs)[0] == "passed"
    other = StoredFile("digits.npz", 72000, "ab" * 32, ("x", "y"))
    status, found = artifact_result({f"argo-artifacts/{key}": [other]}, outputs)
    assert status == "failed" and "digits.npz: x, y" in found
    status, found = artifact_result({}, outputs)  # the status names it, the repository does not have it
    assert status == "failed" and f"has no argo-artifacts/{key}" in found
    status, found = artifact_result({}, {"artifacts": [{"name": "main-logs", "s3": {"key": "x"}}]})
    assert status == "failed" and "no output artifact data (it has: main-logs)" in found
    status, found = artifact_result({}, {"artifacts": [{"name": "data", "path": "/data/digits.npz"}]})
    assert status == "failed" and "not kept in an S3 artifact repository" in found


def test_the_class_follower_grades_a_workflow_lab_when_its_workflows_end(tmp_path: Path) -> None:
    """class.grade --follow watches Workflows too (a lab of Workflows only), and grades the lab for
    its participant once they are final."""
    kube = FakeKube()
    kube.add_kind(KindInfo("Workflow", "argoproj.io/v1alpha1", "workflows", True))
    kube.ensure_namespace("kd-ann", {})
    lab = CATALOG.get("08-dag")
    record_start(kube, "kd-ann", lab.id)
    results: list[Any] = []

    def follow() -> None:
        results.extend(follow_grades(kube, [lab], {"ann": "kd-ann"}, ResultStore(tmp_path), 3.0))

    thread = threading.Thread(target=follow)
    thread.start()
    time.sleep(0.3)
    diamond = Run(solution("08-dag")[0])
    diamond.node("A", 1, 2)
    diamond.wf["metadata"].update(namespace="kd-ann", creationTimestamp=_soon())
    for pod in diamond.pods:
        pod["metadata"]["namespace"] = "kd-ann"
        kube.put(pod)
    kube.put(diamond.wf)
    thread.join(10)
    assert [(r.participant, r.lab) for r in results] == [("ann", "08-dag")]
    checks = {c.id: c.status for c in results[0].checks}
    assert checks["diamond-succeeded"] == "passed" and checks["dag2-succeeded"] == "pending"


def _soon() -> str:
    return (datetime.now(UTC) + timedelta(seconds=2)).isoformat(timespec="seconds").replace("+00:00", "Z")
