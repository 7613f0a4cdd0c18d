"""Evaluators of the static check kinds: on the submitted manifest (``lab.run``) or on the live
objects created since the lab started (``lab.check``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ...quantity import parse_quantity, same_quantity
from ..context import GradingContext
from ..definition import CountCheck, FieldCheck, LimitsCheck, ProgramCheck, Select, StringsCheck
from ..results import Outcome
from .registry import evaluates

__all__: list[str] = []  # the evaluators register themselves; nothing to import


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def _label(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return str(meta.get("name") or meta.get("generateName"))


def missing(ctx: GradingContext, sel: Select, what: str) -> Outcome:
    """No selected object: failed for a manifest (with a hint that says so), pending on the cluster."""
    if ctx.submission is not None:
        return Outcome.failed(
            what, f"the manifest has no {sel.describe()}", "missing", f"submit {sel.describe()}"
        )
    return Outcome.pending(what, f"no {sel.describe()} submitted since the lab started")


def _bound(value: float | str | None) -> Decimal | None:
    return None if value is None else parse_quantity(value)


def _field_expected(check: FieldCheck) -> str:
    if check.present is not None:
        return f"{check.path} {'set' if check.present else 'not set'}"
    if check.equals is not None:
        return f"{check.path} = {_show(check.equals)}"
    if check.one_of is not None:
        return f"{check.path} one of {', '.join(_show(v) for v in check.one_of)}"
    if check.quantity is not None:
        return f"{check.path} = {check.quantity}"
    bounds = [f"at least {check.min}" if check.min is not None else ""]
    bounds.append(f"at most {check.max}" if check.max is not None else "")
    return f"{check.path} {' and '.join(b for b in bounds if b)}"


def _field_mismatch(check: FieldCheck, value: Any) -> str:
    """The cause when ``value`` does not do (``value``, ``below``, ``above``), else ``""``."""
    if check.equals is not None:
        return "" if value == check.equals and type(value) is type(check.equals) else "value"
    if check.one_of is not None:
        return "" if value in check.one_of else "value"
    if check.quantity is not None:
        return "" if same_quantity(value, check.quantity) else "value"
    try:
        number = parse_quantity(value)
    except ValueError:
        return "value"
    low, high = _bound(check.min), _bound(check.max)
    if low is not None and number < low:
        return "below"
    return "above" if high is not None and number > high else ""


@evaluates(FieldCheck)
def _field(ctx: GradingContext, check: FieldCheck) -> Outcome:
    what = _field_expected(check)
    objs = ctx.submitted(check.object)
    if not objs:
        return missing(ctx, check.object, what)
    for obj in objs:
        values = ctx.values(obj, check.path)
        if values is None:
            return ctx.no_container(obj, what)
        label = _label(obj)
        if check.present is not None and bool(values) != check.present:
            shown, cause = ("not set", "not-set") if not values else (f"set to {_show(values[0])}", "set")
            return Outcome.failed(what, f"{label}: {check.path} is {shown}", cause)
        if check.present is None and not values:
            return Outcome.failed(what, f"{label}: {check.path} is not set", "not-set")
        for value in values if check.present is None else []:
            cause = _field_mismatch(check, value)
            if cause:
                return Outcome.failed(what, f"{label}: {check.path} = {_show(value)}", cause)
    first = ctx.values(objs[0], check.path) or []
    return Outcome.passed(what, f"{check.path} = {_show(first[0])}" if first else "not set")


@evaluates(StringsCheck)
def _strings(ctx: GradingContext, check: StringsCheck) -> Outcome:
    what = f"{check.path}: " + (f"{check.length} strings" if check.length else "strings only")
    objs = ctx.submitted(check.object)
    if not objs:
        return missing(ctx, check.object, what)
    for obj in objs:
        label = _label(obj)
        lists = ctx.values(obj, check.path)
        if lists is None:
            return ctx.no_container(obj, what)
        if not lists or not isinstance(lists[0], list):
            return Outcome.failed(what, f"{label}: {check.path} is not a list", "not-a-list")
        for items in lists:
            found = _not_strings(items) or ""
            if found:
                return Outcome.failed(what, f"{label}: {found}", "not-strings")
            if check.length is not None and len(items) != check.length:
                return Outcome.failed(what, f"{label}: {len(items)} items: {items!r}", "length")
    return Outcome.passed(what, repr((ctx.values(objs[0], check.path) or [None])[0]))


def _not_strings(items: Any) -> str | None:
    """What in ``items`` is not a string, shown with its type and the list; None when all are."""
    bad = [v for v in items if not isinstance(v, str)]
    if not bad:
        return None
    return f"{', '.join(f'{v!r} ({type(v).__name__})' for v in bad)} in {list(items)!r}"


@evaluates(ProgramCheck)
def _program(ctx: GradingContext, check: ProgramCheck) -> Outcome:
    parts = [f"runs {check.script}"] if check.script else []
    if check.arguments is not None:
        parts.append(f"{check.arguments} arguments, every word of its command a string")
    what = "the lab's container " + ", ".join(parts)
    objs = ctx.submitted(check.object)
    if not objs:
        return missing(ctx, check.object, what)
    for obj in objs:
        program = ctx.program(obj)
        if program is None:
            return ctx.no_container(obj, what)
        label = _label(obj)
        if check.script is not None and program.script != check.script:
            return Outcome.failed(what, f"{label}: runs {program.shown()}", "script")
        bad = _not_strings(program.argv) if check.arguments is not None else None
        if bad:
            return Outcome.failed(what, f"{label}: {bad}", "not-strings")
        if check.arguments is not None and len(program.arguments) != check.arguments:
            shown = list(program.arguments)
            return Outcome.failed(what, f"{label}: {len(shown)} arguments: {shown!r}", "arguments")
    first = ctx.program(objs[0])
    return Outcome.passed(what, first.shown() if first else "")


@evaluates(LimitsCheck)
def _limits(ctx: GradingContext, check: LimitsCheck) -> Outcome:
    what = (
        "limits" + (f" for {', '.join(check.require)}" if check.require else "") + ", none below its request"
    )
    objs = ctx.submitted(check.object)
    if not objs:
        return missing(ctx, check.object, what)
    for obj in objs:
        lab_container = ctx.container(obj)
        if lab_container is None and check.require:
            return ctx.no_container(obj, what)
        limits = ((lab_container or {}).get("resources") or {}).get("limits") or {}
        for key in check.require:
            if key not in limits:
                name = (lab_container or {}).get("name")
                return Outcome.failed(what, f"container {name}: no {key} limit", "no-limit")
        for container in ctx.containers(obj):
            below = _limit_below_request(container)
            if below:
                return Outcome.failed(what, f"container {container.get('name')}: {below[1]}", below[0])
    first = (ctx.container(objs[0]) or {}).get("resources") or {}
    return Outcome.passed(what, f"requests {first.get('requests', {})}, limits {first.get('limits', {})}")


def _limit_below_request(container: dict[str, Any]) -> tuple[str, str] | None:
    """(cause, what) when a limit of ``container`` is below its request or no quantity, else None."""
    resources = container.get("resources") or {}
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    for key, request in requests.items():
        if key not in limits:
            continue
        try:
            if parse_quantity(limits[key]) < parse_quantity(request):
                return "below-request", f"{key} limit {limits[key]} is below its request {request}"
        except ValueError as exc:
            return "not-a-quantity", str(exc)
    return None


@evaluates(CountCheck)
def _count(ctx: GradingContext, check: CountCheck) -> Outcome:
    objs = ctx.submitted(check.object)
    what = (
        f"{check.equals if check.equals is not None else f'at least {check.min}'} {check.object.describe()}"
    )
    names = [_label(o) for o in objs]
    found = f"{len(objs)}" + (
        f": {', '.join(names[:10])}" + (" …" if len(names) > 10 else "") if names else ""
    )
    if not objs and ctx.submission is None:
        return Outcome.pending(what, "none submitted since the lab started")
    ok = (check.equals is None or len(objs) == check.equals) and (check.min is None or len(objs) >= check.min)
    return Outcome("passed" if ok else "failed", what, found, "" if ok else "number")
