"""Python checks of lab 12: a Katib Experiment, its Trials, and what each trial's training printed.

The Experiment's and the Trials' status are Katib's controller's (behind their status subresource;
participants may read Trials, not write them). The objective Katib shows for a Trial is not taken on
trust: its metrics collector reports to Katib's database manager, which any pod of the participant's
namespace may reach and which asks no one who reports. So each Trial counts only with the pod of its
Job (the one Katib made for it, named after it and owned by it) that passed the rules of a real run
(the lab's image and script, nothing replaced; Katib's collector beside it is kubedojo's build), and
what that run printed is the evidence: the values it was given, and the accuracy it reached.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from kubedojo.labs import GradingContext, Outcome, Select, final_state

_KIND = "Experiment"
_SERVED = ("random", "tpe", "cmaes", "sobol")
"""The algorithms this cluster's Katib serves (kubedojo builds the goptuna suggestion service; grid's
and the other Python services are not built here)."""
_FLAGS = {"--lr": ("double", Decimal(0), Decimal(1)), "--hidden": ("int", Decimal(1), Decimal(256))}
"""train_trial.py's two hyper-parameters: the type of the Experiment's parameter behind each and the
range train_trial.py accepts (a learning rate above 0, at most 1; 1 to 256 hidden units)."""
_TRIALS = (3, 8)
_MAX_PARALLEL = 3
_TRIAL_PARAMETER = re.compile(r"^\$\{trialParameters\.([^}]+)\}$")
_GIVEN = re.compile(r"^Trial parameters: lr=(\S+) hidden=(\S+)$", re.MULTILINE)
_ACCURACY = re.compile(r"^accuracy=([0-9.]+)$", re.MULTILINE)

Obj = dict[str, Any]


# -- the Experiment as submitted ------------------------------------------------------------------


def _template_job(experiment: Obj) -> Obj:
    trial_spec = ((experiment.get("spec") or {}).get("trialTemplate") or {}).get("trialSpec") or {}
    return {"kind": "Job", "spec": trial_spec.get("spec") or {}}


def _flag_parameters(ctx: GradingContext, experiment: Obj) -> dict[str, Obj] | str:
    """The Experiment's parameter behind each of train_trial.py's flags, read from the trial
    template's command; or what is wrong with it."""
    spec = experiment.get("spec") or {}
    template = spec.get("trialTemplate") or {}
    references = {
        str(t.get("name")): t.get("reference")
        for t in template.get("trialParameters") or []
        if isinstance(t, dict)
    }
    parameters = {str(p.get("name")): p for p in spec.get("parameters") or [] if isinstance(p, dict)}
    program = ctx.program(_template_job(experiment))
    if program is None or program.script != "train_trial.py":
        return "the trial template's container does not run train_trial.py"
    found: dict[str, Obj] = {}
    for flag in _FLAGS:
        value = program.option(flag)
        used = _TRIAL_PARAMETER.match(value or "")
        if used is None:
            return f"{flag} is {value!r}, not a trial parameter (${{trialParameters.NAME}})"
        name = used.group(1)
        if name not in references:
            return f"{flag} uses the trial parameter {name}, which trialParameters does not list"
        if references[name] not in parameters:
            missing = references[name]
            return f"the trial parameter {name} references {missing!r}, not a parameter of the Experiment"
        found[flag] = parameters[str(references[name])]
    if found["--lr"] is found["--hidden"]:
        return "--lr and --hidden take the same parameter"
    return found


def _number(value: Any) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _space_problem(flag: str, parameter: Obj) -> str | None:
    kind, low, high = _FLAGS[flag]
    name = parameter.get("name")
    if parameter.get("parameterType") != kind:
        return f"{flag} takes {name}, a {parameter.get('parameterType')}, not a {kind}"
    space = parameter.get("feasibleSpace") or {}
    least, most = _number(space.get("min")), _number(space.get("max"))
    if least is None or most is None or not least < most:
        return f"{name}'s feasibleSpace is not a range from min to max"
    if not (least > low if kind == "double" else least >= low) or most > high:
        shown = f"above {low} and at most {high}" if kind == "double" else f"from {low} to {high}"
        return f"{name} ranges from {least} to {most}; train_trial.py takes {flag} {shown}"
    return None


