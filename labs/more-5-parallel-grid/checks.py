"""Python checks of more-5: every Job has its own name, the grid is covered exactly (Jobs told apart by
their hyper-parameters, whatever their names, labels or order), and was submitted in one go."""

from __future__ import annotations

import itertools

from kubedojo.labs import GradingContext, Outcome, Select, created_at

GRID = Select(kind="Job", runs=["train.py"], image="lab-more-5-parallel-grid")


def _none_yet(ctx: GradingContext, what: str) -> Outcome:
    if ctx.submission is None:
        return Outcome.pending(what, "no grid Jobs since the lab started")
    return Outcome.failed(what, "the manifest has no Job that runs train.py from the lab's image", "missing")


def own_names(ctx: GradingContext) -> Outcome:
    what = "every Job has its own name: generateName, or a name no other Job has"
    jobs = ctx.submitted(GRID)
    if not jobs:
        return _none_yet(ctx, what)
    names = [j["metadata"].get("name") for j in jobs if not j["metadata"].get("generateName")]
    twice = sorted({str(n) for n in names if names.count(n) > 1})
    if twice:
        return Outcome.failed(what, f"named the same: {', '.join(twice)}", "same-name")
    generated = len(jobs) - len(names)
    return Outcome.passed(what, f"{generated} by generateName, {len(names)} by distinct names")


def covers_grid(ctx: GradingContext, epochs: list[str], activations: list[str], alphas: list[str]) -> Outcome:
    wanted = sorted(itertools.product(epochs, activations, alphas))
    what = f"{len(wanted)} Jobs, one per combination"
    jobs = ctx.submitted(GRID)
    if not jobs:
        return _none_yet(ctx, what)
    got = []
    for job in jobs:
        program = ctx.program(job)
        got.append(tuple(str(a) for a in program.arguments) if program else ())
    missing = [c for c in wanted if c not in got]
    twice = sorted({c for c in got if got.count(c) > 1})
    extra = sorted({c for c in got if c not in wanted})
    if missing or twice or extra:
        parts = []
        if missing:
            parts.append("missing " + ", ".join("/".join(c) for c in missing))
        if twice:
            parts.append("twice " + ", ".join("/".join(c) for c in twice))
        if extra:
            parts.append("not in the grid " + ", ".join("/".join(c) for c in extra))
        return Outcome.failed(what, "; ".join(parts), "grid")
    return Outcome.passed(what, f"{len(got)} combinations")


def created_together(ctx: GradingContext, within_seconds: int) -> Outcome:
    what = f"all created within {within_seconds} s"
    fresh, _ = ctx.jobs(GRID)
    if not fresh:
        return Outcome.pending(what, "no grid Jobs since the lab started")
    times = sorted(t for j in fresh if (t := created_at(j)) is not None)
    spread = (times[-1] - times[0]).total_seconds()
    return Outcome(
        "passed" if spread <= within_seconds else "failed", what, f"{len(times)} Jobs within {spread:g} s"
    )
