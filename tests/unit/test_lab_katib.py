"""Lab 12 graded on hand-written Katib states, as its controller, its pod webhook and the kubelet leave
them: the reference solution to full marks; and a trial that ran other values, an objective reported to
Katib that the training never printed, a collector that is not kubedojo's, a failed trial, a wrong or
missing answer, each to the verdict it deserves. Static refusals of a search this cluster cannot run.
The shape of a trial's pod (the rewritten command, the collector, the shared process namespace) is the
one the cluster test reads from the real webhook."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from kubedojo.labs.catalog import Catalog
from kubedojo.labs.grading import GradingContext, grade
from kubedojo.labs.integrity import LabImages
from kubedojo.labs.program import KATIB_WRAPPER, program_of
from kubedojo.labs.snapshot import ClusterSnapshot
from kubedojo.labs.workloads import final_state, workload_of_pod

PROJECT = Path(__file__).resolve().parents[2]
CATALOG = Catalog(PROJECT)
START = datetime(2026, 12, 5, 10, 0, 0, tzinfo=UTC)
LAB_DIGEST = "1" * 64
COLLECTOR_DIGEST = "2" * 64
IMAGES = LabImages(
    {"lab-12-katib": frozenset({LAB_DIGEST})},
    helpers={"katib-file-metrics-collector": frozenset({COLLECTOR_DIGEST})},
)
COLLECTOR_IMAGE = "127.0.0.1:5000/kubedojo/katib-file-metrics-collector:v0.19.0-kubedojo1"
IDS = ("experiment", "succeeded", "trials-ran", "collected", "best", "answer")


def ts(seconds: float) -> str:
    return (START + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def solution() -> dict[str, Any]:
    (experiment,) = [
        d for d in yaml.safe_load_all((PROJECT / "labs/12-katib/solution.yaml").read_text()) if d
    ]
    return experiment  # type: ignore[no-any-return]


def output(lr: str, hidden: str, accuracy: str) -> str:
    return (
        f"Trial parameters: lr={lr} hidden={hidden}\n"
        + "".join(f"Fold {f}/5 - validation accuracy: {accuracy}\n" for f in range(1, 6))
        + f"Validation accuracy: {accuracy}\naccuracy={accuracy}\n"
    )


class Search:
    """An Experiment as Katib leaves it, with its Trials, their Jobs and pods."""

    def __init__(self, manifest: dict[str, Any], condition: str = "Succeeded") -> None:
        self.experiment = copy.deepcopy(manifest)
        self.experiment["metadata"].update(uid="uid-exp", creationTimestamp=ts(1), namespace="ns")
        self.experiment["status"] = {
            "conditions": [
                {"type": "Created", "status": "True", "reason": "ExperimentCreated"},
                {"type": condition, "status": "True", "reason": f"Experiment{condition}", "message": "done"},
            ],
            "trialsSucceeded": 0,
        }
        self.trials: list[dict[str, Any]] = []
        self.jobs: list[dict[str, Any]] = []
        self.pods: list[dict[str, Any]] = []
        self.maps: list[dict[str, Any]] = []

    def trial(
        self,
        lr: str,
        hidden: str,
        accuracy: str,
        *,
        printed: str | None = None,
        ran: tuple[str, str] | None = None,
        observed: str | None = None,
        state: str = "Succeeded",
        collector_digest: str = COLLECTOR_DIGEST,
    ) -> Search:
        index = len(self.trials)
        name = f"digits-12-{index:08x}"
        self.trials.append(
            {
                "kind": "Trial",
                "metadata": {
                    "name": name,
                    "uid": f"uid-trial-{index}",
                    "namespace": "ns",
                    "creationTimestamp": ts(3),
                    "labels": {"katib.kubeflow.org/experiment": "digits-12"},
                    "ownerReferences": [{"uid": "uid-exp", "controller": True, "kind": "Experiment"}],
                },
                "spec": {
                    "parameterAssignments": [{"name": "lr", "value": lr}, {"name": "hidden", "value": hidden}]
                },
                "status": {
                    "conditions": [
                        {"type": state, "status": "True", "message": f"Trial has {state.lower()}"}
                    ],
                    "observation": {
                        "metrics": [{"name": "accuracy", "latest": observed or accuracy, "max": accuracy}]
                    },
                },
            }
        )
        template = self.experiment["spec"]["trialTemplate"]["trialSpec"]
        job = {
            "kind": "Job",
            "metadata": {
                "name": name,
                "uid": f"uid-job-{index}",
                "namespace": "ns",
                "creationTimestamp": ts(4),
                "ownerReferences": [{"uid": f"uid-trial-{index}", "controller": True, "kind": "Trial"}],
            },
            "spec": copy.deepcopy(template["spec"]),
            "status": {"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1},
        }
        self.jobs.append(job)
        run_lr, run_hidden = ran or (lr, hidden)
        pod_spec = copy.deepcopy(template["spec"]["template"]["spec"])
        (training,) = pod_spec["containers"]
        line = f"python train_trial.py --lr={run_lr} --hidden={run_hidden}"
        training.update(
            command=["sh", "-c"],
            args=[line + KATIB_WRAPPER],
            env=[
                {
                    "name": "KATIB_TRIAL_NAME",
                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['katib.kubeflow.org/trial']"}},
                }
            ],
            volumeMounts=[{"name": "metrics-volume", "mountPath": "/var/log/katib"}],
        )
        pod_spec["shareProcessNamespace"] = True
        pod_spec["containers"].append(
            {
                "name": "metrics-logger-and-collector",
                "image": COLLECTOR_IMAGE,
                "args": [
                    "-t",
                    name,
                    "-m",
                    "accuracy",
                    "-o-type",
                    "maximize",
                    "-s-db",
                    "katib-db-manager.kubeflow:6789",
                    "-path",
                    "/var/log/katib/metrics.log",
                    "-format",
                    "TEXT",
                ],
                "volumeMounts": [{"name": "metrics-volume", "mountPath": "/var/log/katib"}],
            }
        )
        pod_spec["volumes"] = [{"name": "metrics-volume", "emptyDir": {}}]
        message = json.dumps({"log": output(run_lr, run_hidden, printed or accuracy), "files": []})
        self.pods.append(
            {
                "kind": "Pod",
                "metadata": {
                    "name": f"{name}-abcde",
                    "uid": f"uid-pod-{index}",
                    "namespace": "ns",
                    "creationTimestamp": ts(5),
                    "labels": {
                        "katib.kubeflow.org/experiment": "digits-12",
                        "katib.kubeflow.org/trial": name,
                        "batch.kubernetes.io/job-name": name,
                    },
                    "ownerReferences": [{"uid": f"uid-job-{index}", "controller": True, "kind": "Job"}],
                },
                "spec": {"nodeName": "node1", **pod_spec},
                "status": {
                    "phase": "Succeeded",
                    "containerStatuses": [
                        {
                            "name": "training",
                            "imageID": f"127.0.0.1:5000/kubedojo/lab-12-katib@sha256:{LAB_DIGEST}",
                            "state": {
                                "terminated": {"exitCode": 0, "reason": "Completed", "message": message}
                            },
                        },
                        {
                            "name": "metrics-logger-and-collector",
                            "imageID": f"{COLLECTOR_IMAGE.split(':v')[0]}@sha256:{collector_digest}",
                            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}},
                        },
                    ],
                },
            }
        )
        return self

    def best(self, index: int) -> Search:
        self.experiment["status"]["currentOptimalTrial"] = {
            "bestTrialName": self.trials[index]["metadata"]["name"]
        }
        return self

    def answer(self, value: str) -> Search:
        self.maps = [
            {
                "kind": "ConfigMap",
                "metadata": {"name": "katib-report", "namespace": "ns", "creationTimestamp": ts(90)},
                "data": {"best_trial": value},
            }
        ]
        return self

    def name(self, index: int) -> str:
        return str(self.trials[index]["metadata"]["name"])


def reference() -> Search:
    search = Search(solution())
    search.trial("0.0734", "32", "0.9661").trial("0.2512", "7", "0.8904").trial("0.0121", "50", "0.9733")
    search.trial("0.1803", "12", "0.9410")
    return search.best(2).answer("digits-12-00000002")


class Client:
    requests = 0

    def pod_log(self, namespace: str, pod: str, container: str | None = None, previous: bool = False) -> str:
        raise AssertionError("the output is read from the termination message")


def snapshot_of(search: Search, client: Client) -> ClusterSnapshot:
    objects = {
        "Experiment": [search.experiment],
        "Trial": search.trials,
        "Job": search.jobs,
        "Pod": search.pods,
        "ConfigMap": search.maps,
        "Node": [{"metadata": {"name": "node1", "labels": {}}}],
    }
    return ClusterSnapshot("ns", START + timedelta(minutes=3), objects, client)  # type: ignore[arg-type]


def results(
    search: Search, submission: list[dict[str, Any]] | None = None
) -> dict[str, tuple[str, str, str]]:
    lab = CATALOG.get("12-katib")
    ctx = GradingContext(lab, snapshot_of(search, Client()), START, submission=submission, images=IMAGES)
    return {c.id: (c.status, c.found, c.hint) for c in grade(ctx, "p").checks}


def statuses(found: dict[str, tuple[str, str, str]]) -> dict[str, str]:
    return {k: v[0] for k, v in found.items()}


def test_the_solution_as_katib_leaves_it_gets_full_marks() -> None:
    found = results(reference(), [solution()])
    assert statuses(found) == dict.fromkeys(IDS, "passed"), found
    assert "4 trials" in found["trials-ran"][1] and "lr=0.0734, hidden=32" in found["trials-ran"][1]


def test_a_trial_that_ran_other_values_than_katib_assigned_fails() -> None:
    search = reference()
    search.trials[1]["spec"]["parameterAssignments"][0]["value"] = "0.3"
    found = results(search)
    assert found["trials-ran"][0] == "failed"
    assert (
        f"Trial {search.name(1)} was assigned lr=0.3, hidden=7, and its training ran with --lr=0.2512"
        in found["trials-ran"][1]
    )


def test_an_objective_reported_to_katib_but_never_printed_fails_collected_and_best() -> None:
    # Katib's database manager takes reports from any pod: a trial "observed" at 0.999 that printed 0.8904.
    search = reference()
    search.trials[1]["status"]["observation"]["metrics"][0]["latest"] = "0.999"
    search.best(1).answer(search.name(1))
    found = results(search)
    assert found["collected"][0] == "failed"
    assert (
        f"Katib holds accuracy 0.999 for Trial {search.name(1)}; its training printed 0.8904"
        in found["collected"][1]
    )
    assert found["best"][0] == "failed" and search.name(2) in found["best"][1]
    assert found["answer"][0] == "failed"


def test_a_collector_sidecar_that_is_not_kubedojos_build_voids_the_run() -> None:
    # It shares the training's process namespace: only kubedojo's collector may.
    search = Search(solution())
    search.trial("0.0734", "32", "0.9661").trial("0.2512", "7", "0.8904", collector_digest="3" * 64)
    search.trial("0.0121", "50", "0.9733").best(2).answer("digits-12-00000002")
    found = results(search)
    assert found["trials-ran"][0] == "failed"
    assert "shareProcessNamespace" in found["trials-ran"][1]


def test_a_collector_given_a_shell_command_voids_the_run() -> None:
    search = reference()
    collector = search.pods[0]["spec"]["containers"][1]
    collector["command"] = ["sh", "-c", "sleep 1"]
    assert results(search)["trials-ran"][0] == "failed"
    collector.pop("command")
    collector["args"] = ["-t", "x", "-log_file=/proc/1/root/workspace/train_trial.py"]
    assert results(search)["trials-ran"][0] == "failed"


def test_a_native_sidecar_beside_the_shared_process_namespace_voids_the_run() -> None:
    search = reference()
    search.pods[0]["spec"]["initContainers"] = [
        {"name": "helper", "image": "busybox", "restartPolicy": "Always", "command": ["sleep", "60"]}
    ]
    assert results(search)["trials-ran"][0] == "failed"


def test_a_failed_trial_fails_with_its_message() -> None:
    search = Search(solution(), condition="Failed")
    search.trial("0.0734", "32", "0.9661").trial("0.2512", "7", "0.8904", state="Failed").trial(
        "0.0121", "50", "0.9733"
    )
    found = results(search)
    assert found["succeeded"][0] == "failed"
    assert found["trials-ran"][0] == "failed" and f"Trial {search.name(1)} Failed" in found["trials-ran"][1]


def test_a_deleted_trial_job_asks_for_retain() -> None:
    search = reference()
    del search.jobs[3]
    found = results(search)
    assert found["trials-ran"][0] == "failed" and "retain: true" in found["trials-ran"][2]


def test_the_answer_must_name_the_best_trial() -> None:
    found = results(reference().answer("digits-12-00000000"))
    assert found["answer"][0] == "failed" and "digits-12-00000002" in found["answer"][1]
    found = results(reference().answer("digits-12-best"))
    assert found["answer"][0] == "failed" and "not one of the trials" in found["answer"][1]
    search = reference()
    search.maps = []
    assert results(search)["answer"][0] == "pending"


def test_a_running_experiment_leaves_its_runtime_checks_pending() -> None:
    search = reference()
    search.experiment["status"]["conditions"][-1] = {"type": "Running", "status": "True"}
    found = results(search)
    assert {k: found[k][0] for k in IDS[1:]} == dict.fromkeys(IDS[1:], "pending"), found


def static(mutate: Any) -> tuple[str, str, str]:
    manifest = solution()
    mutate(manifest)
    return results(Search(manifest), [manifest])["experiment"]


def test_static_refusals_say_what_is_wrong() -> None:
    def grid(m: dict[str, Any]) -> None:
        m["spec"]["algorithm"]["algorithmName"] = "grid"

    status, _, hint = static(grid)
    assert status == "failed" and "grid's suggestion service is not built here" in hint

    def no_retain(m: dict[str, Any]) -> None:
        del m["spec"]["trialTemplate"]["retain"]

    assert "retain is not true" in static(no_retain)[1]

    def literal_hidden(m: dict[str, Any]) -> None:
        command = m["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"][0][
            "command"
        ]
        command[3] = "--hidden=32"

    assert "--hidden is '32', not a trial parameter" in static(literal_hidden)[1]

    def swapped_types(m: dict[str, Any]) -> None:
        m["spec"]["parameters"][1]["parameterType"] = "double"

    assert "not a int" in static(swapped_types)[1]

    def too_wide(m: dict[str, Any]) -> None:
        m["spec"]["parameters"][0]["feasibleSpace"] = {"min": "0", "max": "0.5"}

    assert "train_trial.py takes --lr above 0" in static(too_wide)[1]

    def goal(m: dict[str, Any]) -> None:
        m["spec"]["objective"]["goal"] = 0.95

    assert static(goal)[0] == "failed"

    def loss(m: dict[str, Any]) -> None:
        m["spec"]["objective"]["objectiveMetricName"] = "loss"

    assert "minimize" not in static(loss)[1] and static(loss)[0] == "failed"


def test_the_starter_has_blanks_and_fails_its_static_check() -> None:
    lab = CATALOG.get("12-katib")
    (starter,) = [d for d in yaml.safe_load_all(lab.starter_path.read_text()) if d]
    assert "___" in lab.starter_path.read_text()
    assert results(Search(starter), [starter])["experiment"][0] == "failed"


def test_katibs_rewritten_command_is_the_same_program() -> None:
    wrapped = {
        "command": ["sh", "-c"],
        "args": ["python train_trial.py --lr=0.05 --hidden=8" + KATIB_WRAPPER],
    }
    program = program_of(wrapped)
    assert program.script == "train_trial.py" and program.option("--lr") == "0.05"
    assert (
        program.arguments == ("--lr=0.05", "--hidden=8")
        and program.via_shell == "python train_trial.py --lr=0.05 --hidden=8"
    )
    # With early stopping, Katib adds a shell test: not a plain line of the lab's program.
    stopping = {
        "command": ["sh", "-c"],
        "args": ["python train_trial.py || if test -f x; then echo; fi" + KATIB_WRAPPER],
    }
    assert program_of(stopping).via_shell is not None and "||" in program_of(stopping).via_shell  # type: ignore[operator]


def test_a_trials_pod_belongs_to_its_experiment_not_its_job() -> None:
    pod = reference().pods[0]
    assert workload_of_pod(pod) == ("Experiment", "digits-12")
    assert final_state(reference().experiment) == {
        "type": "Succeeded",
        "reason": "ExperimentSucceeded",
        "message": "done",
    }


def test_the_evidence_holds_the_experiment_its_trials_their_jobs_and_pods(tmp_path: Path) -> None:
    from kubedojo.labs.evidence import save_evidence

    class Logs(Client):
        def pod_log(
            self, namespace: str, pod: str, container: str | None = None, previous: bool = False
        ) -> str:
            return f"the log of {pod} {container}\n"

    search = reference()
    snapshot = snapshot_of(search, Logs())
    save_evidence(GradingContext(CATALOG.get("12-katib"), snapshot, START, images=IMAGES), tmp_path)
    saved = [json.loads(line) for line in (tmp_path / "objects.jsonl").read_text().splitlines()]
    kinds = [o["kind"] for o in saved]
    assert kinds.count("Experiment") == 1 and kinds.count("Trial") == 4
    assert kinds.count("Job") == 4 and kinds.count("Pod") == 4, kinds
    trial = search.name(0)
    assert "accuracy=0.9661" in (tmp_path / "logs" / f"{trial}-abcde_training.log").read_text()
    collector = tmp_path / "logs" / f"{trial}-abcde_metrics-logger-and-collector.log"
    assert collector.read_text() == f"the log of {trial}-abcde metrics-logger-and-collector\n"


def test_a_flag_given_no_trial_parameter_fails_with_what_the_trial_ran() -> None:
    manifest = solution()
    (container,) = manifest["spec"]["trialTemplate"]["trialSpec"]["spec"]["template"]["spec"]["containers"]
    container["command"][3] = "--hidden=32"
    container["env"] = [{"name": "HIDDEN_UNITS", "value": "${trialParameters.hiddenUnits}"}]
    search = Search(manifest)
    for lr, hidden, accuracy in (("0.0734", "7", "0.95"), ("0.2512", "12", "0.94"), ("0.0121", "50", "0.96")):
        search.trial(lr, hidden, accuracy, ran=(lr, "32"))
    found = results(search.best(2).answer(search.name(2)))
    assert found["experiment"][0] == "failed" and "--hidden is '32'" in found["experiment"][1]
    assert found["trials-ran"][0] == "failed"
    assert "was assigned lr=0.0734, hidden=7, and its training ran with --hidden=32" in found["trials-ran"][1]
