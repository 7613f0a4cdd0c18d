"""What keeps a participant in their namespace (issue 13): node directories given as bound claims, each
namespace its own; Pod Security on participant namespaces; a lab start they cannot move earlier."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubedojo.classroom.objects import participant_objects
from kubedojo.classroom.roster import Participant
from kubedojo.client.fake import FakeKube
from kubedojo.config import parse_config
from kubedojo.labels import POD_SECURITY
from kubedojo.labs.catalog import Catalog
from kubedojo.labs.nodevolumes import node_volume_objects, provide_node_volumes, remove_node_volumes

PROJECT = Path(__file__).resolve().parents[2]
LAB = Catalog(PROJECT).get("more-3-host-dir")


def test_each_namespace_gets_its_own_node_directory_bound_to_its_claim() -> None:
    pv, pvc = node_volume_objects(LAB, "dojo-ann")
    assert pv["kind"] == "PersistentVolume" and pvc["kind"] == "PersistentVolumeClaim"
    assert pv["spec"]["hostPath"]["path"] == "/var/tmp/kubedojo-results/dojo-ann"
    assert pv["spec"]["claimRef"] == {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "namespace": "dojo-ann",
        "name": "node-results",
    }
    assert pvc["metadata"]["name"] == "node-results" and pvc["spec"]["volumeName"] == pv["metadata"]["name"]
    other, _ = node_volume_objects(LAB, "dojo-bob")
    assert other["metadata"]["name"] != pv["metadata"]["name"]
    assert other["spec"]["hostPath"]["path"] != pv["spec"]["hostPath"]["path"]


def bind_at_once(fake: FakeKube, event: str, claim: dict[str, Any]) -> None:
    """The PV controller's part: a new claim named for its volume is Bound."""
    if event == "ADDED":
        fake.put({**claim, "status": {"phase": "Bound"}})


def test_provided_once_made_again_when_released_and_removed_with_the_participant() -> None:
    kube = FakeKube()
    kube.ensure_namespace("dojo-ann")
    kube.react("PersistentVolumeClaim", bind_at_once)
    made = provide_node_volumes(kube, LAB, "dojo-ann")
    assert len(made) == 2
    assert provide_node_volumes(kube, LAB, "dojo-ann") == []  # idempotent
    pv = kube.list("PersistentVolume")[0]
    kube.put({**pv, "status": {"phase": "Released"}})  # its claim was deleted
    kube.delete("PersistentVolumeClaim", "node-results", "dojo-ann")
    again = provide_node_volumes(kube, LAB, "dojo-ann")
    assert len(again) == 2 and kube.list("PersistentVolume")[0].get("status", {}).get("phase") != "Released"
    remove_node_volumes(kube, "dojo-ann")
    assert kube.list("PersistentVolume") == []


def test_participant_namespaces_enforce_pod_security_baseline() -> None:
    settings = parse_config({}).classroom
    namespace = participant_objects(Participant("ann"), "dojo-ann", settings, "c", [("10.244.0.1", 6443)])[0]
    labels = namespace["metadata"]["labels"]
    assert {k: labels[k] for k in POD_SECURITY} == POD_SECURITY
    assert labels["pod-security.kubernetes.io/enforce"] == "baseline"


def test_the_start_is_the_records_creation_time_not_its_data() -> None:
    from kubedojo.labs.session import read_start, record_start, session_name

    kube = FakeKube()
    kube.ensure_namespace("dojo-ann")
    started = record_start(kube, "dojo-ann", "01-run-job")
    record = kube.get("ConfigMap", session_name("01-run-job"), "dojo-ann")
    kube.put({**record, "data": {"startedAt": "2020-01-01T00:00:00Z"}})
    assert read_start(kube, "dojo-ann", "01-run-job") == started


def test_a_lab_runs_namespace_gets_katibs_collector_label_made_or_found() -> None:
    from kubedojo.labels import KATIB_INJECTION
    from kubedojo.labs.session import ensure_namespace

    kube = FakeKube()
    ensure_namespace(kube, "dojo-ann", "ann")  # made by lab.run
    kube.ensure_namespace("dojo-bob")  # made before, without the label
    ensure_namespace(kube, "dojo-bob", "bob")
    for name in ("dojo-ann", "dojo-bob"):
        labels = kube.get("Namespace", name)["metadata"]["labels"]
        assert labels.items() >= {**KATIB_INJECTION, **POD_SECURITY}.items(), labels
