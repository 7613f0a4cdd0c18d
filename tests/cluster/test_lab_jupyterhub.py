"""Lab 10 on the real local cluster, in a real headless browser (Debian's chromium): a participant of
the class logs in to JupyterHub with their own Jupyter password, starts their server from the hub's
home page, puts the lab's notebook in their home (through the server's contents API from the page,
as JupyterLab's upload does), opens it in JupyterLab, runs every cell (Shift+Enter on each, as the
keyboard does it) and saves it (Ctrl+S). The reference solution gets full marks by ``lab.run``
(which waits for the work while it happens), ``lab.check`` and the class grading alike; a notebook
that trains on the labels in the wrong order fails the model's check with its hint, and nothing
else."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from kubedojo.classroom.grading import grade_class
from kubedojo.labs import LabRunner
from kubedojo.labs.records import ResultStore
from kubedojo.labs.results import LabResult
from kubedojo.labs.session import read_start

from .browser import Browser
from .conftest import HubClass
from .hub import lab_notebook, work_in_jupyterhub
from .labtools import CATALOG, assert_full_marks, assert_partial

pytestmark = [pytest.mark.cluster, pytest.mark.usefixtures("addon_images")]

LAB = "10-jupyterhub"


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
        work_in_jupyterhub(browser, "lena", jupyterhub.passwords["lena"], lab_notebook())
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
        weak = lab_notebook(fit="model.fit(X_train, y_train[::-1])")
        work_in_jupyterhub(browser, "lars", jupyterhub.passwords["lars"], weak)
    bad = lab_runner.check(lab, lars, "lars")
    assert_partial(bad, {"model"}, "model.fit(X_train, y_train)")
