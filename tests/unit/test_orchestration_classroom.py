"""Class setup's orchestration on the in-memory API (no cluster): idempotence, credentials written
0600, the handout, removal of only this class's participants. What a participant may really do
with those credentials is tested on the real cluster in tests/cluster/test_classroom.py."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
import yaml

from kubedojo.classroom.objects import CLASS_LABEL
from kubedojo.classroom.roster import Participant
from kubedojo.classroom.service import Classroom
from kubedojo.client.fake import FakeKube
from kubedojo.config import parse_config
from kubedojo.errors import ClusterError, ConfigError, Forbidden

CA = base64.b64encode(b"ca").decode()


def admin_kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "admin.kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority-data": CA},
                    }
                ],
                "contexts": [{"name": "admin", "context": {"cluster": "c", "user": "admin"}}],
                "current-context": "admin",
            }
        )
    )
    return path


API_SLICE = {
    "apiVersion": "discovery.k8s.io/v1",
    "kind": "EndpointSlice",
    "metadata": {
        "name": "kubernetes",
        "namespace": "default",
        "labels": {"kubernetes.io/service-name": "kubernetes"},
    },
    "addressType": "IPv4",
    "endpoints": [{"addresses": ["10.244.0.1"], "conditions": {"ready": True}}],
    "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
}


def classroom(fake: FakeKube, tmp_path: Path, name: str = "workshop") -> Classroom:
    """A class on ``fake``, which has the API server's EndpointSlice as every cluster does."""
    fake.put(API_SLICE)
    settings = parse_config({}).classroom
    return Classroom(fake, settings, admin_kubeconfig(tmp_path), tmp_path / "class", "dojo-", name)


def test_setup_creates_each_participant_once_and_writes_private_kubeconfigs(tmp_path: Path) -> None:
    fake = FakeKube()
    room = classroom(fake, tmp_path)
    people = [Participant("alice"), Participant("bob")]

    first = room.setup(people, "ML on Kubernetes")
    writes = len(fake.history)
    again = room.setup(people, "ML on Kubernetes")

    assert first.added == ["alice", "bob"] and again.unchanged == ["alice", "bob"]
    assert not again.added and not again.updated
    assert len(fake.history) == writes  # nothing changed the second time
    assert room.participants() == {"alice": "dojo-alice", "bob": "dojo-bob"}
    for person in ("alice", "bob"):
        path = Path(first.kubeconfigs[person])
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        config = yaml.safe_load(path.read_text())
        assert config["contexts"][0]["context"]["namespace"] == f"dojo-{person}"
        assert config["users"][0]["user"]["token"].startswith(f"token-dojo-{person}-participant-")
        assert config["clusters"][0]["cluster"] == {
            "server": "https://127.0.0.1:6443",
            "certificate-authority-data": CA,
        }
    assert "alice" in Path(first.handout).read_text()


def test_remove_only_takes_this_classes_participants(tmp_path: Path) -> None:
    fake = FakeKube()
    room = classroom(fake, tmp_path)
    room.setup([Participant("alice"), Participant("bob")], "t")
    fake.put(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": "dojo-eve", "labels": {CLASS_LABEL: "other"}},
        }
    )

    with pytest.raises(ConfigError, match="'eve' is not a participant"):
        room.remove(["eve"])
    assert room.remove(["alice"], timeout=2) == ["alice"]

    assert fake.find("Namespace", "dojo-alice") is None
    assert fake.find("ClusterRoleBinding", "kubedojo-participant-nodes-dojo-alice") is None
    assert fake.find("ClusterRoleBinding", "kubedojo-participant-nodes-dojo-bob") is not None
    assert fake.find("Namespace", "dojo-eve") is not None
    assert not (tmp_path / "class/alice/kubeconfig").exists()
    assert (tmp_path / "class/bob/kubeconfig").exists()


def test_a_refused_token_is_one_named_line(tmp_path: Path) -> None:
    fake = FakeKube()
    room = classroom(fake, tmp_path)

    def refuse_tokens(verb: str, obj: dict[str, object]) -> None:
        if verb == "token":
            why = 'serviceaccounts "participant" is forbidden'
            raise Forbidden(f"token for dojo-alice/participant: {why}", server_message=why)

    fake.refuse = refuse_tokens
    with pytest.raises(ClusterError, match=r"^cannot issue a token in dojo-alice: serviceaccounts"):
        room.setup([Participant("alice")], "t")


def test_teardown_removes_the_shared_node_reader_with_the_last_class(tmp_path: Path) -> None:
    fake = FakeKube()
    room = classroom(fake, tmp_path)
    room.setup([Participant("alice")], "t")
    assert fake.find("ClusterRole", "kubedojo-participant-nodes") is not None
    assert room.teardown(timeout=2) == ["alice"]
    assert fake.find("ClusterRole", "kubedojo-participant-nodes") is None
    assert fake.list("ClusterRoleBinding") == []


def test_setup_gives_each_namespace_its_policies_with_the_api_servers_address(tmp_path: Path) -> None:
    fake = FakeKube()
    room = classroom(fake, tmp_path)
    room.setup([Participant("alice")], "t")
    names = sorted(p["metadata"]["name"] for p in fake.list("NetworkPolicy", "dojo-alice"))
    assert names == ["kubedojo-egress", "kubedojo-ingress"]
    egress = fake.get("NetworkPolicy", "kubedojo-egress", "dojo-alice")["spec"]["egress"]
    assert {
        "to": [{"ipBlock": {"cidr": "10.244.0.1/32"}}],
        "ports": [{"protocol": "TCP", "port": 6443}],
    } in egress
    room.remove(["alice"], timeout=2)
    assert fake.list("NetworkPolicy", "dojo-alice") == []  # they go with the namespace


def test_setup_without_the_api_servers_endpoints_stops_before_any_participant(tmp_path: Path) -> None:
    fake = FakeKube()
    room = classroom(fake, tmp_path)
    fake.delete("EndpointSlice", "kubernetes", "default")
    with pytest.raises(ClusterError, match=r"^the Service default/kubernetes has no endpoints"):
        room.setup([Participant("alice")], "t")
    assert fake.find("Namespace", "dojo-alice") is None
