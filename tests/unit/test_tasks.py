"""The command line as a user meets it: `invoke` in the project directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def invoke(*args: str, workshop: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    if workshop is not None:
        env["KUBEDOJO_WORKSHOP"] = str(workshop)
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


def test_list_shows_every_namespace() -> None:
    result = invoke("--list")
    assert result.returncode == 0, result.stderr
    for name in (
        "cluster.up",
        "cluster.down",
        "cluster.status",
        "cluster.kubeconfig",
        "cluster.sample-job",
        "images.build",
        "charts.install",
        "charts.diff",
        "charts.status",
        "charts.uninstall",
        "charts.pull",
        "charts.helm",
        "lab",
        "class",
    ):
        assert name in result.stdout


def _assert_one_line_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kubedojo: ")
    assert expected in lines[0]


def test_broken_workshop_yaml_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "workshop.yaml"
    bad.write_text("local:\n  state_dir: [unclosed\n")
    _assert_one_line_error(invoke("cluster.status", workshop=bad), f"{bad}: line 3")


def test_unknown_key_is_one_line_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "workshop.yaml"
    bad.write_text("local:\n  state_dri: /tmp/x\n")
    _assert_one_line_error(invoke("cluster.up", workshop=bad), "unknown key 'local.state_dri'")


def test_bad_sim_nodes_is_refused_before_anything_runs(tmp_path: Path) -> None:
    config = tmp_path / "workshop.yaml"
    config.write_text(f"local:\n  state_dir: {tmp_path / 'state'}\n")
    _assert_one_line_error(
        invoke("cluster.up", "--sim-nodes", "tpu=3", workshop=config), "unknown pool 'tpu'"
    )
    assert not (tmp_path / "state").exists()


def test_kubeconfig_without_a_cluster_says_what_to_do(tmp_path: Path) -> None:
    config = tmp_path / "workshop.yaml"
    config.write_text(f"local:\n  state_dir: {tmp_path / 'state'}\n")
    _assert_one_line_error(invoke("cluster.kubeconfig", workshop=config), "run 'invoke cluster.up' first")


def test_on_prem_commands_refuse_bad_sites_in_one_line(tmp_path: Path) -> None:
    _assert_one_line_error(
        invoke("cluster.up", "-i", "inventory/nowhere"), "inventory/nowhere: no such site directory"
    )
    site = tmp_path / "lab"
    site.mkdir()
    _assert_one_line_error(invoke("cluster.preflight", "-i", str(site)), f"{site}/site.yaml: missing; copy")
    (site / "site.yaml").write_text(
        "nodes:\n  - {name: cp1, address: 10.0.0.1, roles: [control-plane, worker]}\n"
        "  - {name: Node2, address: 10.0.0.2}\n"
    )
    _assert_one_line_error(
        invoke("cluster.up", "-i", str(site), "--dry-run"),
        f"{site}/site.yaml: host 'Node2': 'name': host name 'Node2' must be lower-case",
    )
    _assert_one_line_error(
        invoke("cluster.up", "-i", str(site), "--sim-nodes", "gpu=1"), "--sim-nodes is for the local"
    )
    _assert_one_line_error(
        invoke("cluster.up", "--dry-run"), "--dry-run and --skip-preflight are for on-prem sites"
    )


def test_on_prem_commands_are_listed() -> None:
    out = invoke("--list").stdout
    for name in (
        "cluster.preflight",
        "cluster.scale",
        "cluster.remove-node",
        "cluster.reset",
        "cluster.upgrade",
    ):
        assert name in out


def test_lab_commands_are_listed() -> None:
    out = invoke("--list").stdout
    for name in ("lab.list", "lab.show", "lab.start", "lab.run", "lab.check", "lab.reset"):
        assert name in out


def test_lab_list_json() -> None:
    import json

    result = invoke("lab.list", "--json")
    assert result.returncode == 0, result.stderr
    labs = {lab["id"]: lab for lab in json.loads(result.stdout)}
    assert {"01-run-job", "03-exception", "05-many-jobs", "ds-job"} <= set(labs)
    assert labs["01-run-job"]["points"] > 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("lab.show", "01-run-jbo"), "did you mean '01-run-job'"),
        (("lab.run", "01-run-job"), "still '___': fill it in"),
        (("lab.run", "01-run-job", "--file", "nope.yaml"), "nope.yaml: no such file"),
        (("lab.run", "01-run-job", "--participant", "!!"), "--participant '!!'"),
        (("lab.run", "10-jupyterhub", "--file", "x.ipynb"), "lab 10-jupyterhub is worked in JupyterHub"),
        (("class.setup", "nope.csv"), "nope.csv: no such roster file"),
        (("class.setup", "README.md"), "a roster is a .csv or .yaml file"),
        (("class.grade", "--lab", "01-run-jbo"), "did you mean '01-run-job'"),
    ],
)
def test_lab_errors_are_one_line(args: tuple[str, ...], expected: str) -> None:
    result = invoke(*args)
    assert result.returncode == 1
    assert expected in result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "Traceback" not in result.stderr


def test_charts_commands_refuse_bad_input_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "releases.yaml"
    bad.write_text(
        "releases:\n  - {name: minio, chart: minio, version: '>=5', namespace: minio, repo: https://x/}\n"
    )
    _assert_one_line_error(
        invoke("charts.install", "--releases", str(bad)),
        f"{bad}: release 'minio': 'version': '>=5' is not a pinned version",
    )
    _assert_one_line_error(
        invoke("charts.status", "--releases", str(tmp_path / "none.yaml")), "none.yaml: no releases file"
    )
    workshop = tmp_path / "workshop.yaml"
    workshop.write_text(
        f"local: {{state_dir: {tmp_path / 'state'}}}\ncharts: {{helm: {tmp_path / 'no-helm'}}}\n"
    )
    _assert_one_line_error(invoke("charts.status", workshop=workshop), "no local cluster is running")
    _assert_one_line_error(
        invoke("charts.status", "--kubeconfig", str(tmp_path / "kc"), workshop=workshop), "no kubeconfig"
    )
    (tmp_path / "kc").write_text("apiVersion: v1\nkind: Config\nclusters: []\n")
    _assert_one_line_error(
        invoke("charts.status", "--kubeconfig", str(tmp_path / "kc"), workshop=workshop),
        f"'{tmp_path / 'no-helm'}' is not installed: charts.helm in workshop.yaml names no executable file",
    )


def test_every_task_turns_kubedojo_errors_into_one_line() -> None:
    from invoke.collection import Collection

    from kubedojo.tasks import namespace
    from kubedojo.tasks.support import KubedojoTask

    def tasks(collection: Collection) -> list[object]:
        return [*collection.tasks.values(), *(t for c in collection.collections.values() for t in tasks(c))]

    found = tasks(namespace(REPO))
    assert len(found) >= 30 and all(isinstance(t, KubedojoTask) for t in found)


@pytest.mark.parametrize(
    ("raised", "message", "code"),
    [
        ("config", "kubedojo: bad key", 1),
        ("cancelled", "kubedojo: stopped", 130),
        ("interrupt", "kubedojo: interrupted", 130),
    ],
)
def test_a_kubedojo_task_exits_with_one_line(raised: str, message: str, code: int) -> None:
    from invoke.context import Context
    from invoke.exceptions import Exit

    from kubedojo.errors import Cancelled, ConfigError
    from kubedojo.tasks.support import task

    errors = {
        "config": ConfigError("bad key"),
        "cancelled": Cancelled("stopped"),
        "interrupt": KeyboardInterrupt(),
    }

    @task(help={"x": "unused"})
    def failing(c: Context, x: str = "") -> None:
        """Fails."""
        raise errors[raised]

    with pytest.raises(Exit) as caught:
        failing(Context())
    assert (caught.value.message, caught.value.code) == (message, code)


def test_other_errors_pass_through_a_kubedojo_task() -> None:
    from invoke.context import Context

    from kubedojo.tasks.support import task

    @task
    def broken(c: Context) -> int:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        broken(Context())


def _all_tasks() -> list[tuple[str, object]]:
    from invoke.collection import Collection

    import tasks as project_tasks

    found = []

    def walk(collection: Collection, prefix: str) -> None:
        for name, task in collection.tasks.items():
            found.append((prefix + name, task))
        for name, sub in collection.collections.items():
            walk(sub, f"{prefix}{name}.")

    walk(Collection.from_module(project_tasks), "")
    return found


def test_no_task_has_an_optional_positional_argument() -> None:
    """Invoke requires every positional argument: one with a default is never filled from the
    command line ('invoke charts.install minio' answered "No idea what 'minio' is!")."""
    tasks = _all_tasks()
    assert len(tasks) > 30
    optional = [
        f"{name} {arg.name}"
        for name, task in tasks
        for arg in task.get_arguments()  # type: ignore[attr-defined]
        if arg.positional and arg.default is not None
    ]
    assert optional == []


def test_names_are_given_with_a_flag() -> None:
    result = invoke("charts.pull", "-n", "metrics-server", "--help")
    assert result.returncode == 0 and "-n STRING, --names=STRING" in result.stdout, result.stderr


def test_a_bundle_is_made_without_any_cluster(tmp_path: Path) -> None:
    """charts.pull on a machine that runs no cluster (the instructor's, before leaving for an
    air-gapped site) asked for the local cluster and stopped."""
    import json

    import yaml

    from kubedojo.addons import helm_binary
    from kubedojo.config import parse_config
    from kubedojo.errors import ToolMissingError

    try:
        helm_binary(parse_config({}))
    except ToolMissingError as exc:
        pytest.skip(str(exc))
    chart = REPO / "tests" / "charts" / "kd-app"
    releases = tmp_path / "releases.yaml"
    releases.write_text(
        yaml.safe_dump(
            {"releases": [{"name": "kd-app", "chart": str(chart), "version": "0.1.0", "namespace": "kd"}]}
        )
    )
    workshop = tmp_path / "workshop.yaml"
    workshop.write_text(yaml.safe_dump({"local": {"state_dir": str(tmp_path / "no-cluster")}}))
    bundle = tmp_path / "bundle"
    result = invoke(
        "charts.pull",
        "-n",
        "kd-app",
        "--bundle",
        str(bundle),
        "--releases",
        str(releases),
        "--no-images",
        "--json",
        workshop=workshop,
    )
    assert result.returncode == 0, result.stderr
    (entry,) = json.loads(result.stdout)["charts"]
    assert entry["release"] == "kd-app" and (bundle / entry["file"]).is_file()
