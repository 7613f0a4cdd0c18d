"""Every lab in labs/ loads; a broken lab.yaml is one line naming the file and key."""

from pathlib import Path

import pytest

from kubedojo.errors import ConfigError
from kubedojo.labs.catalog import Catalog
from kubedojo.labs.definition import load_definition

PROJECT = Path(__file__).resolve().parents[2]

MINIMAL = """
id: demo
title: Demo
teaches: [x]
starter: handson/demo/job.yaml
checks:
  - id: done
    check: job_condition
    title: done
    points: 1
    job: {name: demo}
    type: Complete
"""


def test_every_lab_loads_with_its_files() -> None:
    labs = Catalog(PROJECT).all()
    assert len(labs) >= 10
    for lab in labs:
        assert lab.max_score > 0
        # a lab worked in JupyterHub submits no manifest, so it has nothing for static checks
        assert lab.runtime_checks and (lab.static_checks or lab.works_in == "jupyterhub"), lab.id
        assert lab.solution_path.is_file(), lab.solution_path
        for image in lab.images:
            assert (PROJECT / image.context / "Dockerfile").is_file(), image.context
        assert lab.starter_path.is_file(), lab.starter_path
        assert (lab.handson_dir / "README.md").is_file() and (lab.handson_dir / "README.ko.md").is_file()


def lab_file(tmp_path: Path, text: str) -> Path:
    (tmp_path / "labs" / "demo").mkdir(parents=True)
    path = tmp_path / "labs" / "demo" / "lab.yaml"
    path.write_text(text)
    return path


def test_minimal(tmp_path: Path) -> None:
    lab = load_definition(lab_file(tmp_path, MINIMAL), tmp_path)
    assert lab.max_score == 1 and lab.runtime_checks and not lab.static_checks


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("type: Complete", "type: Complete\n    typo: 1"), "check 'done': unknown key 'typo'"),
        (
            ("check: job_condition", "check: job_conditoin"),
            "check 'done': 'check': Input should be one of 'field', 'strings',",
        ),
        (("points: 1", "points: lots"), "check 'done': 'points': Input should be a valid integer"),
        (
            ("type: Complete", "type: Done"),
            "check 'done': 'type': Input should be 'Complete' or 'Failed' (got 'Done')",
        ),
        (("id: demo", "id: other"), "'id' is 'other' but the directory is 'demo'"),
        (("teaches: [x]\n", ""), "missing key 'teaches'"),
    ],
)
def test_broken_definitions(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    path = lab_file(tmp_path, MINIMAL.replace(*change))
    with pytest.raises(ConfigError) as info:
        load_definition(path, tmp_path)
    assert expected in str(info.value)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_unknown_lab_suggests(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="did you mean '01-run-job'"):
        Catalog(PROJECT).get("01-run-jbo")
