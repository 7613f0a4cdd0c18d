"""The evaluator of ``object_event``: what the workshop's object store saw a namespace's account
do, from the Events kubedojo's webhook receiver writes out of MinIO's audit log
(``images/hooks/receiver.py``): ``ObjectRead`` / ``ObjectWritten``, with the message
``<API call> <bucket>/<key> by <account>: <status>[ from pod <name>]``."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from ..context import GradingContext
from ..definition import ObjectEventCheck
from ..objects import parse_time
from ..results import Outcome
from .registry import evaluates

__all__ = ["HOOKS_COMPONENT", "REASONS", "object_events", "recorded"]

HOOKS_COMPONENT = "kubedojo-hooks"
REASONS = {"read": "ObjectRead", "write": "ObjectWritten"}
"""The Event reason the receiver gives each operation."""
_MESSAGE = re.compile(
    r"^(?P<call>\S+) (?P<bucket>[^/\s]+)/(?P<key>\S+) by (?P<by>\S+): (?P<status>\d+)"
    r"(?: from pod (?P<pod>\S+))?"
)


def recorded(event: dict[str, Any], operation: str, since: datetime) -> dict[str, Any] | None:
    """The receiver's record of ``operation`` that ``event`` is, parsed (``call``, ``bucket``,
    ``key``, ``by``, ``status``, ``pod``: None when not known, ``at``), if it is one, since ``since``."""
    source = event.get("reportingComponent") or (event.get("source") or {}).get("component")
    if source != HOOKS_COMPONENT or event.get("reason") != REASONS[operation]:
        return None
    at = parse_time(event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp"))
    match = _MESSAGE.match(str(event.get("message") or ""))
    if match is None or at is None or at < since:
        return None
    return {**match.groupdict(), "at": at}


def object_events(ctx: GradingContext, operation: str) -> list[dict[str, Any]]:
    """The receiver's records of ``operation`` in the namespace since the lab started (:func:`recorded`)."""
    found = [r for e in ctx.snapshot.of_kind("Event") if (r := recorded(e, operation, ctx.started_at))]
    return sorted(found, key=lambda e: e["at"])


@evaluates(ObjectEventCheck)
def _object_event(ctx: GradingContext, check: ObjectEventCheck) -> Outcome:
    verb = "read" if check.operation == "read" else "written"
    what = f"an object {check.bucket}/{check.key} {verb} with this namespace's account"
    runs = (
        ctx.finished_workflows(check.job, what)
        if check.job.kind == "Workflow"
        else ctx.finished_jobs(check.job, what)
    )
    if isinstance(runs, Outcome):
        return runs
    account = ctx.snapshot.namespace
    pods = {p["metadata"]["name"] for run in runs for p in ctx.pods_of(run)}
    records = [e for e in object_events(ctx, check.operation) if e["by"] == account]
    events = [e for e in records if e["bucket"] == check.bucket and re.search(check.key, e["key"])]
    mine = [e for e in events if e["pod"] is None or e["pod"] in pods]
    if mine:
        last = mine[-1]
        where = f" from pod {last['pod']}" if last["pod"] else ""
        return Outcome.passed(
            what, f"{last['call']} {last['bucket']}/{last['key']} at {last['at']:%H:%M:%S}{where}"
        )
    if events:
        last = events[-1]
        return Outcome.failed(
            what,
            f"{last['call']} {last['bucket']}/{last['key']} came from pod {last['pod']},"
            f" not from {check.job.describe()}",
            "other-pod",
        )
    others = [f"{e['bucket']}/{e['key']}" for e in records]
    seen = f"; it saw {', '.join(others[-3:])}" if others else ""
    return Outcome.failed(
        what,
        f"the object store saw no such object {verb} by account {account} since the lab started{seen}",
        "no-event",
    )
