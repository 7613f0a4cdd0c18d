"""Which function grades each check kind: evaluators register themselves for their check's model.

A check kind is a model in :data:`kubedojo.labs.definition.Check` and one function decorated with
``@evaluates(TheModel)``, taking the grading context and a check of that model, returning an
:class:`Outcome`. A model has exactly one evaluator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

from ..context import GradingContext
from ..definition import Check, check_kind
from ..results import Outcome

__all__ = ["Evaluator", "evaluates", "evaluator_for", "registered_models"]

CheckModel = TypeVar("CheckModel", bound=BaseModel)
Evaluator = Callable[[GradingContext, CheckModel], Outcome]

_EVALUATORS: dict[type[BaseModel], Evaluator[Any]] = {}


def evaluates(model: type[CheckModel]) -> Callable[[Evaluator[CheckModel]], Evaluator[CheckModel]]:
    """Register the decorated function as the evaluator of ``model``'s checks."""

    def register(function: Evaluator[CheckModel]) -> Evaluator[CheckModel]:
        if model in _EVALUATORS:
            raise RuntimeError(f"two evaluators for {check_kind(model)!r} checks")
        _EVALUATORS[model] = function
        return function

    return register


def evaluator_for(check: Check) -> Evaluator[Check]:
    try:
        return _EVALUATORS[type(check)]
    except KeyError:
        raise LookupError(f"no evaluator registered for {check.check!r} checks") from None


def registered_models() -> frozenset[type[BaseModel]]:
    return frozenset(_EVALUATORS)