def experiment(ctx: GradingContext, experiment: str) -> Outcome:
    what = (
        f"Experiment {experiment}: maximize accuracy over lr and hidden, {_TRIALS[0]} to {_TRIALS[1]} "
        "trials, each a Job running train_trial.py with the suggested values"
    )
    found = ctx.submitted(Select(kind=_KIND, name=experiment))
    if not found:
        if ctx.submission is not None:
            return Outcome.failed(what, f"the manifest has no Experiment {experiment}", "missing")
        return Outcome.pending(what, f"no Experiment {experiment} since the lab started")
    spec = found[0].get("spec") or {}
    objective = spec.get("objective") or {}
    if objective.get("type") != "maximize" or objective.get("objectiveMetricName") != "accuracy":
        shown = f"{objective.get('type')} {objective.get('objectiveMetricName')}"
        return Outcome.failed(what, f"the objective is to {shown}", "objective")
    if objective.get("goal") is not None:
        return Outcome.failed(
            what,
            f"the search stops at the goal {objective.get('goal')}",
            "goal",
            "leave objective.goal out: the lab's search runs all its trials",
        )
    algorithm = (spec.get("algorithm") or {}).get("algorithmName")
    if algorithm not in _SERVED:
        return Outcome.failed(
            what,
            f"the algorithm is {algorithm}",
            "algorithm",
            f"this cluster's Katib serves {', '.join(_SERVED)} (grid's suggestion service is not built "
            "here): use random",
        )
    trials, parallel = spec.get("maxTrialCount"), spec.get("parallelTrialCount", 3)
    if not isinstance(trials, int) or not _TRIALS[0] <= trials <= _TRIALS[1]:
        return Outcome.failed(what, f"maxTrialCount is {trials}", "trials")
    if not isinstance(parallel, int) or not 1 <= parallel <= _MAX_PARALLEL:
        return Outcome.failed(
            what,
            f"parallelTrialCount is {parallel}",
            "parallel",
            f"run at most {_MAX_PARALLEL} trials at a time: your namespace's quota holds no more",
        )
    collector = ((spec.get("metricsCollectorSpec") or {}).get("collector") or {}).get("kind", "StdOut")
    if collector != "StdOut":
        return Outcome.failed(what, f"the metrics collector is {collector}", "collector")
    template = spec.get("trialTemplate") or {}
    if template.get("retain") is not True:
        return Outcome.failed(
            what, "trialTemplate.retain is not true: Katib deletes each trial's Job", "retain"
        )
    trial_spec = template.get("trialSpec") or {}
    if trial_spec.get("kind") != "Job":
        return Outcome.failed(what, f"the trial template is a {trial_spec.get('kind')}, not a Job", "kind")
    container = ctx.container(_template_job(found[0]))
    if container is None or container.get("name") != template.get("primaryContainerName"):
        shown = None if container is None else container.get("name")
        return Outcome.failed(
            what,
            f"primaryContainerName is {template.get('primaryContainerName')}; the container running "
            f"train_trial.py is {shown}",
            "primary",
        )
    parameters = _flag_parameters(ctx, found[0])
    if isinstance(parameters, str):
        return Outcome.failed(what, parameters, "parameters")
    for flag, parameter in parameters.items():
        problem = _space_problem(flag, parameter)
        if problem is not None:
            return Outcome.failed(what, problem, "space")
    names = ", ".join(f"{flag} from {p.get('name')}" for flag, p in parameters.items())
    return Outcome.passed(what, f"{algorithm}, {trials} trials ({parallel} at a time), {names}")


# -- what ran ----------------------------------------------------------------------------------------


def _finished(ctx: GradingContext, experiment: str, what: str) -> Obj | Outcome:
    """The Experiment once it is final (its trials are graded below, each with its own run)."""
    found = ctx.finished_jobs(Select(kind=_KIND, name=experiment), what, real_run=False)
    if isinstance(found, Outcome):
        return found
    return found[0]


def _owned_by(obj: Obj, owner: Obj) -> bool:
    uid = owner["metadata"].get("uid")
    return any(
        r.get("controller") and r.get("uid") == uid
        for r in (obj.get("metadata") or {}).get("ownerReferences") or []
    )


