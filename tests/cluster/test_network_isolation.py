"""Participants' pods cannot reach each other (issue 13): the local cluster's NetworkPolicy enforcer
(kube-network-policies) with the policies class.setup gives every participant namespace.

Two participants, alice and bob, set up as a class. A probe pod (the base image's python3, bounded
3 s connections) reports what it could reach in its termination message:

* from alice's namespace, nothing of bob's: not his pod's address, not his Service's ClusterIP, not
  his Service by name (the name still resolves); an unpoliced namespace's pod neither (egress);
* from an unpoliced namespace, nothing of alice's (ingress);
* from alice's namespace still: her own pods and Service, DNS (``kubernetes.default`` and Service
  names), the API server with the pod's own token, and a pod in a namespace labelled shared services.

A refused connection counts as reached: only a dropped SYN (a 3 s timeout) is isolation. The last
test kills the enforcer: fail-open, the pods are then unpoliced (not cut off), until ``up`` restarts it.
"""

from __future__ import annotations

import json
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from kubedojo.classroom import Classroom, Participant
from kubedojo.client.host import Host
from kubedojo.client.kube import KubeClient
from kubedojo.config import parse_config
from kubedojo.labels import POD_SECURITY, SHARED_SERVICES
from kubedojo.local.netpolicy import NAME as ENFORCER
from kubedojo.local.netpolicy import NFT_TABLE
from kubedojo.local.provider import LocalCluster

from .conftest import NAMESPACE_LABEL, SIM_NODES
from .helpers import BASE_IMAGE_NAME, once_authorized, wait_pod

pytestmark = pytest.mark.cluster

PREFIX = "kdt-net-"
PORT = 8080
CONNECT_TIMEOUT = 3.0
DROPPED = "TimeoutError"
"""What a probe reports for a connection whose SYN was dropped (the enforcer's verdict)."""

PROBE = r"""
import json, socket, ssl, sys, time, urllib.request

def tcp(host, port):
    try:
        with socket.create_connection((host, int(port)), timeout=TIMEOUT):
            return "connected"
    except OSError as exc:
        return type(exc).__name__

def dns(name):
    try:
        return socket.gethostbyname(name)
    except OSError as exc:
        return type(exc).__name__

def api():
    sa = "/var/run/secrets/kubernetes.io/serviceaccount/"
    try:
        with open(sa + "token") as handle:
            token = handle.read().strip()
        request = urllib.request.Request(
            "https://kubernetes.default.svc/api", headers={"Authorization": "Bearer " + token}
        )
        context = ssl.create_default_context(cafile=sa + "ca.crt")
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:
            return str(response.status)
    except Exception as exc:
        return type(exc).__name__

time.sleep(WAIT)  # the enforcer learns this pod's address from its status
results = {}
for name, kind, *args in json.loads(sys.argv[1]):
    results[name] = {"tcp": tcp, "dns": dns, "api": api}[kind](*args)
text = json.dumps(results, separators=(",", ":"))
print(text)
with open("/dev/termination-log", "w") as log:
    log.write(text)
"""

Check = tuple[Any, ...]


@dataclass(frozen=True)
class Server:
    namespace: str
    pod_ip: str
    service_ip: str

    @property
    def service_name(self) -> str:
        return f"web.{self.namespace}.svc.cluster.local"


def _container(image: str, command: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "name": "main",
        "image": image,
        "command": command,
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
        **extra,
    }


def _server_pod(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            # python3 as PID 1 ignores SIGTERM: without this each deletion waits the default 30 s.
            "terminationGracePeriodSeconds": 0,
            "containers": [
                _container(
                    image,
                    ["python3", "-m", "http.server", str(PORT)],
                    ports=[{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                    # The kubelet probes as root on the node: never policed.
                    readinessProbe={"tcpSocket": {"port": PORT}, "periodSeconds": 1},
                )
            ],
        },
    }


SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "web"},
    "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": PORT, "protocol": "TCP"}]},
}


def _ready(pod: dict[str, Any]) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _serve(admin: KubeClient, creator: KubeClient, namespace: str, image: str) -> Server:
    """A web server pod (made by ``creator``) and its Service (participants cannot make Services)."""
    once_authorized(lambda: creator.create(_server_pod(image), namespace))
    service = admin.create(SERVICE, namespace)
    pod = wait_pod(admin, namespace, "web", _ready, "to be Ready", timeout=120)
    return Server(namespace, pod["status"]["podIP"], service["spec"]["clusterIP"])


