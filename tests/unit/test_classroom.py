"""The classroom's pure parts: rosters, the objects each participant gets, the scoreboard."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from kubedojo.classroom.objects import (
    NON_PUBLIC_IPV4,
    api_endpoints,
    cluster_objects,
    network_policies,
    participant_objects,
    role_rules,
)
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
    objects = participant_objects(
        Participant("alice", "a@b.cd"), "dojo-alice", settings, "workshop", [("10.244.0.1", 6443)]
    )
    kinds = [o["kind"] for o in objects]
    assert kinds == [
        "Namespace",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ClusterRoleBinding",
        "ResourceQuota",
        "LimitRange",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "NetworkPolicy",
        "NetworkPolicy",
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
    # Read access to Nodes and their metrics (kubectl top node), and nothing else cluster-wide.
    assert objects[4]["roleRef"]["name"] == "kubedojo-participant-nodes"
    reader, policy, binding = cluster_objects()
    assert (
        policy["kind"] == "ValidatingAdmissionPolicy"
        and binding["spec"]["policyName"] == policy["metadata"]["name"]
    )
    # The Workflows' pods' identity may report task results, nothing else.
    workflow_role = objects[8]
    assert workflow_role["rules"] == [
        {"apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"]}
    ]
    assert objects[9]["subjects"] == [
        {"kind": "ServiceAccount", "name": "argo-workflow", "namespace": "dojo-alice"}
    ]
    assert reader["rules"] == [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["metrics.k8s.io"], "resources": ["nodes"], "verbs": ["get", "list"]},
    ]


def policies(**network: object) -> dict[str, dict[str, Any]]:
    settings = parse_config({"class": {"network": network}}).classroom
    objects = participant_objects(
        Participant("alice"), "dojo-alice", settings, "workshop", [("10.244.0.1", 6443)]
    )
    found = {o["metadata"]["name"]: o for o in objects if o["kind"] == "NetworkPolicy"}
    assert all(p["metadata"]["namespace"] == "dojo-alice" for p in found.values())
    assert all(p["metadata"]["labels"]["kubedojo.dev/participant"] == "alice" for p in found.values())
    return found


def test_ingress_only_from_the_namespace_itself_and_shared_services() -> None:
    ingress = policies()["kubedojo-ingress"]["spec"]
    assert ingress["podSelector"] == {}  # every pod of the namespace
    assert ingress["policyTypes"] == ["Ingress"]
    assert ingress["ingress"] == [
        {
            "from": [
                {"podSelector": {}},  # without a namespaceSelector: this namespace only
                {"namespaceSelector": {"matchLabels": {"kubedojo.dev/shared-services": "true"}}},
            ]
        }
    ]


def test_egress_to_own_namespace_dns_api_server_shared_services_and_the_internet() -> None:
    egress = policies()["kubedojo-egress"]["spec"]
    assert egress["podSelector"] == {} and egress["policyTypes"] == ["Egress"]
    rules = egress["egress"]
    assert rules[0] == {"to": [{"podSelector": {}}]}
    dns, node_local_dns, api, shared, internet = rules[1:]
    # Policies see packets after the Service's DNAT: CoreDNS's own port, 1053 here and 53 elsewhere.
    assert dns["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    assert {(p["protocol"], p["port"]) for p in dns["ports"]} == {
        ("UDP", 53),
        ("TCP", 53),
        ("UDP", 1053),
        ("TCP", 1053),
    }
    assert node_local_dns["to"] == [{"ipBlock": {"cidr": "169.254.0.0/16"}}]
    assert {(p["protocol"], p["port"]) for p in node_local_dns["ports"]} == {("UDP", 53), ("TCP", 53)}
    assert api == {
        "to": [{"ipBlock": {"cidr": "10.244.0.1/32"}}],
        "ports": [{"protocol": "TCP", "port": 6443}],
    }
    assert shared == {
        "to": [{"namespaceSelector": {"matchLabels": {"kubedojo.dev/shared-services": "true"}}}]
    }
    assert internet == {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": list(NON_PUBLIC_IPV4)}}]}


def test_no_egress_rule_reaches_another_participants_pods() -> None:
    """Every rule that names addresses keeps the private ranges (where both clusters' pods and
    Services are) out, but for the API server's own address and link-local DNS."""
    import ipaddress

    pods = [ipaddress.IPv4Network(n) for n in ("10.244.0.0/16", "10.96.0.0/16", "10.233.64.0/18")]
    for rule in policies()["kubedojo-egress"]["spec"]["egress"]:
        for peer in rule["to"]:
            if "ipBlock" in peer:
                block = peer["ipBlock"]
                allowed = ipaddress.IPv4Network(block["cidr"])
                excepted = [ipaddress.IPv4Network(e) for e in block.get("except", [])]
                for net in pods:
                    if allowed.overlaps(net):
                        assert allowed.prefixlen == 32 or any(net.subnet_of(e) for e in excepted), block
            else:
                # Selectors: this namespace, kube-dns in kube-system, or shared services; never all.
                assert peer.get("namespaceSelector") != {} and (
                    "namespaceSelector" not in peer or peer["namespaceSelector"]["matchLabels"]
                )