def _condition(obj: Obj, kind: str) -> Obj | None:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind and condition.get("status") == "True":
            return dict(condition)
    return None


def _runs(ctx: GradingContext, experiment: str, what: str) -> tuple[Obj, list[tuple[Obj, str]]] | Outcome:
    """The final Experiment and each of its Trials with what its training printed, once every Trial
    succeeded and its Job's run passed the rules of a real run; otherwise the verdict."""
    found = _finished(ctx, experiment, what)
    if isinstance(found, Outcome):
        return found
    if "Trial" in ctx.snapshot.hidden:
        return Outcome.pending(what, "this identity may not read Trials; the instructor's grading does")
    trials = sorted(
        (t for t in ctx.snapshot.of_kind("Trial") if _owned_by(t, found)), key=lambda t: t["metadata"]["name"]
    )
    if len(trials) < _TRIALS[0]:
        return Outcome.failed(what, f"{len(trials)} trials ran", "trials")
    jobs = {j["metadata"]["name"]: j for j in ctx.snapshot.of_kind("Job")}
    runs = []
    for trial in trials:
        name = trial["metadata"]["name"]
        if _condition(trial, "Succeeded") is None:
            ended = _condition(trial, "Failed") or _condition(trial, "MetricsUnavailable") or {}
            shown = f"{ended.get('type')}: {ended.get('message')}" if ended else "not Succeeded"
            return Outcome.failed(what, f"Trial {name} {shown}", "trial-failed")
        job = jobs.get(name)
        if job is None or not _owned_by(job, trial):
            return Outcome.failed(
                what,
                f"Trial {name} has no Job left to show what ran",
                "retain",
                "keep trialTemplate.retain: true, and reset the lab and run it again",
            )
        problem = ctx.run_problem(job)
        if problem is not None:
            found_text = f"Trial {name}: {problem.reason}"
            if problem.cause == "unverified":
                return Outcome.pending(what, found_text)
            return Outcome.failed(what, found_text, problem.cause, problem.hint)
        output = None
        for pod in ctx.pods_of(job):
            lab = (ctx.container(pod) or {}).get("name")
            for status in (pod.get("status") or {}).get("containerStatuses") or []:
                ended_state = (status.get("state") or {}).get("terminated") or {}
                if status.get("name") == lab and ended_state.get("exitCode") == 0:
                    output = ctx.output_of(pod, str(lab)) or ""
        if output is None:
            return Outcome.failed(what, f"no pod of Trial {name} ran train_trial.py to exit code 0")
        runs.append((trial, output))
    return found, runs


def succeeded(ctx: GradingContext, experiment: str) -> Outcome:
    what = f"Experiment {experiment} Succeeded"
    found = _finished(ctx, experiment, what)
    if isinstance(found, Outcome):
        return found
    ended = final_state(found) or {}
    if ended.get("type") != "Succeeded":
        return Outcome.failed(
            what, f"{ended.get('type')}: {ended.get('reason')} {ended.get('message')}".strip()
        )
    trials = (found.get("status") or {}).get("trialsSucceeded")
    return Outcome.passed(what, f"Succeeded ({ended.get('reason')}), {trials} trials succeeded")


def _assigned(trial: Obj) -> dict[str, str]:
    return {
        str(a.get("name")): str(a.get("value"))
        for a in (trial.get("spec") or {}).get("parameterAssignments") or []
        if isinstance(a, dict)
    }