def _namespace(admin: KubeClient, name: str, labels: dict[str, str]) -> str:
    admin.create(
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": name, "labels": {NAMESPACE_LABEL: "true", **POD_SECURITY, **labels}},
        }
    )
    return name


def probe(
    client: KubeClient, admin: KubeClient, namespace: str, image: str, checks: list[Check]
) -> dict[str, str]:
    """Run the checks from a pod in ``namespace`` (made by ``client``); what each found."""
    name = f"probe-{secrets.token_hex(3)}"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                _container(
                    image,
                    [
                        "python3",
                        "-c",
                        PROBE.replace("TIMEOUT", repr(CONNECT_TIMEOUT)).replace("WAIT", "3"),
                        json.dumps(checks),
                    ],
                    terminationMessagePolicy="FallbackToLogsOnError",
                )
            ],
        },
    }
    once_authorized(lambda: client.create(pod, namespace))
    done = wait_pod(
        admin,
        namespace,
        name,
        lambda p: (p.get("status") or {}).get("phase") in ("Succeeded", "Failed"),
        "to finish its checks",
        timeout=60 + len(checks) * 2 * CONNECT_TIMEOUT,
    )
    state = done["status"]["containerStatuses"][0]["state"]["terminated"]
    assert done["status"]["phase"] == "Succeeded", state
    admin.delete("Pod", name, namespace)
    found: dict[str, str] = json.loads(state["message"])
    return found


@dataclass(frozen=True)
class Scene:
    room: Classroom
    alice: KubeClient
    bob: KubeClient
    servers: dict[str, Server]
    """alice, bob, shared (a namespace labelled shared services), plain (no policy at all)."""
    image: str
    api_service_ip: str
    """What ``kubernetes.default`` resolves to."""


@pytest.fixture(scope="module")
def scene(
    cluster: LocalCluster, admin: KubeClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scene]:
    settings = parse_config({}).classroom
    room = Classroom(
        admin, settings, cluster.kubeconfig_path, tmp_path_factory.mktemp("class"), PREFIX, "kdt-net"
    )
    room.setup([Participant("alice"), Participant("bob")], "Network isolation")
    alice = KubeClient.from_kubeconfig(room.kubeconfig_path("alice"))
    bob = KubeClient.from_kubeconfig(room.kubeconfig_path("bob"))
    suffix = secrets.token_hex(3)
    shared = _namespace(admin, f"{PREFIX}shared-{suffix}", SHARED_SERVICES)
    plain = _namespace(admin, f"{PREFIX}plain-{suffix}", {})
    image = cluster.image_ref(BASE_IMAGE_NAME)
    try:
        servers = {
            "alice": _serve(admin, alice, PREFIX + "alice", image),
            "bob": _serve(admin, bob, PREFIX + "bob", image),
            "shared": _serve(admin, admin, shared, image),
            "plain": _serve(admin, admin, plain, image),
        }
        time.sleep(2)  # the enforcer's sets follow the pods' addresses
        yield Scene(room, alice, bob, servers, image, cluster.settings.network.api_service_ip)
    finally:
        alice.close()
        bob.close()
        for namespace in (shared, plain):
            admin.delete("Namespace", namespace)
        room.teardown()
        for namespace in (shared, plain):
            admin.wait_deleted("Namespace", namespace, None, 120)


def test_the_enforcer_runs_and_keeps_its_table(cluster: LocalCluster) -> None:
    enforcer = next(c for c in cluster.status().components if c.name == ENFORCER)
    assert enforcer.healthy, enforcer
    assert " ".join(NFT_TABLE) in Host().nft_tables()


def test_a_participant_reaches_nothing_of_another_participant(scene: Scene, admin: KubeClient) -> None:
    mine, bobs = scene.servers["alice"], scene.servers["bob"]
    found = probe(
        scene.alice,
        admin,
        mine.namespace,
        scene.image,
        [
            ("own pod", "tcp", mine.pod_ip, PORT),
            ("own service", "tcp", mine.service_name, 80),
            ("bob's pod", "tcp", bobs.pod_ip, PORT),
            ("bob's service address", "tcp", bobs.service_ip, 80),
            ("bob's service by name", "tcp", bobs.service_name, 80),
            ("bob's service name", "dns", bobs.service_name),
        ],
    )
    # Controls first: the probe and the servers work.
    assert found["own pod"] == found["own service"] == "connected", found
    assert found["bob's service name"] == bobs.service_ip, found
    assert (
        found["bob's pod"] == found["bob's service address"] == found["bob's service by name"] == DROPPED
    ), found


