"""Python checks of lab 04: the hyper-parameter file, and that the Job really used it."""

from __future__ import annotations

import ast
import re
from typing import Any

import yaml

from kubedojo.labs import GradingContext, Outcome, Select, job_finished

_TYPES = (("epochs", int), ("activation", str), ("alpha", float))


def _fits(kind: type, value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int | float) if kind is float else isinstance(value, kind)


def _quoted(text: str) -> list[bool]:
    """For each item of the file's "args" list: was it written in quotes?"""
    node = yaml.compose(text)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "args" and isinstance(value, yaml.SequenceNode):
                return [
                    isinstance(item, yaml.ScalarNode) and item.style in ("'", '"') for item in value.value
                ]
    return []


def _wrong(name: str, kind: type, value: Any, quoted: bool) -> str:
    """What is wrong with ``value``, from the way YAML read it: quoted, or unquoted but still text
    (YAML reads 1e-3 as text: its numbers with an exponent need a decimal point and a signed
    exponent, 1.0e-3), or a number of the wrong kind."""
    found = f"{name} is {value!r} ({type(value).__name__})"
    if isinstance(value, str) and kind is not str:
        try:
            unquoted = yaml.safe_load(value)
        except yaml.YAMLError:
            unquoted = value
        if quoted and _fits(kind, unquoted):
            return f"{found}: in quotes, so YAML reads it as text"
        try:
            float(value)
        except ValueError:
            return found
        example = "10" if kind is int else "0.001 or 1.0e-3"
        return f"{found}: YAML reads {value} as text, not as a number (write {example})"
    if kind is int and isinstance(value, float):
        return f"{found}: a whole number is written without a decimal point"
    return found


def _hp(config_map: dict[str, Any], key: str) -> tuple[list[Any] | None, str]:
    text = (config_map.get("data") or {}).get(key)
    if text is None:
        return None, f"no key {key}; keys: {', '.join(config_map.get('data') or {}) or 'none'}"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None, f"{key} is not valid YAML"
    args = data.get("args") if isinstance(data, dict) else None
    if not isinstance(args, list) or len(args) != 3:
        return None, f"{key}: args is {args!r}, not a list of three"
    quoted = _quoted(text) + [False] * 3
    for (name, kind), value, in_quotes in zip(_TYPES, args, quoted[:3], strict=True):
        if not _fits(kind, value):
            return None, f"{key}: {_wrong(name, kind, value, in_quotes)}"
    return args, f"args {args!r}"


def hp_file(ctx: GradingContext, config_map: str, key: str) -> Outcome:
    what = f"ConfigMap {config_map}, {key}: args [int, str, float]"
    found = ctx.submitted(Select(kind="ConfigMap", name=config_map))
    if not found:
        if ctx.submission is not None:
            return Outcome.failed(what, f"the manifest has no ConfigMap {config_map}")
        return Outcome.pending(what, f"no ConfigMap {config_map} since the lab started")
    args, detail = _hp(found[0], key)
    return Outcome("passed" if args is not None else "failed", what, detail)


def used_config(ctx: GradingContext, job: str, config_map: str, key: str) -> Outcome:
    what = "the logged hyper-parameters equal the ConfigMap's, and that many epochs ran"
    jobs = ctx.finished_jobs(Select(name=job), what)
    if isinstance(jobs, Outcome):
        return jobs
    if (job_finished(jobs[0]) or {}).get("type") != "Complete":
        return Outcome.failed(what, f"{job} did not complete")
    maps = [m for m in ctx.snapshot.of_kind("ConfigMap") if m["metadata"]["name"] == config_map]
    if not maps:
        return Outcome.failed(what, f"ConfigMap {config_map} is gone")
    args, detail = _hp(maps[0], key)
    if args is None:
        return Outcome.failed(what, detail)
    log = ctx.log_of(jobs[0])
    logged = None
    for line in log.splitlines():
        if line.startswith("{"):
            try:
                logged = ast.literal_eval(line.strip())
            except (ValueError, SyntaxError):
                continue
            break
    if not isinstance(logged, dict) or logged.get("args") != args:
        return Outcome.failed(what, f"logged {logged!r}, the ConfigMap holds args {args!r}")
    epochs = re.findall(rf"^Epoch \d+/{args[0]}\b", log, re.MULTILINE)
    if len(epochs) != args[0]:
        return Outcome.failed(what, f"{len(epochs)} epochs logged, {args[0]} configured")
    return Outcome.passed(what, f"args {args!r}, {len(epochs)} epochs")
