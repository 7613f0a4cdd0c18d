"""The classroom's pure parts: rosters, the objects each participant gets, the scoreboard."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from kubedojo.classroom.objects import cluster_objects, participant_objects, role_rules
from kubedojo.classroom.roster import Participant, read_roster
from kubedojo.classroom.scoreboard import scoreboard
from kubedojo.config import parse_config
from kubedojo.errors import ConfigError
from kubedojo.labs.results import CheckResult, LabResult


def roster(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_roster(tmp_path: Path) -> None:
    path = roster(tmp_path, "class.csv", "name,email,group\nalice,alice@example.org,a\nbob,,b\n\n")
    assert read_roster(path) == [Participant("alice", "alice@example.org", "a"), Participant("bob", "", "b")]


def test_yaml_roster(tmp_path: Path) -> None:
    path = roster(tmp_path, "class.yaml", "participants:\n  - carol\n  - {name: dave, group: b}\n")
    assert [p.name for p in read_roster(path)] == ["carol", "dave"]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("r.csv", "email\nx@y.z\n", "header with a 'name' column"),
        ("r.csv", "name\nAlice Smith\n", "line 2: name 'Alice Smith'"),
        ("r.csv", "name,email\nbob,not-an-email\n", "line 2: 'not-an-email' is not an e-mail"),
        ("r.csv", "name\nbob\nbob\n", "'bob' appears twice"),
        ("r.csv", "name,phone\nbob,1\n", "unknown column or key 'phone'"),
        ("r.yaml", "- {name: x, age: 3}\n", "entry 1: unknown column or key 'age'"),
        ("r.yaml", "just: a mapping\n", "expected a list of participants"),
        ("r.txt", "bob\n", "a roster is a .csv or .yaml file"),
        ("r.csv", "name\n", "no participants"),
    ],
)
def test_bad_rosters(tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = roster(tmp_path, name, text)
    with pytest.raises(ConfigError) as info:
        read_roster(path)
    assert expected in str(info.value) and str(path) in str(info.value) and "\n" not in str(info.value)


def test_participant_objects_quota_and_limits() -> None:
    settings = parse_config({"class": {"quota": {"gpus": 1, "jobs": 12}}}).classroom
    objects = participant_objects(Participant("alice", "a@b.cd"), "dojo-alice", settings, "workshop")
    kinds = [o["kind"] for o in objects]
    assert kinds == [
        "Namespace",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ClusterRoleBinding",
        "ResourceQuota",
        "LimitRange",
    ]
    quota = objects[5]["spec"]["hard"]
    assert quota["requests.nvidia.com/gpu"] == "1"
    assert quota["count/jobs.batch"] == "12"  # finished Jobs count too
    assert {"requests.cpu", "requests.memory", "limits.memory", "pods"} <= set(quota)
    assert objects[6]["spec"]["limits"][0]["defaultRequest"] == {"cpu": "100m", "memory": "128Mi"}
    assert all(o["metadata"]["labels"]["kubedojo.dev/participant"] == "alice" for o in objects)
    assert (
        objects[3]["subjects"]
        == objects[4]["subjects"]
        == [{"kind": "ServiceAccount", "name": "participant", "namespace": "dojo-alice"}]
    )
    # Read access to Nodes, and nothing else cluster-wide.
    assert objects[4]["roleRef"]["name"] == "kubedojo-participant-nodes"
    (reader,) = cluster_objects()
    assert reader["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]}]


def test_role_grants_no_secrets_and_nothing_cluster_wide() -> None:
    resources = {r for rule in role_rules() for r in rule["resources"]}
    assert "secrets" not in resources and "nodes" not in resources and "namespaces" not in resources
    assert not any("*" in rule["verbs"] or "*" in rule["resources"] for rule in role_rules())
    assert {"jobs", "pods", "pods/log", "configmaps", "persistentvolumeclaims"} <= resources


def result(participant: str, lab: str, earned: int, status: str = "passed") -> LabResult:
    checks = [
        CheckResult("a", "first", "static", "passed", 2, 2, "x", "x", ""),
        CheckResult(
            "b",
            "second <b>",
            "runtime",
            status,
            3,
            earned,
            "y",
            "z",
            "try </script> this" if status == "failed" else "",
        ),
    ]
    return LabResult(lab, lab, participant, f"dojo-{participant}", "", "", checks)


def test_scoreboard_csv_and_order() -> None:
    board = scoreboard(
        [
            result("bob", "l1", 3),
            result("bob", "l2", 0, "failed"),
            result("amy", "l1", 3),
            result("amy", "l2", 3),
        ],
        [("l1", "Lab 1", 5), ("l2", "Lab 2", 5)],
    )
    assert [name for name, _ in board.rows] == ["amy", "bob"]
    rows = list(csv.reader(io.StringIO(board.to_csv())))
    assert rows[0] == ["participant", "l1", "l2", "total", "max"]
    assert rows[1] == ["amy", "5", "5", "10", "10"]
    assert rows[2] == ["bob", "5", "2", "7", "10"]


def test_scoreboard_html_is_self_contained_and_escaped() -> None:
    board = scoreboard([result("bob", "l1", 0, "failed")], [("l1", "Lab 1", 5)])
    page = board.to_html("Workshop <1>")
    assert "Workshop &lt;1&gt;" in page
    assert "http://" not in page and "https://" not in page and "<link" not in page and "src=" not in page
    payload = page.split('type="application/json">', 1)[1].split("</script>", 1)[0]
    assert "</script>" not in payload
    data = json.loads(payload.replace("<\\/", "</"))
    assert data["rows"][0]["labs"]["l1"]["checks"][1]["hint"] == "try </script> this"
