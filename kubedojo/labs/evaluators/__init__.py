"""How each check kind is graded: one evaluator per check model, registered with ``@evaluates``.

:mod:`static` holds the evaluators of the checks on manifests, :mod:`runtime` those of the checks on
what ran, :mod:`scheduling` those about where pods may go and went (and the autoscaler's nodes),
:mod:`metrics` the one on live resource usage, :mod:`workflows` those on Argo Workflows,
:mod:`objectstore` the one on what the object store saw,
:mod:`python_function` the one that calls a lab's own
``checks.py``. Importing this package
registers them all.
"""

from __future__ import annotations

from . import (  # noqa: F401  (importing them registers their evaluators)
    metrics,
    mounts,
    objectstore,
    python_function,
    runtime,
    scheduling,
    static,
    workflows,
)
from .registry import Evaluator, evaluates, evaluator_for, registered_models

__all__ = ["Evaluator", "evaluates", "evaluator_for", "registered_models"]
