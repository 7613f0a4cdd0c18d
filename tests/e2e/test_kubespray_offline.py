"""An air-gapped site becomes a workshop cluster with the real kubespray v2.31.0, as a user does it:
``charts.pull`` (metrics-server), ``site.bundle``, ``site.serve``, ``cluster.up -i``, ``cluster.status``,
a lab, ``charts.install --bundle``, ``cluster.scale`` with a pod on the new node,
``cluster.remove-node``, ``cluster.reset`` — each through ``invoke``.

One test on purpose: every step needs the one before it. Each step's time is printed and, with
``KUBEDOJO_E2E_REPORT`` set, written there as JSON (docs/benchmarks.md quotes them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from kubedojo.client.kube import KubeClient
from kubedojo.errors import ApiError, NotFound
from kubedojo.local.images import BASE

from ..cluster.realcharts import shipped_releases
from ..hosts.testhosts import TestHosts
from .conftest import NETWORK

REPO = Path(__file__).resolve().parents[2]

CONTAINER_NODE_VARS: dict[str, Any] = {
    # The test hosts are containers on this machine's kernel, as kind's nodes are; a real site's
    # machines need none of this. Kernel settings are the machine's, not the node's:
    "kubelet_fail_cgroup_v1": False,  # this machine mounts cgroup v1
    "kubelet_protect_kernel_defaults": False,
    "kube_proxy_conntrack_max_per_core": 0,  # leave nf_conntrack_max (machine-wide) alone
    "kubeadm_ignore_preflight_errors": ["SystemVerification"],  # no kernel config to read
    "containerd_use_systemd_cgroup": False,  # systemd in a container does not delegate cgroups
    "containerd_extra_runtime_args": {"restrict_oom_score_adj": True},
    "containerd_base_runtime_spec_rlimit_nofile": 16384,  # the host's own hard limit is lower
    "kubelet_shutdown_grace_period": "0s",  # no logind inhibitor in a container
    "kubelet_shutdown_grace_period_critical_pods": "0s",
    "override_system_hostname": False,  # the UTS namespace is the container's, set at start
    "resolvconf_mode": "none",  # /etc/resolv.conf stays the one the test host was given
    "ping_access_ip": False,
}


class Steps:
    """Runs ``invoke`` as a user would and times each step."""

    def __init__(self, workshop: Path) -> None:
        self.env = {**os.environ, "KUBEDOJO_WORKSHOP": str(workshop)}
        self.times: dict[str, float] = {}

    def invoke(self, step: str, *args: str, timeout: float = 3600) -> Any:
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "invoke", *args, "--json"],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        self.times[step] = round(time.monotonic() - started, 1)
        print(f"e2e: {step}: {self.times[step]} s (exit {result.returncode})", flush=True)
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode == 0, f"{' '.join(args)}: {result.stderr[-3000:]}\n{result.stdout[-3000:]}"
        return json.loads(result.stdout)

    def report(self) -> None:
        path = os.environ.get("KUBEDOJO_E2E_REPORT")
        if path:
            Path(path).write_text(json.dumps(self.times, indent=1) + "\n")


def _site_yaml(site: Path, nodes: TestHosts, names: list[str], bundle: Path) -> None:
    assert nodes.key is not None
    data = {
        "ssh": {"user": "kdadmin", "key": str(nodes.key.private), "connect_timeout": 5},
        "nodes": [
            {
                "name": name,
                "address": nodes.hosts[name].address,
                "roles": ["control-plane", "etcd", "worker"] if name.endswith("cp1") else ["worker"],
            }
            for name in names
        ],
        "network": {"plugin": "flannel", "proxy_mode": "iptables"},
        "registry": {"address": f"{NETWORK.gateway}:5000"},
        "offline": {"bundle": str(bundle), "files_repo": f"http://{NETWORK.gateway}:8080"},
        "kubespray_vars": CONTAINER_NODE_VARS,
    }
    (site / "site.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def _pod_on(client: KubeClient, namespace: str, node: str, timeout: float = 300) -> dict[str, Any]:
    """Run a pod of the workshop's base image (pulled through the registry alias) on ``node``."""
    name = "on-new-node"
    client.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {
                "nodeSelector": {"kubernetes.io/hostname": node},
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "main",
                        "image": f"127.0.0.1:5000/{BASE.repository}:{BASE.tag}",
                        "command": ["python3", "-c", "print('hello from the new node')"],
                    }
                ],
            },
        }
    )
    return client.wait_for(
        f"pod {name} on {node} to end",
        "Pod",
        lambda p: (p.get("status") or {}).get("phase") in ("Succeeded", "Failed"),
        timeout,
        namespace,
        name=name,
    )


