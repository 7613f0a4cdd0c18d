"""KubeAPI.apply reports an object as changed only when what it says changed: not when only the
server's bookkeeping moved (its status, resourceVersion, managedFields)."""

from __future__ import annotations

from kubedojo.client.fake import FakeKube

CM = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "c", "namespace": "ns"},
    "data": {"a": "1"},
}


def test_apply_counts_content_not_bookkeeping() -> None:
    kube = FakeKube()
    kube.ensure_namespace("ns")
    assert kube.apply([CM]) == ["ConfigMap/c"]  # new
    assert kube.apply([CM]) == []  # the same again
    stored = kube.get("ConfigMap", "c", "ns")
    kube.put({**stored, "status": {"seen": True}, "metadata": {**stored["metadata"], "managedFields": [{}]}})
    assert kube.apply([CM]) == []  # a controller wrote status meanwhile: still no change
    assert kube.apply([{**CM, "data": {"a": "2"}}]) == ["ConfigMap/c"]
