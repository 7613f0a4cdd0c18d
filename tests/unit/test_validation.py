"""The file models' bases and the one-line wording of a validation error, shared by every file kind."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pytest
from pydantic import Field, ValidationError

from kubedojo.validation import ClosedModel, NamedItems, StrictModel, one_line


class Part(StrictModel):
    file: str


class Fruit(StrictModel):
    name: str
    kind: Literal["apple", "pear"] = "apple"
    count: int = 1
    parts: list[str | Part] = Field(default_factory=list)


class Basket(StrictModel):
    fruits: list[Fruit]
    label: str = ""


class Red(ClosedModel):
    id: str
    shape: Literal["red"]
    points: int


class Blue(ClosedModel):
    id: str
    shape: Literal["blue"]


class Board(ClosedModel):
    items: list[Annotated[Red | Blue, Field(discriminator="shape")]]


FRUITS = NamedItems("fruits", "fruit")
ITEMS = NamedItems("items", "item", name_field="id")


def line(model: type[StrictModel | ClosedModel], data: Any, named: NamedItems | None = None) -> str:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return one_line(caught.value, data, "f.yaml", named)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"fruits": [], "lable": "x"}, "f.yaml: unknown key 'lable'"),
        ({}, "f.yaml: missing key 'fruits'"),
        (
            {"fruits": [{"name": "a", "kind": "plum"}]},
            "f.yaml: fruit 'a': 'kind': Input should be 'apple' or 'pear' (got 'plum')",
        ),
        (
            {"fruits": [{"name": "a", "count": "2"}]},
            "f.yaml: fruit 'a': 'count': Input should be a valid integer (got '2')",
        ),
        ({"fruits": [{"name": "a", "sort": 1}]}, "f.yaml: fruit 'a': unknown key 'sort'"),
        # An item without a name is named by its position.
        ({"fruits": [{"kind": "pear"}]}, "f.yaml: missing key 'fruits[0].name'"),
        ({"fruits": [{"name": 3}]}, "f.yaml: 'fruits[0].name': Input should be a valid string (got 3)"),
        # The union's members (str | Part) do not appear in the key.
        (
            {"fruits": [{"name": "a", "parts": [{}]}]},
            "f.yaml: fruit 'a': 'parts[0]': Input should be a valid string",
        ),
    ],
)
def test_strict_files(data: dict[str, Any], expected: str) -> None:
    assert line(Basket, data, FRUITS) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"items": [{"id": "x", "shape": "red", "points": "many"}]},
            "f.yaml: item 'x': 'points': Input should be a valid integer",
        ),
        ({"items": [{"id": "x", "shape": "red"}]}, "f.yaml: item 'x': missing key 'points'"),
        ({"items": [{"id": "x", "shape": "blue", "points": 1}]}, "f.yaml: item 'x': unknown key 'points'"),
        ({"items": [{"id": "x"}]}, "f.yaml: item 'x': missing key 'shape'"),
        (
            {"items": [{"id": "x", "shape": "green"}]},
            "f.yaml: item 'x': 'shape': Input should be one of 'red', 'blue' (got 'green')",
        ),
    ],
)
def test_discriminated_items(data: dict[str, Any], expected: str) -> None:
    assert line(Board, data, ITEMS).startswith(expected)


def test_a_closed_model_converts_where_a_strict_one_refuses() -> None:
    assert Board.model_validate({"items": [{"id": "x", "shape": "red", "points": "2"}]}).items[0] == Red(
        id="x", shape="red", points=2
    )
    for model in (Basket, Board):
        assert model.model_config.get("extra") == "forbid" and model.model_config.get("frozen") is True
    assert Basket.model_config.get("strict") is True and not Board.model_config.get("strict")