def _downloads(site: Path) -> dict[str, set[str]]:
    """What each address fetched from the site's files repository (its access log)."""
    fetched: dict[str, set[str]] = {}
    for line in (site / "serve" / "files.log").read_text().splitlines():
        if '"GET ' in line:
            fetched.setdefault(line.split()[0], set()).add(line.split('"GET ')[1].split()[0])
    return fetched


def _image_names(nodes: TestHosts, name: str) -> list[str]:
    """The images a node's containerd holds (their names)."""
    listed = json.loads(nodes.hosts[name].sh("crictl images -o json").stdout)
    return sorted(tag for image in listed["images"] for tag in image.get("repoTags") or [])


def _node_metrics(client: KubeClient, timeout: float = 120) -> list[dict[str, Any]]:
    """The nodes' metrics once metrics-server answers (the metrics API has no watch: a bounded
    re-read every 2 s)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            items = client.list("NodeMetrics", api_version="metrics.k8s.io/v1beta1")
        except (NotFound, ApiError) as exc:  # not served yet: read again until the deadline
            items, last = [], str(exc)
        else:
            last = "an empty list"
        if items:
            return items
        assert time.monotonic() < deadline, f"no node metrics within {timeout:g} s: {last}"
        time.sleep(2)


def _clean(nodes: TestHosts, name: str) -> str:
    """What of Kubernetes is left on a host (empty: nothing)."""
    script = (
        "for s in kubelet containerd etcd; do systemctl is-active -q $s && echo service $s; done; "
        "for d in /etc/kubernetes /var/lib/kubelet /var/lib/etcd /etc/cni/net.d; do "
        '[ -e $d ] && [ -n "$(ls -A $d 2>/dev/null)" ] && echo dir $d; done; '
        "pgrep -l -x 'kube-apiserver|kubelet|etcd|containerd|kube-proxy' || true"
    )
    return nodes.hosts[name].sh(script, check=False).stdout.strip()


def test_an_offline_site_from_bundle_to_reset(kubespray_url: str, nodes: TestHosts, tmp_path: Path) -> None:
    workshop = tmp_path / "workshop.yaml"
    # The add-on's chart from ../shared/charts (the repositories cannot be reached).
    (tmp_path / "releases").mkdir()
    releases = shipped_releases(["metrics-server"], tmp_path / "releases")
    workshop.write_text(
        yaml.safe_dump({"onprem": {"kubespray_url": kubespray_url}, "charts": {"releases": str(releases)}})
    )
    steps = Steps(workshop)
    bundle, site = tmp_path / "bundle", tmp_path / "site"
    site.mkdir()
    cp1, w1 = (spec.name for spec in nodes.specs)
    try:
        steps.invoke(
            "charts.pull",
            "charts.pull",
            "--names",
            "metrics-server",
            "--bundle",
            str(bundle),
            "--no-upstream",
        )
        made = steps.invoke("site.bundle", "site.bundle", "--bundle", str(bundle), timeout=7200)
        assert {f["key"] for f in made["files"]} >= {"kubeadm", "kubelet", "etcd", "containerd", "runc"}

        _site_yaml(site, nodes, [cp1], bundle)
        served = steps.invoke("site.serve", "site.serve", "-i", str(site))
        assert served["registry"] == f"{NETWORK.gateway}:5000"
        assert "kubedojo/kube-apiserver:v1.35.4" in served["images"]
        assert any(i.startswith("kubedojo/metrics-server:") for i in served["images"]), served["images"]

        up = steps.invoke("cluster.up", "cluster.up", "-i", str(site))
        assert up["kubernetes_version"] == "1.35.4"
        status = steps.invoke("cluster.status", "cluster.status", "-i", str(site))
        assert status["healthy"] and [(n["name"], n["ready"]) for n in status["nodes"]] == [(cp1, True)]
        # Everything came from what site.serve serves: the files from its repository, the images
        # from its registry (or the lab manifests' registry name, which the nodes map to it).
        fetched = _downloads(site)[nodes.hosts[cp1].address]
        for wanted in ("/kubeadm", "/kubelet", "/containerd-2.2.3-", "/etcd-v3.6.10-", "/runc.amd64"):
            assert any(wanted in path for path in fetched), (wanted, fetched)
        images = _image_names(nodes, cp1)
        assert any("/kubedojo/kube-apiserver:v1.35.4" in i for i in images), images
        assert all(i.startswith((f"{NETWORK.gateway}:5000/", "127.0.0.1:5000/")) for i in images), images

        graded = steps.invoke(
            "lab.run",
            "lab.run",
            "01-run-job",
            "--file",
            "labs/01-run-job/solution.yaml",
            "-i",
            str(site),
            "--participant",
            "e2e",
        )
        assert graded["status"] == "passed" and graded["score"] == graded["max_score"], graded

        # The add-on from the same bundle, its image from the site's registry: kubectl top answers.
        steps.invoke(
            "charts.install",
            "charts.install",
            "--names",
            "metrics-server",
            "--bundle",
            str(bundle),
            "-i",
            str(site),
        )
        client = KubeClient.from_kubeconfig(site / "admin.kubeconfig")
        try:
            (container,) = client.get("Deployment", "metrics-server", "kube-system")["spec"]["template"][
                "spec"
            ]["containers"]
            assert container["image"].startswith(f"{NETWORK.gateway}:5000/kubedojo/metrics-server:"), (
                container
            )
            (metrics,) = _node_metrics(client)
            assert metrics["metadata"]["name"] == cp1 and metrics["usage"]["memory"], metrics
        finally:
            client.close()

        _site_yaml(site, nodes, [cp1, w1], bundle)
        steps.invoke("cluster.scale", "cluster.scale", "-i", str(site), "--node", w1)
        status = steps.invoke("cluster.status (2 nodes)", "cluster.status", "-i", str(site))
        assert sorted((n["name"], n["ready"]) for n in status["nodes"]) == [(cp1, True), (w1, True)]
        client = KubeClient.from_kubeconfig(site / "admin.kubeconfig")
        try:
            pod = _pod_on(client, "default", w1)
            assert pod["status"]["phase"] == "Succeeded", pod["status"]
            assert pod["spec"]["nodeName"] == w1
            client.delete("Pod", "on-new-node", "default")
        finally:
            client.close()

        assert "service kubelet" in _clean(nodes, w1)  # what the checks after removal look for
        steps.invoke("cluster.remove-node", "cluster.remove-node", "-i", str(site), "--node", w1, "--yes")
        status = steps.invoke("cluster.status (after remove)", "cluster.status", "-i", str(site))
        assert [n["name"] for n in status["nodes"]] == [cp1]
        assert _clean(nodes, w1) == ""

        steps.invoke("cluster.reset", "cluster.reset", "-i", str(site), "--yes")
        assert {name: _clean(nodes, name) for name in (cp1, w1)} == {cp1: "", w1: ""}
        assert not (site / "admin.kubeconfig").exists()
    finally:
        subprocess.run(
            [sys.executable, "-m", "invoke", "site.serve", "-i", str(site), "--stop"],
            cwd=REPO,
            env=steps.env,
            check=False,
            capture_output=True,
        )
        steps.report()
