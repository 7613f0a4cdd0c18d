"""The evaluator of ``python`` checks: a function in ``labs/<id>/checks.py``, called with the grading
context and the check's ``params``, returning an :class:`Outcome` (the lab-author API is what
:mod:`kubedojo.labs` exports)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from ...errors import ConfigError
from ..context import GradingContext
from ..definition import LabDefinition, PythonCheck
from ..results import Outcome
from .registry import evaluates

__all__: list[str] = []  # the evaluator registers itself; nothing to import


_MODULES: dict[tuple[Path, float], ModuleType] = {}


def _load_checks_module(lab: LabDefinition) -> ModuleType:
    """``labs/<id>/checks.py``, loaded once per version of the file."""
    path = lab.directory / "checks.py"
    try:
        key = (path, path.stat().st_mtime)
    except OSError:
        raise ConfigError(f"{path}: missing (the lab has python checks)") from None
    if key not in _MODULES:
        _MODULES[key] = _import_checks(lab, path)
    return _MODULES[key]


def _import_checks(lab: LabDefinition, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"kubedojo_lab_checks_{lab.id.replace('-', '_')}", path)
    if spec is None or spec.loader is None or not path.exists():
        raise ConfigError(f"{path}: missing (the lab has python checks)")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@evaluates(PythonCheck)
def _python(ctx: GradingContext, check: PythonCheck) -> Outcome:
    module = _load_checks_module(ctx.lab)
    function = getattr(module, check.function, None)
    if not callable(function):
        raise ConfigError(f"{ctx.lab.directory / 'checks.py'}: no function {check.function!r}")
    outcome = function(ctx, **check.params)
    if not isinstance(outcome, Outcome):
        raise ConfigError(f"{ctx.lab.directory / 'checks.py'}: {check.function} must return an Outcome")
    return outcome