def test_internet_can_be_closed_and_more_networks_opened() -> None:
    egress = policies(internet=False, egress_cidrs=["10.20.0.5/32", "fd00::/64"])["kubedojo-egress"]
    rules = egress["spec"]["egress"]
    assert not any(
        peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for rule in rules for peer in rule["to"]
    )
    assert rules[-1] == {"to": [{"ipBlock": {"cidr": "10.20.0.5/32"}}, {"ipBlock": {"cidr": "fd00::/64"}}]}
    with pytest.raises(ConfigError, match=r"class\.network\.egress_cidrs.*'10\.1\.2' is not an IP network"):
        parse_config({"class": {"network": {"egress_cidrs": ["10.1.2"]}}})


def test_api_server_endpoints_come_from_the_kubernetes_endpointslices() -> None:
    slices: list[dict[str, Any]] = [
        {
            "endpoints": [{"addresses": ["192.168.1.11"]}, {"addresses": ["192.168.1.10"]}],
            "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
        },
        {"endpoints": [{"addresses": ["fd00::1"]}], "ports": [{"port": 6443}]},
        {"endpoints": None, "ports": None},
    ]
    found = api_endpoints(slices)
    assert found == [("192.168.1.10", 6443), ("192.168.1.11", 6443), ("fd00::1", 6443)]
    settings = parse_config({}).classroom
    api = network_policies("ns", {}, settings.network, found)[1]["spec"]["egress"][3]
    assert api["to"] == [
        {"ipBlock": {"cidr": "192.168.1.10/32"}},
        {"ipBlock": {"cidr": "192.168.1.11/32"}},
        {"ipBlock": {"cidr": "fd00::1/128"}},
    ]
    assert api["ports"] == [{"protocol": "TCP", "port": 6443}]


def test_role_grants_no_secrets_and_nothing_cluster_wide() -> None:
    resources = {r for rule in role_rules() for r in rule["resources"]}
    assert "secrets" not in resources and "nodes" not in resources and "namespaces" not in resources
    assert not any("*" in rule["verbs"] or "*" in rule["resources"] for rule in role_rules())
    assert {"jobs", "pods", "pods/log", "configmaps", "persistentvolumeclaims"} <= resources
    assert "networkpolicies" not in resources  # participants cannot loosen their policies
    # A PyTorchJob's status is the operator's, behind its status subresource.
    assert "pytorchjobs" in resources and not any(r.endswith("/status") for r in resources)


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


