"""Lab 04's hyper-parameter file: the grader's check and the training script name the real cause of
a wrong value (in quotes, or unquoted but still text to YAML, as 1e-3 is), not always "quotes"."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[2]


def _load(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECKS = _load(PROJECT / "labs/04-hyperparams/checks.py", "lab04_checks_under_test")


def _found(exp_yaml: str) -> tuple[list[Any] | None, str]:
    return CHECKS._hp({"data": {"exp.yaml": exp_yaml}}, "exp.yaml")


@pytest.mark.parametrize(
    ("exp_yaml", "says", "not_says"),
    [
        ('args: ["10", relu, 0.001]', "epochs is '10' (str): in quotes", None),
        ('args: [10, relu, "0.001"]', "alpha is '0.001' (str): in quotes", None),
        (
            "args: [10, relu, 1e-3]",
            "YAML reads 1e-3 as text, not as a number (write 0.001 or 1.0e-3)",
            "quotes",
        ),
        ("args: [10, relu, '1e-3']", "YAML reads 1e-3 as text", "in quotes"),
        ("args: [10.0, relu, 0.001]", "without a decimal point", "quotes"),
        ("args: [10, relu, abc]", "alpha is 'abc' (str)", "quotes"),
    ],
)
def test_check_names_the_cause(exp_yaml: str, says: str, not_says: str | None) -> None:
    args, found = _found(exp_yaml)
    assert args is None
    assert says in found, found
    assert not_says is None or not_says not in found, found


@pytest.mark.parametrize("value", ["0.001", "1.0e-3", "1.e-3", "1", ".001"])
def test_check_accepts_yaml_numbers(value: str) -> None:
    args, _ = _found(f"args: [10, relu, {value}]")
    assert args is not None and isinstance(args[2], int | float)


@pytest.fixture
def train_hp(monkeypatch: pytest.MonkeyPatch) -> Any:
    """handson/04-hyperparams/train_hp.py, with its ``train`` module stubbed (no scikit-learn here)."""
    stub = types.ModuleType("train")
    stub.ACTIVATIONS = ("relu", "tanh", "logistic", "identity")  # type: ignore[attr-defined]
    stub.stop_on_sigterm = lambda: None  # type: ignore[attr-defined]
    stub.train = lambda *args: None  # type: ignore[attr-defined]
    stub.run = lambda main: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "train", stub)
    return _load(PROJECT / "handson/04-hyperparams/train_hp.py", "lab04_train_hp_under_test")


@pytest.mark.parametrize(
    ("exp_yaml", "says", "not_says"),
    [
        ('args: ["10", relu, 0.001]', "in quotes, which YAML reads as text: remove the quotes", None),
        ('args: [10, relu, "0.001"]', "remove the quotes", None),
        ("args: [10, relu, 1e-3]", "which YAML reads as text, not as a number: write it as 0.001", "quotes"),
        ("args: [10.0, relu, 0.001]", "a number with a decimal point", "quotes"),
        ('args: [10, relu, "abc"]', "which is text", "remove the quotes"),
    ],
)
def test_training_script_names_the_cause(
    train_hp: Any, tmp_path: Path, exp_yaml: str, says: str, not_says: str | None
) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(exp_yaml + "\n")
    with pytest.raises(SystemExit) as stopped:
        train_hp.read_hp(path)
    message = str(stopped.value)
    assert says in message, message
    assert not_says is None or not_says not in message, message


def test_training_script_reads_the_starter(train_hp: Any) -> None:
    hp = train_hp.read_hp(PROJECT / "handson/04-hyperparams/exp.yaml")
    assert hp == {"args": [10, "relu", 0.001]}
