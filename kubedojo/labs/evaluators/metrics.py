"""Evaluator of the check on live resource usage: the participant read ``kubectl top pod`` and
answered which experiment uses the most; graded from metrics-server's figures at grading time."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ...quantity import parse_quantity
from ..context import GradingContext
from ..definition import BusiestCheck
from ..objects import job_finished
from ..results import Outcome
from .registry import evaluates

__all__: list[str] = []  # the evaluator registers itself


def _usage(metrics: dict[str, Any], resource: str) -> Decimal:
    total = Decimal(0)
    for container in metrics.get("containers") or []:
        value = (container.get("usage") or {}).get(resource)
        if value is not None:
            total += parse_quantity(value)
    return total


def _shown(amount: Decimal, resource: str) -> str:
    if resource == "memory":
        return f"{amount / (1024 * 1024):.0f}Mi"
    return f"{amount * 1000:.0f}m"


@evaluates(BusiestCheck)
def _busiest(ctx: GradingContext, check: BusiestCheck) -> Outcome:
    ref = check.answer
    what = f"the answer ({ref.config_map}: {ref.key}) names the Job using the most {check.resource}"
    fresh, _ = ctx.jobs(check.jobs)
    if not fresh:
        return Outcome.pending(what, f"no {check.jobs.describe()} since the lab started")
    maps = {m["metadata"]["name"]: m for m in ctx.snapshot.of_kind("ConfigMap") if ctx.fresh(m)}
    answer = str(
        ((maps.get(check.answer.config_map) or {}).get("data") or {}).get(check.answer.key, "")
    ).strip()
    if not answer:
        return Outcome.pending(
            what, f"no answer yet: ConfigMap {check.answer.config_map} with the key {check.answer.key}"
        )
    names = {j["metadata"]["name"] for j in fresh}
    if answer not in names:
        return Outcome.failed(
            what, f"{answer!r} is not one of the experiments ({', '.join(sorted(names))})", "unknown-job"
        )
    metrics = {m["metadata"]["name"]: m for m in ctx.snapshot.of_kind("PodMetrics")}
    usage: dict[str, Decimal] = {}
    for job in fresh:
        pods = [metrics[p["metadata"]["name"]] for p in ctx.pods_of(job) if p["metadata"]["name"] in metrics]
        if pods:
            usage[job["metadata"]["name"]] = sum((_usage(m, check.resource) for m in pods), Decimal(0))
    if len(usage) < 2 or answer not in usage:
        if all(job_finished(j) is not None for j in fresh):
            return Outcome.pending(
                what,
                "the experiments have finished: metrics-server reports only running pods; run them again",
            )
        return Outcome.pending(
            what,
            f"metrics-server has figures for {len(usage)} of {len(fresh)} experiments (it samples every "
            "15 s or so: grade again in a moment; is metrics-server installed?)",
        )
    ranked = sorted(usage.items(), key=lambda item: item[1], reverse=True)
    found = "metrics-server now: " + ", ".join(f"{n} {_shown(u, check.resource)}" for n, u in ranked)
    found += f"; the answer: {answer}"
    top = ranked[0][1]
    if usage[answer] >= top * Decimal(str(1 - check.tolerance)):
        return Outcome.passed(what, found)
    return Outcome.failed(what, found, "not-busiest")