def test_katibs_and_jupyterhubs_named_pods_are_the_only_add_on_pods_let_through() -> None:
    """The shipped releases.yaml opens a participant's namespace to two of Katib's pods and two of
    JupyterHub's on one port each, picked by the release's namespace name (the API server sets that
    label; a participant cannot give it to a namespace, nor label one): not to Katib's MySQL, not to
    the training operator, not to the proxy's API (8001)."""
    from kubedojo.addons.releases import load_releases

    shipped = load_releases(Path(__file__).resolve().parents[2] / "charts" / "releases.yaml").releases
    settings = parse_config({}).classroom
    ingress, egress = network_policies("ns", {}, settings.network, [], shipped)
    kubeflow = {"kubernetes.io/metadata.name": "kubeflow"}
    hub_ns = {"kubernetes.io/metadata.name": "jupyterhub"}

    def by(namespace: dict[str, str], rules: list[dict[str, Any]], side: str) -> list[dict[str, Any]]:
        return [
            r
            for r in rules
            if any(p.get("namespaceSelector", {}).get("matchLabels") == namespace for p in r.get(side, []))
        ]

    def hub_pods(component: str, port: int, side: str) -> dict[str, Any]:
        selector = {
            "namespaceSelector": {"matchLabels": hub_ns},
            "podSelector": {"matchLabels": {"app": "jupyterhub", "component": component}},
        }
        return {side: [selector], "ports": [{"protocol": "TCP", "port": port}]}

    assert by(hub_ns, ingress["spec"]["ingress"], "from") == [
        hub_pods("hub", 8888, "from"),
        hub_pods("proxy", 8888, "from"),
    ]
    assert by(hub_ns, egress["spec"]["egress"], "to") == [hub_pods("hub", 8081, "to")]
    let_in = by(kubeflow, ingress["spec"]["ingress"], "from")
    assert len([r for r in ingress["spec"]["ingress"] if "ports" in r]) == 3
    assert let_in == [
        {
            "from": [
                {
                    "namespaceSelector": {"matchLabels": kubeflow},
                    "podSelector": {"matchLabels": {"katib.kubeflow.org/component": "controller"}},
                }
            ],
            "ports": [{"protocol": "TCP", "port": 6789}],
        }
    ]
    to_kubeflow = [
        r
        for r in egress["spec"]["egress"]
        if any(p.get("namespaceSelector", {}).get("matchLabels") == kubeflow for p in r["to"])
    ]
    assert to_kubeflow == [
        {
            "to": [
                {
                    "namespaceSelector": {"matchLabels": kubeflow},
                    "podSelector": {"matchLabels": {"katib.kubeflow.org/component": "db-manager"}},
                }
            ],
            "ports": [{"protocol": "TCP", "port": 6789}],
        }
    ]
    # Without add-ons, the policies are as before: own namespace and shared services only.
    alone = network_policies("ns", {}, settings.network, [])[0]["spec"]["ingress"]
    assert alone == [
        {
            "from": [
                {"podSelector": {}},
                {"namespaceSelector": {"matchLabels": {"kubedojo.dev/shared-services": "true"}}},
            ]
        }
    ]


def test_a_participant_may_run_katib_experiments_and_only_read_their_trials() -> None:
    rules = {
        (g, r): set(rule["verbs"])
        for rule in role_rules()
        for g in rule["apiGroups"]
        for r in rule["resources"]
    }
    assert {"create", "delete", "get", "watch"} <= rules[("kubeflow.org", "experiments")]
    assert (
        rules[("kubeflow.org", "trials")]
        == rules[("kubeflow.org", "suggestions")]
        == {"get", "list", "watch"}
    )
    assert ("kubeflow.org", "experiments/status") not in rules


def test_a_release_opened_to_participants_names_labels_and_a_port() -> None:
    from kubedojo.addons.releases import parse_releases

    base = {"name": "x", "chart": "c", "version": "1.0.0", "namespace": "n"}
    for access, field in (
        ({"reach": [{"pods": {}, "port": 1}]}, "pods"),
        ({"reach": [{"pods": {"a": "b"}, "port": 70000}]}, "port"),
        ({"reached": []}, "reached"),
    ):
        with pytest.raises(ConfigError, match=field):
            parse_releases({"releases": [{**base, "participants": access}]}, Path("releases.yaml"))
