"""A participant's manifest is refused with one line naming file, document and field."""

from pathlib import Path

import pytest

from kubedojo.errors import ConfigError
from kubedojo.labs.submission import read_submission

GOOD = """
apiVersion: batch/v1
kind: Job
metadata: {name: handson-01}
spec: {template: {spec: {containers: [{name: train, image: x, args: ["5"]}], restartPolicy: Never}}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(text)
    return path


def refused(tmp_path: Path, text: str, kinds: tuple[str, ...] = ("Job",)) -> str:
    with pytest.raises(ConfigError) as info:
        read_submission(write(tmp_path, text), list(kinds), "dojo-me")
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "job.yaml") in message
    return message


def test_reads_documents(tmp_path: Path) -> None:
    submission = read_submission(write(tmp_path, GOOD + "---\n" + GOOD.replace("handson-01", "b")), ["Job"])
    assert [o["metadata"]["name"] for o in submission.objects] == ["handson-01", "b"]


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    assert "line 3" in refused(tmp_path, "kind: Job\nmetadata:\n  name: oops: no\n")


def test_yaml_tag_placeholder(tmp_path: Path) -> None:
    text = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: a\nspec:\n  image: !IMAGE:model01\n"
    assert "YAML tag" in refused(tmp_path, text)


def test_blank_left_in(tmp_path: Path) -> None:
    message = refused(tmp_path, GOOD.replace('args: ["5"]', 'args: ["___"]'))
    assert "spec.template.spec.containers[0].args[0]" in message
    assert "fill it in" in message


def test_invalid_name(tmp_path: Path) -> None:
    message = refused(tmp_path, GOOD.replace("handson-01", "ml-job-"))
    assert "'ml-job-'" in message and "generateName" in message


def test_missing_kind_names_the_document(tmp_path: Path) -> None:
    message = refused(tmp_path, GOOD + "---\napiVersion: v1\nmetadata: {name: x}\n")
    assert "(document 2)" in message and "'kind'" in message


def test_kind_not_in_lab(tmp_path: Path) -> None:
    assert "'Deployment'" in refused(tmp_path, GOOD.replace("kind: Job", "kind: Deployment"))


def test_other_namespace(tmp_path: Path) -> None:
    assert "namespace" in refused(
        tmp_path, GOOD.replace("{name: handson-01}", "{name: handson-01, namespace: other}")
    )


def test_empty_and_scalar(tmp_path: Path) -> None:
    assert "no Kubernetes objects" in refused(tmp_path, "# nothing\n")
    assert "mapping" in refused(tmp_path, "- a\n- b\n")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        read_submission(tmp_path / "nope.yaml", ["Job"])


def test_a_search_parameter_no_trial_uses_is_refused_before_katib_hangs_on_it(tmp_path: Path) -> None:
    # Katib v0.19 accepts this Experiment, then never makes a trial (its controller logs an error).
    solution = (Path(__file__).resolve().parents[2] / "labs/12-katib/solution.yaml").read_text()
    assert read_submission(write(tmp_path, solution), ["Experiment"]).objects
    unused = solution.replace("reference: hidden", "reference: lr")
    message = refused(tmp_path, unused, ("Experiment",))
    assert "'spec.parameters[1]' (hidden) is referenced by no trial parameter" in message
