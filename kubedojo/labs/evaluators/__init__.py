"""How each check kind is graded: one evaluator per check model, registered with ``@evaluates``.

:mod:`static` holds the evaluators of the checks on manifests, :mod:`runtime` those of the checks on
what ran, :mod:`scheduling` those about where pods may go and went (and the autoscaler's nodes),
:mod:`metrics` the one on live resource usage, :mod:`python_function` the one that calls a lab's own
``checks.py``. Importing this package
registers them all.
"""

from __future__ import annotations

from . import metrics, mounts, python_function, runtime, scheduling, static  # noqa: F401  (importing them registers their evaluators)
from .registry import Evaluator, evaluates, evaluator_for, registered_models

__all__ = ["Evaluator", "evaluates", "evaluator_for", "registered_models"]
