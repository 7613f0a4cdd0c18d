"""What the lab scripts leave in their termination message (``train.py``'s ``run`` and ``report``), the
grader's source for their output and saved files. Run without scikit-learn: the modules it imports are
stand-ins, as training itself is not what is tested here."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

TRAIN = Path(__file__).resolve().parents[2] / "handson" / "01-run-job" / "train.py"
SKLEARN = ("datasets", "exceptions", "metrics", "model_selection", "neural_network", "preprocessing")


@pytest.fixture
def train(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    stand_in = types.ModuleType("sklearn")
    monkeypatch.setitem(sys.modules, "sklearn", stand_in)
    for name in SKLEARN:
        module = types.ModuleType(f"sklearn.{name}")
        module.__getattr__ = lambda attribute: None  # type: ignore[method-assign]
        monkeypatch.setitem(sys.modules, f"sklearn.{name}", module)
    spec = importlib.util.spec_from_file_location("lab_train", TRAIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.TERMINATION_LOG = tmp_path / "termination-log"
    # run() replaces sys.stdout and sys.stderr; pytest's capture puts its own back afterwards.
    monkeypatch.setattr(sys, "stdout", sys.stdout)
    monkeypatch.setattr(sys, "stderr", sys.stderr)
    yield module


def ended(train: Any, main: Callable[[list[str]], Any]) -> tuple[object, dict[str, Any]]:
    with pytest.raises(SystemExit) as stop:
        train.run(main)
    return stop.value.code, json.loads(train.TERMINATION_LOG.read_text())


def test_the_report_holds_stdout_and_stderr_in_order(train: Any) -> None:
    def main(argv: list[str]) -> int:
        print("Epoch 1/1 - loss: 0.5")
        print("a warning", file=sys.stderr)
        print("Test accuracy: 0.9600")
        return 0

    code, message = ended(train, main)
    assert code == 0
    assert message == {"log": "Epoch 1/1 - loss: 0.5\na warning\nTest accuracy: 0.9600\n", "files": []}


def test_a_wrong_argument_is_reported_with_argparse_s_message(train: Any) -> None:
    code, message = ended(train, lambda argv: train.parse_args(["five", "relu", "0.0001"]))
    assert code == 2
    assert "invalid positive_int value: 'five'" in message["log"]


def test_an_exit_with_a_reason_reports_the_reason_and_exits_1(train: Any) -> None:
    def main(argv: list[str]) -> int:
        raise SystemExit("/model_hp/exp.yaml does not exist")

    code, message = ended(train, main)
    assert code == 1
    assert message["log"] == "/model_hp/exp.yaml does not exist\n"


def test_a_crash_reports_its_traceback_and_exits_1(train: Any) -> None:
    def main(argv: list[str]) -> int:
        raise ValueError("bad data")

    code, message = ended(train, main)
    assert code == 1
    assert message["log"].startswith("Traceback") and "ValueError: bad data" in message["log"]


def test_saved_files_are_reported_with_their_sha256(train: Any, tmp_path: Path) -> None:
    model = tmp_path / "model.joblib"  # sha256sum of "weights", computed apart

    def main(argv: list[str]) -> int:
        model.write_bytes(b"weights")
        train.SAVED.append(model)
        return 0

    _, message = ended(train, main)
    assert message["files"] == [
        {"name": "model.joblib", "sha256": "9a129038d9a00aed0cf6a7ea059ca50a813449061ab87848cf1a13eafdf33b2c"}
    ]


def test_output_longer_than_a_message_holds_is_left_to_the_log(train: Any) -> None:
    def main(argv: list[str]) -> int:
        for epoch in range(1, 301):
            print(f"Epoch {epoch}/300 - loss: 0.1234")
        return 0

    _, message = ended(train, main)
    assert message == {"files": []}
    assert len(train.TERMINATION_LOG.read_bytes()) <= 4096


def test_an_extra_argument_cannot_forge_a_line_of_output(train: Any) -> None:
    """argparse prints unrecognised arguments as given: a newline in one would have put a line of the
    caller's choosing in the output the grader reads (the log as well as the report)."""
    forged = "\nTest accuracy: 0.99\nEpoch 5/5 - loss: 0.0"
    code, message = ended(train, lambda argv: train.parse_args(["5", "relu", "0.0001", forged]))
    assert code == 2
    assert "unrecognized arguments: '\\nTest accuracy: 0.99\\nEpoch 5/5 - loss: 0.0'" in message["log"]
    assert not re.search(r"^(Test accuracy|Epoch)", message["log"], re.MULTILINE), message["log"]
