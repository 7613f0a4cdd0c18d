"""One registry per check kind: each model in the Check union declares its phase and has exactly one
evaluator; the kinds list is derived from the union; labs' checks.py use only the lab-author API."""

import ast
import re
from pathlib import Path
from typing import get_args

import pytest

import kubedojo.labs
from kubedojo.labs.definition import CHECK_KINDS, CHECK_MODELS, Check, PythonCheck, check_kind
from kubedojo.labs.evaluators import evaluates, registered_models
from kubedojo.labs.grading import GradingContext
from kubedojo.labs.results import Outcome, Phase

PROJECT = Path(__file__).resolve().parents[2]
DEFINITION = PROJECT / "kubedojo" / "labs" / "definition.py"


def test_every_kind_in_the_union_has_an_evaluator() -> None:
    assert set(CHECK_MODELS) == set(get_args(get_args(Check)[0]))
    assert registered_models() == set(CHECK_MODELS)


def test_every_kind_declares_its_phase() -> None:
    phases = set(get_args(Phase))
    for model in CHECK_MODELS:
        if model is PythonCheck:  # the lab declares it, per check
            assert set(get_args(model.model_fields["phase"].annotation)) == phases
            continue
        assert vars(model).get("phase") in phases, f"{model.__name__} declares no phase"
        assert "phase" not in model.model_fields, model.__name__


def test_the_kinds_list_is_derived_not_written_out() -> None:
    assert tuple(check_kind(model) for model in CHECK_MODELS) == CHECK_KINDS
    assert len(set(CHECK_KINDS)) == len(CHECK_KINDS)
    source = DEFINITION.read_text()
    for kind in CHECK_KINDS:
        # Named once, in its model's ``check: Literal[...]``, and nowhere else in the module.
        assert source.count(f'"{kind}"') == 1, kind
        assert f'check: Literal["{kind}"]' in source


def test_every_kind_is_documented() -> None:
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", (PROJECT / "docs" / "labs.md").read_text(), re.M))
    assert set(CHECK_KINDS) <= documented


def test_a_kind_has_one_evaluator() -> None:
    def another(ctx: GradingContext, check: PythonCheck) -> Outcome:
        return Outcome.pending(check.title, "")

    with pytest.raises(RuntimeError, match="two evaluators for 'python' checks"):
        evaluates(PythonCheck)(another)


def test_labs_checks_import_only_the_lab_author_api() -> None:
    api = set(kubedojo.labs.LAB_AUTHOR_API)
    assert api <= set(kubedojo.labs.__all__)
    assert all(hasattr(kubedojo.labs, name) for name in api)
    files = sorted(PROJECT.glob("labs/*/checks.py"))
    assert files
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            modules = []
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
                if node.module == "kubedojo.labs":
                    assert {a.name for a in node.names} <= api, path
            elif isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            for module in modules:
                assert not module.startswith("kubedojo") or module == "kubedojo.labs", (path, module)
