"""Running labs in the cluster tests: the reference solution, and variants of it that go wrong."""

from __future__ import annotations

import concurrent.futures
import copy
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from kubedojo.classroom import grade_class
from kubedojo.jsonpath import select
from kubedojo.labs import LabDefinition, LabResult, LabRunner, ResultStore
from kubedojo.labs.catalog import Catalog

PROJECT = Path(__file__).resolve().parents[2]
CATALOG = Catalog(PROJECT)


def solution(lab: LabDefinition) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(lab.solution_path.read_text()) if d]


def container(doc: dict[str, Any], name: str = "train") -> dict[str, Any]:
    found = select(doc, f"spec.template.spec.containers[name={name}]")
    assert found, f"no container {name}"
    return found[0]  # type: ignore[no-any-return]


def named(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(d for d in docs if d["kind"] == kind and d["metadata"].get("name") == name)


def write(docs: list[dict[str, Any]], path: Path) -> Path:
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return path


def variant(lab: LabDefinition, tmp_path: Path, edit: Callable[[list[dict[str, Any]]], Any]) -> Path:
    docs = copy.deepcopy(solution(lab))
    result = edit(docs)
    return write(result if isinstance(result, list) else docs, tmp_path / "submission.yaml")


def render(script: Path, *args: str, cwd: Path) -> list[dict[str, Any]]:
    """Run a lab's generator script (participants' tool) and read the Jobs it prints."""
    out = subprocess.run(
        [sys.executable, str(script), *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def statuses(result: LabResult) -> dict[str, str]:
    return {c.id: c.status for c in result.checks}


def assert_full_marks(result: LabResult) -> None:
    failing = [(c.id, c.status, c.found) for c in result.checks if c.status != "passed"]
    assert not failing, failing
    assert result.score == result.max_score and result.refused is None


def assert_partial(result: LabResult, failed: set[str], hint_words: str) -> None:
    """Some checks failed (exactly ``failed`` among them, nothing pending), others passed, and the
    failed ones carry their hint, one of which says ``hint_words``."""
    got = {c.id for c in result.checks if c.status == "failed"}
    assert got == failed, [(c.id, c.status, c.found) for c in result.checks]
    assert not [c for c in result.checks if c.status == "pending"], [(c.id, c.found) for c in result.checks]
    assert 0 < result.score < result.max_score
    hints = " ".join(c.hint for c in result.checks if c.status == "failed")
    assert all(c.hint for c in result.checks if c.status == "failed")
    assert hint_words.lower() in hints.lower(), hints


def run(
    runner: LabRunner,
    lab_id: str,
    manifest: Path,
    namespace: str,
    timeout: float = 300,
    participant: str = "tester",
) -> LabResult:
    return runner.run(CATALOG.get(lab_id), manifest, namespace, participant, timeout=timeout)


def side_by_side(*calls: Callable[[], LabResult]) -> list[LabResult]:
    """Run labs at the same time (each in its own namespace, as its own participant: their records
    must not share attempt numbers), for the suite's time; their results in order."""
    with concurrent.futures.ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [f.result() for f in futures]


def every_route(
    runner: LabRunner, lab_id: str, manifest: Path, namespace: str, results: Path, timeout: float = 300
) -> LabResult:
    """``lab.run`` the manifest, then grade the same work by ``lab.check`` and through the class
    grading; each check gets the same verdict by the three routes. Returns the run's result."""
    lab = CATALOG.get(lab_id)
    ran = runner.run(lab, manifest, namespace, "tester", timeout=timeout)
    checked = runner.check(lab, namespace, "tester")
    store = ResultStore(results)
    graded = grade_class(
        runner.client, [lab], {"tester": namespace}, store, runner.reader, digests=runner.digests
    )
    verdicts = [{c.id: (c.status, c.earned) for c in r.checks} for r in (ran, checked, graded.results[0])]
    assert verdicts[0] == verdicts[1] == verdicts[2], verdicts
    return ran