def test_a_participant_still_has_dns_the_api_server_and_shared_services(
    scene: Scene, admin: KubeClient
) -> None:
    shared = scene.servers["shared"]
    found = probe(
        scene.alice,
        admin,
        PREFIX + "alice",
        scene.image,
        [
            ("kubernetes.default", "dns", "kubernetes.default"),
            ("api", "api"),
            ("shared pod", "tcp", shared.pod_ip, PORT),
            ("shared service", "tcp", shared.service_name, 80),
        ],
    )
    assert found["kubernetes.default"] == scene.api_service_ip, found
    assert found["api"] == "200", found
    assert found["shared pod"] == found["shared service"] == "connected", found


def test_ingress_and_egress_each_keep_an_unpoliced_namespace_out(scene: Scene, admin: KubeClient) -> None:
    plain, alices = scene.servers["plain"], scene.servers["alice"]
    # Ingress: the plain namespace has no policy; only alice's ingress policy can drop this.
    found = probe(
        admin,
        admin,
        plain.namespace,
        scene.image,
        [("own pod", "tcp", plain.pod_ip, PORT), ("alice's pod", "tcp", alices.pod_ip, PORT)],
    )
    assert found == {"own pod": "connected", "alice's pod": DROPPED}, found
    # Egress: the plain namespace's pod takes anything; only alice's egress policy can drop this.
    found = probe(
        scene.alice, admin, alices.namespace, scene.image, [("plain pod", "tcp", plain.pod_ip, PORT)]
    )
    assert found == {"plain pod": DROPPED}, found


@pytest.mark.disruptive
def test_a_killed_enforcer_leaves_pods_unpoliced_until_up_restarts_it(
    scene: Scene, admin: KubeClient, cluster: LocalCluster
) -> None:
    """Fail-open: the table stays behind a SIGKILL, and its queue rules let packets pass while
    nothing reads the queue; ``up`` restarts the enforcer and isolation is back."""
    bobs = scene.servers["bob"]
    checks: list[Check] = [
        ("kubernetes.default", "dns", "kubernetes.default"),
        ("bob's pod", "tcp", bobs.pod_ip, PORT),
    ]
    cluster.processes.kill(cluster.supervisor)  # else it starts the enforcer again within a second
    cluster.processes.kill(cluster.component(ENFORCER).daemon)
    try:
        assert " ".join(NFT_TABLE) in Host().nft_tables()  # left behind
        found = probe(scene.alice, admin, PREFIX + "alice", scene.image, checks)
        assert found == {"kubernetes.default": scene.api_service_ip, "bob's pod": "connected"}, found
    finally:
        report = cluster.up(SIM_NODES)
    assert (ENFORCER, "restarted") in report.actions
    # Ready (its metrics answer) comes before its caches sync and it writes its table again.
    for _ in range(5):
        found = probe(scene.alice, admin, PREFIX + "alice", scene.image, checks)
        if found["bob's pod"] != "connected":
            break
    assert found == {"kubernetes.default": scene.api_service_ip, "bob's pod": DROPPED}, found


def test_a_participant_cannot_reach_a_node_port_of_a_namespace_that_is_not_shared(
    scene: Scene, admin: KubeClient, cluster: LocalCluster
) -> None:
    """What keeps participants from the Argo server, whose NodePort (32746, ``authModes: [server]``)
    hands its rights to whoever connects: a node port leads to pods of a namespace that is not a shared
    service, and the participants' policies refuse those (after kube-proxy's translation)."""
    plain = scene.servers["plain"].namespace
    service = admin.create(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web-node-port"},
            "spec": {
                "type": "NodePort",
                "selector": {"app": "web"},
                "ports": [{"port": 80, "targetPort": PORT, "protocol": "TCP"}],
            },
        },
        plain,
    )
    node_port = service["spec"]["ports"][0]["nodePort"]
    node_ip = cluster.settings.network.node_ip
    try:
        deadline = time.monotonic() + 30
        while True:  # the control: the port answers from the machine, once kube-proxy has it
            try:
                with socket.create_connection((node_ip, node_port), timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        found = probe(
            scene.alice,
            admin,
            PREFIX + "alice",
            scene.image,
            [
                ("node port", "tcp", node_ip, node_port),
                ("plain pod", "tcp", scene.servers["plain"].pod_ip, PORT),
            ],
        )
        assert found == {"node port": DROPPED, "plain pod": DROPPED}, found
    finally:
        admin.delete("Service", "web-node-port", plain)