def trials_ran(ctx: GradingContext, experiment: str) -> Outcome:
    what = "every Trial succeeded, and train_trial.py ran with the lr and hidden Katib assigned to it"
    found = _runs(ctx, experiment, what)
    if isinstance(found, Outcome):
        return found
    exp, runs = found
    parameters = _flag_parameters(ctx, exp)
    shown = []
    for trial, output in runs:
        name = trial["metadata"]["name"]
        given = _GIVEN.search(output)
        if given is None:
            return Outcome.failed(what, f"Trial {name}'s training printed no 'Trial parameters:' line")
        assigned = _assigned(trial)
        ran = dict(zip(_FLAGS, given.groups(), strict=True))
        for flag, value in ran.items():
            # The parameter the template gives the flag; without one (the static check says why), any
            # of the values Katib assigned.
            expected = (
                [assigned.get(str(parameters[flag].get("name")))]
                if not isinstance(parameters, str)
                else list(assigned.values())
            )
            if value not in expected:
                values = ", ".join(f"{k}={v}" for k, v in assigned.items())
                return Outcome.failed(
                    what,
                    f"Trial {name} was assigned {values}, and its training ran with {flag}={value}",
                    "values",
                )
        shown.append(f"{name} (lr={ran['--lr']}, hidden={ran['--hidden']})")
    if isinstance(parameters, str):
        return Outcome.failed(what, parameters, "parameters")
    return Outcome.passed(what, f"{len(runs)} trials: " + "; ".join(shown))


def _printed_accuracy(output: str) -> Decimal | None:
    found = _ACCURACY.findall(output)
    return _number(found[-1]) if found else None


def _observed(trial: Obj) -> str | None:
    for metric in ((trial.get("status") or {}).get("observation") or {}).get("metrics") or []:
        if metric.get("name") == "accuracy":
            return str(metric.get("latest"))
    return None


def collected(ctx: GradingContext, experiment: str) -> Outcome:
    what = "each Trial's accuracy in Katib is the one its training printed"
    found = _runs(ctx, experiment, what)
    if isinstance(found, Outcome):
        return found
    shown = []
    for trial, output in found[1]:
        name = trial["metadata"]["name"]
        printed = _printed_accuracy(output)
        if printed is None:
            return Outcome.failed(what, f"Trial {name}'s training printed no 'accuracy=' line")
        observed = _observed(trial)
        if observed is None or _number(observed) != printed:
            return Outcome.failed(
                what,
                f"Katib holds accuracy {observed} for Trial {name}; its training printed {printed}",
                "collected",
            )
        shown.append(f"{name} {printed}")
    return Outcome.passed(what, ", ".join(shown))


def _best(runs: list[tuple[Obj, str]]) -> tuple[set[str], Decimal | None]:
    """The Trials whose training printed the highest accuracy, and that accuracy."""
    scores = {t["metadata"]["name"]: _printed_accuracy(output) for t, output in runs}
    known = [s for s in scores.values() if s is not None]
    if not known:
        return set(), None
    top = max(known)
    return {name for name, score in scores.items() if score == top}, top


def best(ctx: GradingContext, experiment: str) -> Outcome:
    what = f"{experiment}'s best Trial is the one whose training printed the highest accuracy"
    found = _runs(ctx, experiment, what)
    if isinstance(found, Outcome):
        return found
    exp, runs = found
    winners, top = _best(runs)
    named = ((exp.get("status") or {}).get("currentOptimalTrial") or {}).get("bestTrialName")
    if named not in winners:
        return Outcome.failed(
            what,
            f"the Experiment names {named or 'no trial'}; the highest accuracy, {top}, is "
            + ", ".join(sorted(winners)),
        )
    return Outcome.passed(what, f"{named}, accuracy {top}")


def answer(ctx: GradingContext, experiment: str, config_map: str, key: str) -> Outcome:
    what = f"the answer ({config_map}: {key}) names the best Trial of {experiment}"
    found = _runs(ctx, experiment, what)
    if isinstance(found, Outcome):
        return found
    winners, top = _best(found[1])
    maps = {m["metadata"]["name"]: m for m in ctx.snapshot.of_kind("ConfigMap") if ctx.fresh(m)}
    given = str(((maps.get(config_map) or {}).get("data") or {}).get(key, "")).strip()
    if not given:
        return Outcome.pending(what, f"no answer yet: ConfigMap {config_map} with the key {key}")
    if given not in winners:
        trials = ", ".join(t["metadata"]["name"] for t, _ in found[1])
        if given not in trials.split(", "):
            return Outcome.failed(what, f"{given!r} is not one of the trials ({trials})", "unknown-trial")
        return Outcome.failed(what, f"{given}; the highest accuracy, {top}, is {', '.join(sorted(winners))}")
    return Outcome.passed(what, f"{given}, accuracy {top}")
