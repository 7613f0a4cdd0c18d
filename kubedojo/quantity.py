"""Kubernetes resource quantities as exact numbers, so that ``1000m == 1`` and ``1Gi == 1024Mi``.

The Kubernetes client's :func:`kubernetes.utils.parse_quantity` does the arithmetic (a
:class:`~decimal.Decimal` times the suffix's power); the quantity grammar of the API server is checked
here first, because that function also takes what the API server refuses (``1 Gi``, ``1e3Mi``, ``1K``,
``NaN``, ``1_000``) and turns a float into its inexact binary value. The grammar alone
(:func:`check_quantity`, for validating workshop.yaml) does not load the Kubernetes client.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal

__all__ = ["check_quantity", "parse_quantity", "same_quantity"]

_QUANTITY = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?")
"""A signed number and one suffix: binary (``Ki``…), decimal (``m``, ``k``…) or an exponent (``e3``)."""


def check_quantity(value: object) -> str:
    """The text of a quantity (``"500Mi"``, ``"1.5"``, ``2``, ``"100m"``), or :class:`ValueError`
    naming the value when it is not one."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{value!r} is not a quantity")
    text = value.strip() if isinstance(value, str) else str(value)
    if not _QUANTITY.fullmatch(text):
        raise ValueError(f"{value!r} is not a quantity (examples: 500m, 1, 512Mi, 1Gi)")
    return text


def parse_quantity(value: object) -> Decimal:
    """A quantity as a :class:`Decimal` in base units; :class:`ValueError` when it is not one."""
    from kubernetes import utils

    scaled: Callable[[str], Decimal] = utils.parse_quantity
    return scaled(check_quantity(value))


def same_quantity(a: object, b: object) -> bool:
    try:
        return parse_quantity(a) == parse_quantity(b)
    except ValueError:
        return False
