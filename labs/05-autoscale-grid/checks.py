"""Python check of 05-autoscale-grid: the 24 Jobs cover the grid exactly, told apart by their
hyper-parameters (whatever their order)."""

from __future__ import annotations

import itertools

from kubedojo.labs import GradingContext, Outcome, Select

GRID = Select(kind="Job", runs=["train.py"], image="lab-05-autoscale-grid")


def covers_grid(ctx: GradingContext, models: list[str], runs: list[list[str]]) -> Outcome:
    wanted = sorted((str(e), str(a), str(alpha)) for alpha, (e, a) in itertools.product(models, runs))
    what = f"{len(wanted)} Jobs, one per model and run"
    jobs = ctx.submitted(GRID)
    if not jobs:
        if ctx.submission is None:
            return Outcome.pending(what, "no grid Jobs since the lab started")
        return Outcome.failed(
            what, "the manifest has no Job that runs train.py from the lab's image", "missing"
        )
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
            parts.append(f"{len(missing)} missing, e.g. {'/'.join(missing[0])}")
        if twice:
            parts.append("twice " + ", ".join("/".join(c) for c in twice[:3]))
        if extra:
            parts.append("not in the grid " + ", ".join("/".join(c) for c in extra[:3]))
        return Outcome.failed(what, "; ".join(parts), "grid")
    return Outcome.passed(what, f"{len(got)} combinations")
