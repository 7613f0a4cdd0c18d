"""The node, kubectl with the written kubeconfig, a training Job, cluster DNS and pod isolation."""

from __future__ import annotations

import ipaddress
import json
import stat
import subprocess

import pytest

from kubedojo.client.kube import KubeClient
from kubedojo.errors import ApiError
from kubedojo.local.provider import LocalCluster
from kubedojo.sample_job import run_sample_job

from .helpers import is_true, job, job_pods, wait_job_finished


def test_node_is_ready_and_kubectl_works(cluster: LocalCluster, admin: KubeClient) -> None:
    node = admin.get("Node", cluster.settings.node_name)
    assert is_true(node, "Ready")
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.35.4"

    kubeconfig = cluster.kubeconfig_path
    assert stat.S_IMODE(kubeconfig.stat().st_mode) == 0o600
    kubectl = cluster.layout.k8s_bin / "kubectl"
    out = subprocess.run(
        [str(kubectl), "--kubeconfig", str(kubeconfig), "get", "nodes", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    nodes = {item["metadata"]["name"]: item for item in json.loads(out)["items"]}
    real = nodes[cluster.settings.node_name]
    ready = [c for c in real["status"]["conditions"] if c["type"] == "Ready"]
    assert ready and ready[0]["status"] == "True"
    assert {"sim-gpu-0", "sim-gpu-1"} <= set(nodes)


def test_training_job_from_base_image_completes(
    cluster: LocalCluster, admin: KubeClient, namespace: str
) -> None:
    result = run_sample_job(admin, cluster.image_ref("base"), namespace=namespace, timeout=240)
    assert result.succeeded, result.log
    assert "Test accuracy:" in result.log
    assert result.accuracy is not None and result.accuracy > 0.9
    assert "Epoch 30/30" in result.log


def test_services_resolve_by_name_and_pods_stay_on_this_machine(
    cluster: LocalCluster, admin: KubeClient, namespace: str
) -> None:
    # Name resolution goes through the cluster DNS; the address outside (the documentation range the
    # machine's gateway happens to be in) has no route from a pod: connect() fails at once with
    # ENETUNREACH and no packet is sent.
    program = (
        "import socket, errno\n"
        "print('kubernetes', socket.gethostbyname('kubernetes.default.svc.cluster.local'))\n"
        "print('dns', socket.gethostbyname('kube-dns.kube-system'))\n"
        "s = socket.socket(); s.settimeout(3)\n"
        "try:\n"
        "    s.connect(('192.0.2.1', 80)); print('outside reachable')\n"
        "except OSError as e:\n"
        "    print('outside', errno.errorcode.get(e.errno, e.errno))\n"
    )
    admin.create(job("probe", cluster.image_ref("base"), ["python3", "-c", program]), namespace)
    finished = wait_job_finished(admin, namespace, "probe")
    assert is_true(finished, "Complete")
    pod = job_pods(admin, namespace, "probe")[0]
    log = admin.pod_log(namespace, pod["metadata"]["name"])
    assert log is not None, "no log of the probe pod"
    net = cluster.settings.network
    assert f"kubernetes {net.api_service_ip}" in log
    assert f"dns {net.dns_service_ip}" in log
    assert "outside ENETUNREACH" in log
    assert ipaddress.ip_address(pod["status"]["podIP"]) in net.node_subnet


def test_a_list_asked_as_a_watch_stream_is_refused_at_once(admin: KubeClient, namespace: str) -> None:
    """Over Debian's etcd 3.4.23 the API server cannot serve a list as a watch stream; it must refuse
    the request outright (clients then list), not begin the stream and break it off, which stalled
    kwok's informers for half a minute at a time (pods on simulated nodes ran in bursts)."""
    with pytest.raises(ApiError) as refused:
        admin._request(
            "watch-list Pods",
            "GET",
            f"/api/v1/namespaces/{namespace}/pods",
            query={
                "watch": "true",
                "sendInitialEvents": "true",
                "allowWatchBookmarks": "true",
                "resourceVersionMatch": "NotOlderThan",
                "timeoutSeconds": 5,
            },
            timeout=(5.0, 10.0),
        )
    assert refused.value.status == 422, refused.value
    assert "sendInitialEvents" in str(refused.value)
