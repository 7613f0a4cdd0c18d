"""Evaluators of the static check kinds: on the submitted manifest (``lab.run``) or on the live
objects created since the lab started (``lab.check``)."""

from __future__ import annotations

from typing import Any

from ...quantity import parse_quantity, same_quantity
from ..context import GradingContext
from ..definition import CountCheck, FieldCheck, LimitsCheck, MountCheck, Select, StringsCheck
from ..jsonpath import select
from ..objects import pod_spec
from ..results import Outcome
from .registry import evaluates

__all__: list[str] = []  # the evaluators register themselves; nothing to import


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def _missing(ctx: GradingContext, sel: Select, what: str) -> Outcome:
    if ctx.submission is not None:
        return Outcome.failed(what, f"the manifest has no {sel.describe()}")
    return Outcome.pending(what, f"no {sel.describe()} submitted since the lab started")


@evaluates(FieldCheck)
def _field(ctx: GradingContext, check: FieldCheck) -> Outcome:
    objs = ctx.submitted(check.object)
    if check.present is not None:
        what = f"{check.path} {'set' if check.present else 'not set'}"
    elif check.equals is not None:
        what = f"{check.path} = {_show(check.equals)}"
    elif check.one_of is not None:
        what = f"{check.path} one of {', '.join(_show(v) for v in check.one_of)}"
    elif check.quantity is not None:
        what = f"{check.path} = {check.quantity}"
    else:
        bounds = [
            f">= {check.min:g}" if check.min is not None else "",
            f"<= {check.max:g}" if check.max is not None else "",
        ]
        what = f"{check.path} {' and '.join(b for b in bounds if b)}"
    if not objs:
        return _missing(ctx, check.object, what)
    for obj in objs:
        values = select(obj, check.path)
        label = obj["metadata"].get("name") or obj["metadata"].get("generateName")
        if check.present is not None:
            if bool(values) != check.present:
                shown = "not set" if not values else f"set to {_show(values[0])}"
                return Outcome.failed(what, f"{label}: {check.path} is {shown}")
            continue
        if not values:
            return Outcome.failed(what, f"{label}: {check.path} is not set")
        for value in values:
            ok = True
            if check.equals is not None:
                ok = value == check.equals and type(value) is type(check.equals)
            elif check.one_of is not None:
                ok = value in check.one_of
            elif check.quantity is not None:
                ok = same_quantity(value, check.quantity)
            else:
                try:
                    number = float(parse_quantity(value))
                except ValueError:
                    ok = False
                else:
                    ok = (check.min is None or number >= check.min) and (
                        check.max is None or number <= check.max
                    )
            if not ok:
                return Outcome.failed(what, f"{label}: {check.path} = {_show(value)}")
    shown = _show(select(objs[0], check.path)[0]) if select(objs[0], check.path) else "not set"
    return Outcome.passed(what, f"{check.path} = {shown}" if check.present is not False else "not set")


@evaluates(StringsCheck)
def _strings(ctx: GradingContext, check: StringsCheck) -> Outcome:
    what = f"{check.path}: " + (f"{check.length} strings" if check.length else "strings only")
    objs = ctx.submitted(check.object)
    if not objs:
        return _missing(ctx, check.object, what)
    for obj in objs:
        label = obj["metadata"].get("name") or obj["metadata"].get("generateName")
        lists = select(obj, check.path)
        if not lists or not isinstance(lists[0], list):
            return Outcome.failed(what, f"{label}: {check.path} is not a list")
        for items in lists:
            bad = [v for v in items if not isinstance(v, str)]
            if bad:
                return Outcome.failed(
                    what, f"{label}: {', '.join(f'{v!r} ({type(v).__name__})' for v in bad)} in {items!r}"
                )
            if check.length is not None and len(items) != check.length:
                return Outcome.failed(what, f"{label}: {len(items)} items: {items!r}")
    return Outcome.passed(what, repr(select(objs[0], check.path)[0]))


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    return list(pod_spec(obj).get("containers") or [])


@evaluates(LimitsCheck)
def _limits(ctx: GradingContext, check: LimitsCheck) -> Outcome:
    what = (
        "limits" + (f" for {', '.join(check.require)}" if check.require else "") + ", none below its request"
    )
    objs = ctx.submitted(check.object)
    if not objs:
        return _missing(ctx, check.object, what)
    for obj in objs:
        for container in _containers(obj):
            resources = container.get("resources") or {}
            limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
            name = container.get("name")
            for key in check.require:
                if key not in limits:
                    return Outcome.failed(what, f"container {name}: no {key} limit")
            for key, request in requests.items():
                if key in limits:
                    try:
                        if parse_quantity(limits[key]) < parse_quantity(request):
                            return Outcome.failed(
                                what,
                                f"container {name}: {key} limit {limits[key]} is below its request {request}",
                            )
                    except ValueError as exc:
                        return Outcome.failed(what, f"container {name}: {exc}")
    first = (_containers(objs[0]) or [{}])[0].get("resources") or {}
    return Outcome.passed(what, f"requests {first.get('requests', {})}, limits {first.get('limits', {})}")


@evaluates(MountCheck)
def _mount(ctx: GradingContext, check: MountCheck) -> Outcome:
    if check.claim is not None:
        source, key, wanted = "claim", ("persistentVolumeClaim", "claimName"), check.claim
    elif check.config_map is not None:
        source, key, wanted = "ConfigMap", ("configMap", "name"), check.config_map
    else:
        source, key, wanted = "host path", ("hostPath", "path"), str(check.host_path)
    what = f"{source} {wanted} mounted at {check.mount_path}"
    objs = ctx.submitted(check.object)
    if not objs:
        return _missing(ctx, check.object, what)
    for obj in objs:
        spec = pod_spec(obj)
        volumes = [
            v.get("name") for v in spec.get("volumes") or [] if (v.get(key[0]) or {}).get(key[1]) == wanted
        ]
        if not volumes:
            found = [
                f"{v.get('name')} ({', '.join(k for k in v if k != 'name')})"
                for v in spec.get("volumes") or []
            ]
            return Outcome.failed(
                what, f"no volume from {source} {wanted}; volumes: {', '.join(found) or 'none'}"
            )
        mounts = [
            m
            for c in spec.get("containers") or []
            for m in c.get("volumeMounts") or []
            if m.get("name") in volumes
        ]
        if not any(str(m.get("mountPath", "")).rstrip("/") == check.mount_path.rstrip("/") for m in mounts):
            where = ", ".join(str(m.get("mountPath")) for m in mounts) or "not mounted at all"
            return Outcome.failed(what, f"volume {volumes[0]} is mounted at: {where}")
    return Outcome.passed(what, what)


@evaluates(CountCheck)
def _count(ctx: GradingContext, check: CountCheck) -> Outcome:
    objs = ctx.submitted(check.object)
    what = (
        f"{check.equals if check.equals is not None else f'at least {check.min}'} {check.object.describe()}"
    )
    names = [o["metadata"].get("name") or o["metadata"].get("generateName") for o in objs]
    found = f"{len(objs)}" + (
        f": {', '.join(names[:10])}" + (" …" if len(names) > 10 else "") if names else ""
    )
    if not objs and ctx.submission is None:
        return Outcome.pending(what, "none submitted since the lab started")
    ok = (check.equals is None or len(objs) == check.equals) and (check.min is None or len(objs) >= check.min)
    return Outcome("passed" if ok else "failed", what, found)
