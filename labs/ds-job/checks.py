"""Python check of ds-job: the confusion matrix in the log is 3-by-3 and counts every test sample."""

from __future__ import annotations

import re

from kubedojo.labs import GradingContext, Outcome, Select


def confusion_matrix(ctx: GradingContext, job: str, samples: int) -> Outcome:
    what = f"'Training finished with confusion matrix:' and a 3-by-3 matrix summing to {samples}"
    jobs = ctx.finished_jobs(Select(name=job), what)
    if isinstance(jobs, Outcome):
        return jobs
    log = ctx.log_of(jobs[0])
    marker = "Training finished with confusion matrix:"
    if marker not in log:
        return Outcome.failed(what, "the log has no such line")
    rows = [
        [int(n) for n in re.findall(r"\d+", line)]
        for line in log.split(marker, 1)[1].splitlines()
        if re.search(r"\d", line)
    ][:3]
    if len(rows) != 3 or any(len(r) != 3 for r in rows):
        return Outcome.failed(what, f"rows {rows!r}")
    total = sum(map(sum, rows))
    if total != samples:
        return Outcome.failed(what, f"the matrix sums to {total}")
    correct = sum(rows[i][i] for i in range(3))
    return Outcome.passed(what, f"{rows}, {correct}/{total} right")
