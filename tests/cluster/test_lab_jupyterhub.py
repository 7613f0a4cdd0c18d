"""Lab 10 on the real local cluster, in a real headless browser (Debian's chromium): a participant of
the class logs in to JupyterHub with their own Jupyter password, starts their server from the hub's
home page, puts the lab's notebook in their home (through the server's contents API from the page,
as JupyterLab's upload does), opens it in JupyterLab, runs every cell (Shift+Enter on each, as the
keyboard does it) and saves it (Ctrl+S). The reference solution gets full marks by ``lab.run``
(which waits for the work while it happens), ``lab.check`` and the class grading alike; a notebook
that trains on the labels in the wrong order fails the model's check with its hint, and nothing
else."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kubedojo.classroom.grading import grade_class
from kubedojo.labs import LabRunner
from kubedojo.labs.records import ResultStore
from kubedojo.labs.results import LabResult
from kubedojo.labs.session import read_start

from .browser import Browser
from .conftest import HubClass
from .hub import HUB_URL
from .labtools import CATALOG, assert_full_marks, assert_partial

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("addon_images")]

LAB = "10-jupyterhub"


def _notebook(fit: str | None = None) -> dict[str, Any]:
    notebook = json.loads(CATALOG.get(LAB).solution_path.read_text())
    if fit is not None:
        for cell in notebook["cells"]:
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = source.replace("model.fit(X_train, y_train)", fit)
    return dict(notebook)


def work_in_jupyterhub(browser: Browser, name: str, password: str, notebook: dict[str, Any]) -> None:
    """What the lab's README asks of a participant, in the browser."""
    browser.open(f"{HUB_URL}/hub/login")
    browser.wait_for("!!document.querySelector('input[name=password]')", "the login form")
    browser.evaluate(
        "(() => { const f = document.querySelector('form');"
        f" f.querySelector('input[name=username]').value = {json.dumps(name)};"
        f" f.querySelector('input[name=password]').value = {json.dumps(password)};"
        " f.requestSubmit(); return true; })()"
    )
    browser.wait_for(
        "location.pathname.startsWith('/hub/') && !location.pathname.endsWith('/login')", "login"
    )
    browser.open(f"{HUB_URL}/hub/home")
    browser.click("#start")  # Start My Server
    browser.wait_for(
        f"location.pathname.startsWith('/user/{name}/lab') && !!document.querySelector('.jp-LabShell')",
        "JupyterLab after the server started",
        timeout=300,
    )
    put = (
        f"fetch('/user/{name}/api/contents/train.ipynb', {{method: 'PUT', headers: {{'Content-Type':"
        " 'application/json', 'X-XSRFToken': document.cookie.match(/_xsrf=([^;]+)/)[1]},"
        f" body: JSON.stringify({{type: 'notebook', format: 'json', content: {json.dumps(notebook)}}})}})"
        ".then(r => r.status)"
    )
    assert browser.evaluate(put) == 201
    browser.open(f"{HUB_URL}/user/{name}/lab/tree/train.ipynb")
    browser.wait_for("document.querySelectorAll('.jp-Notebook .jp-Cell').length >= 8", "the notebook's cells")
    # Run every cell with Shift+Enter, from the first (a click selects it), then save with Ctrl+S.
    browser.click(".jp-Notebook .jp-Cell")
    cells = browser.evaluate("document.querySelectorAll('.jp-Notebook .jp-Cell').length")
    for _ in range(cells):
        browser.press("Enter", "Enter", 13, modifiers=8)
        time.sleep(0.3)
    browser.wait_for(
        "[...document.querySelectorAll('.jp-OutputArea-output')]"
        ".some(o => o.textContent.includes('saved /home/jovyan/models/digits-model.npz'))",
        "the last cell's output",
        timeout=240,
    )
    browser.press("s", "KeyS", 83, modifiers=2)
    saved = (
        f"fetch('/user/{name}/api/contents/train.ipynb').then(r => r.json()).then(m => m.content.cells"
        ".some(c => (c.outputs || []).some(o => String(o.text || '').includes('held-out accuracy'))))"
    )
    browser.wait_for(saved, "the notebook saved with its outputs")


def _verdicts(result: LabResult) -> dict[str, tuple[str, int]]:
    return {c.id: (c.status, c.earned) for c in result.checks}


def test_10_solution_in_a_browser_by_every_route_and_a_model_trained_on_too_little(
    jupyterhub: HubClass, lab_runner: LabRunner, tmp_path: Path
) -> None:
    lab = CATALOG.get(LAB)
    lena, lars = jupyterhub.namespace("lena"), jupyterhub.namespace("lars")

    # lab.run waits for lena's work while she does it in the browser.
    ran: list[LabResult] = []
    waiting = threading.Thread(
        target=lambda: ran.append(lab_runner.run_in_hub(lab, lena, "lena", timeout=600, interval=10))
    )
    waiting.start()
    deadline = time.monotonic() + 30
    while read_start(lab_runner.client, lena, LAB) is None:
        assert time.monotonic() < deadline, "lab.run recorded no start"
        time.sleep(0.5)
    with Browser(tmp_path / "lena") as browser:
        work_in_jupyterhub(browser, "lena", jupyterhub.passwords["lena"], _notebook())
    waiting.join(660)
    (result,) = ran
    assert_full_marks(result)
    found = {c.id: c.found for c in result.checks}
    assert "on 540 held-out digits" in found["model"], found
    checked = lab_runner.check(lab, lena, "lena")
    graded = grade_class(
        lab_runner.client,
        [lab],
        {"lena": lena},
        ResultStore(tmp_path / "results"),
        lab_runner.reader,
        digests=lab_runner.digests,
    )
    assert_full_marks(checked)
    assert _verdicts(checked) == _verdicts(graded.results[0]) == _verdicts(result)

    # lars trains on the labels in reverse order: his model is his notebook's, but learnt nothing.
    lab_runner.start(lab, lars, "lars")
    with Browser(tmp_path / "lars") as browser:
        weak = _notebook(fit="model.fit(X_train, y_train[::-1])")
        work_in_jupyterhub(browser, "lars", jupyterhub.passwords["lars"], weak)
    bad = lab_runner.check(lab, lars, "lars")
    assert_partial(bad, {"model"}, "model.fit(X_train, y_train)")
