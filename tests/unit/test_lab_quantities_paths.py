"""Quantities are compared as numbers; paths match list elements by predicate."""

from decimal import Decimal

import pytest

from kubedojo.jsonpath import parse_path, select
from kubedojo.quantity import parse_quantity, same_quantity


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("1000m", "1"),
        ("1", 1),
        ("0.1", "100m"),
        ("1Gi", "1024Mi"),
        ("500Mi", 524288000),
        ("1k", "1000"),
        ("1e3", "1k"),
    ],
)
def test_equal_quantities(a: object, b: object) -> None:
    assert same_quantity(a, b)


@pytest.mark.parametrize(("a", "b"), [("1G", "1Gi"), ("100m", "1"), ("500M", "500Mi")])
def test_different_quantities(a: str, b: str) -> None:
    assert not same_quantity(a, b)


def test_quantity_values() -> None:
    assert parse_quantity("250m") == Decimal("0.25")
    assert parse_quantity("2Ki") == 2048
    assert parse_quantity(" 1E ") == 10**18 and parse_quantity("1.5e-3") == Decimal("0.0015")
    assert parse_quantity(0.1) == Decimal("0.1")  # the float's decimal text, not its binary value


@pytest.mark.parametrize(
    "bad",
    # The API server's grammar, stricter than kubernetes.utils.parse_quantity alone: no "K", no exponent
    # with a suffix, no "_" in numbers; and no infinite or NaN number (YAML's .inf and .nan were taken).
    [
        "",
        "1 Gi",
        "Gi",
        "1.2.3",
        "ten",
        True,
        None,
        [1],
        "1K",
        "1e3Mi",
        "1_000",
        "NaN",
        float("nan"),
        float("inf"),
    ],
)
def test_not_a_quantity(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_quantity(bad)
    assert not same_quantity(bad, "1")


JOB = {
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {"name": "sidecar", "args": ["x"]},
                    {"name": "train", "args": ["5", "relu", "0.1"]},
                ]
            }
        }
    }
}


def test_predicate_not_position() -> None:
    assert select(JOB, "spec.template.spec.containers[name=train].args") == [["5", "relu", "0.1"]]
    assert select(JOB, "spec.template.spec.containers[*].name") == ["sidecar", "train"]
    assert select(JOB, "spec.template.spec.containers[1].args[0]") == ["5"]


def test_missing_path_selects_nothing() -> None:
    assert select(JOB, "spec.template.spec.containers[name=other].args") == []
    assert select(JOB, "spec.nothing.here") == []


@pytest.mark.parametrize("bad", ["", "a..[", "spec[", "a.[x"])
def test_malformed_path(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_path(bad)
