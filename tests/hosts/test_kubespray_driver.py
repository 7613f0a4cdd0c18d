"""kubedojo's kubespray driver, run for real (ansible-runner, SSH, the generated inventory) against
the test hosts with the stand-in playbook tree (``standin_kubespray/``, which stands in for
kubespray's playbooks and records what each run handed them)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubedojo.errors import Cancelled, ConfigError, ProvisionError, WaitTimeout
from kubedojo.onprem.cluster import OnpremCluster

from .conftest import STANDIN, THREE
from .testhosts import TestHost, TestHosts

STR = {"str", "AnsibleUnicode", "AnsibleUnsafeText"}


def record(host: TestHost, playbook: str) -> dict[str, Any] | None:
    path = host.root / "var/lib/kubespray-standin" / f"{playbook}.json"
    return json.loads(path.read_text()) if path.exists() else None


def value(rec: dict[str, Any], name: str) -> Any:
    return rec["vars"][name]["value"]


def kind(rec: dict[str, Any], name: str) -> str:
    return str(rec["vars"][name]["type"])


def mark(host: TestHost, name: str, content: str) -> None:
    host.sh(f"mkdir -p /etc/kubespray-standin && printf '%s' '{content}' > /etc/kubespray-standin/{name}")


def test_up_hands_kubespray_the_generated_inventory_and_fetches_the_kubeconfig(
    make_site, onprem, test_hosts: TestHosts
) -> None:
    nodes = {**THREE, "node1": {"labels": {"pool": "cpu"}}}
    site: OnpremCluster = onprem(make_site(nodes, registry={"address": "10.199.0.1:5000"}))
    report = site.up()
    assert [r.playbook for r in report.runs] == ["nfs-client.yml", "cluster.yml"]
    run = report.runs[-1]
    assert run.status == "successful"
    assert run.failures == ()  # the ignored and the rescued failures of the stand-in are not failures
    assert {h: (t.ignored, t.rescued) for h, t in run.hosts.items()} == {h: (1, 1) for h in THREE}
    assert report.preflight is not None and report.preflight.ok

    for name in THREE:
        rec = record(test_hosts.hosts[name], "cluster.yml")
        assert rec is not None, name
        assert rec["user"] == "root"  # --become
        assert value(rec, "kube_version") == "1.35.4" and kind(rec, "kube_version") in STR
        assert value(rec, "kube_network_node_prefix") == 24 and kind(rec, "kube_network_node_prefix") == "int"
        assert value(rec, "helm_enabled") is False and kind(rec, "helm_enabled") == "bool"
        assert value(rec, "container_manager") == "containerd"
        assert value(rec, "ip") == test_hosts.hosts[name].address
        mirrors = {m["prefix"]: m for m in value(rec, "containerd_registries_mirrors")}
        assert mirrors["127.0.0.1:5000"]["mirrors"][0]["host"] == "http://10.199.0.1:5000"
        assert mirrors["10.199.0.1:5000"]["server"] == "http://10.199.0.1:5000"
        assert "docker.io" in mirrors
    node1 = record(test_hosts.hosts["node1"], "cluster.yml")
    assert node1 is not None
    assert value(node1, "node_labels") == {"pool": "cpu"} and kind(node1, "node_labels") == "dict"
    assert set(node1["groups"]) >= {"kube_node", "k8s_cluster"}
    cp1 = record(test_hosts.hosts["cp1"], "cluster.yml")
    assert cp1 is not None and set(cp1["groups"]) >= {"kube_control_plane", "etcd", "kube_node"}

    kubeconfig = Path(report.kubeconfig)
    assert kubeconfig == site.kubeconfig_path
    assert kubeconfig.stat().st_mode & 0o777 == 0o600
    config = yaml.safe_load(kubeconfig.read_text())
    assert config["clusters"][0]["cluster"]["server"] == f"https://{test_hosts.hosts['cp1'].address}:6443"
    assert config["users"][0]["user"]["client-key-data"] == "c3RhbmQtaW4="
    # The admin credentials never land in a run's artifacts.
    runs = site.site_dir / "runs"
    assert runs.stat().st_mode & 0o777 == 0o700
    for path in runs.rglob("*"):
        if path.is_file():
            assert "client-key-data" not in path.read_text(errors="replace"), path
    # Facts went to the site's own cache, not to the playbook tree's ansible.cfg location.
    assert sorted(p.name for p in (site.site_dir / "facts").iterdir()) == sorted(THREE)
    # Ansible's persistent SSH connections were closed when the operation ended.
    assert _ssh_masters(site.runner.control_dir) == []
    summary = json.loads((run.artifact_dir / "summary.json").read_text())
    assert summary["status"] == "successful" and set(summary["hosts"]) == set(THREE)
    assert (run.artifact_dir / "status").read_text().strip() == "successful"


def test_a_failing_host_fails_the_run_with_its_host_task_and_message(make_site, onprem, test_hosts) -> None:
    mark(test_hosts.hosts["node2"], "fail", "kernel 4.4 is too old for this workshop")
    site = onprem(make_site(THREE))
    with pytest.raises(ProvisionError) as caught:
        site.up(skip_preflight=True)
    message = str(caught.value)
    assert "cluster.yml failed: node2 failed at 'standin_checks : Stop if the host is unfit'" in message
    assert "kernel 4.4 is too old for this workshop" in message
    assert "\n" not in message
    assert [f.host for f in caught.value.failures] == ["node2"]
    artifacts = Path(caught.value.artifact_dir)
    assert (artifacts / "status").read_text().strip() == "failed"
    assert str(artifacts) in message
    assert not site.kubeconfig_path.exists()


def test_an_unreachable_host_fails_a_kubespray_run_by_name(make_site, onprem) -> None:
    site = onprem(make_site({**THREE, "ghost": {}}))
    with pytest.raises(ProvisionError) as caught:
        site.up(skip_preflight=True)
    assert "ghost unreachable at" in str(caught.value)
    assert "10.199.0.210" in str(caught.value)


def test_scale_with_limit_relies_on_the_fact_cache_kept_between_runs(make_site, onprem, test_hosts) -> None:
    onprem(make_site(THREE)).up(skip_preflight=True)
    site_dir = make_site({**THREE, "node3": {}})
    site = onprem(site_dir)
    report = site.scale(["node3"])
    assert [r.playbook for r in report.runs] == ["nfs-client.yml", "playbooks/facts.yml", "scale.yml"]
    assert report.preflight is not None and [h.host for h in report.preflight.hosts] == ["node3"]
    rec = record(test_hosts.hosts["node3"], "scale.yml")
    assert rec is not None and rec["limit"] == "node3"
    assert all(record(test_hosts.hosts[n], "scale.yml") is None for n in THREE)

    # scale.yml --limit on its own: the facts of the hosts it leaves out come from the site's cache,
    # kept from the earlier runs (ansible-runner's default cache would start empty every run) ...
    tree = site.kubespray()
    run, _ = site.runner.run("scale", tree.path, "scale.yml", timeout=300, limit="node3")
    assert run.status == "successful"
    # ... and without that cache kubespray's own assertion stops the run.
    for cached in (site.site_dir / "facts").iterdir():
        cached.unlink()
    with pytest.raises(ProvisionError, match="without a populated facts cache"):
        site.runner.run("scale", tree.path, "scale.yml", timeout=300, limit="node3")


def test_scale_refuses_control_plane_nodes_and_unknown_names(make_site, onprem) -> None:
    site = onprem(make_site(THREE))
    with pytest.raises(ConfigError, match="adds workers only"):
        site.scale(["cp1"])
    with pytest.raises(ConfigError, match="no node 'node9'"):
        site.scale(["node9"])


def test_remove_node_reset_and_upgrade_run_without_prompts(make_site, onprem, test_hosts) -> None:
    site = onprem(make_site({**THREE, "node3": {}}))
    run = site.remove_node(["node3"])
    assert run.status == "successful"
    rec = record(test_hosts.hosts["node3"], "remove-node.yml")
    assert rec is not None
    assert value(rec, "node") == "node3"
    assert value(rec, "skip_confirmation") is True and kind(rec, "skip_confirmation") == "bool"
    assert (value(rec, "reset_nodes"), value(rec, "allow_ungraceful_removal")) == (True, False)
    assert all(record(test_hosts.hosts[n], "remove-node.yml") is None for n in THREE)

    site.remove_node(["node2"], dead=True)
    rec = record(test_hosts.hosts["node2"], "remove-node.yml")
    assert rec is not None and (value(rec, "reset_nodes"), value(rec, "allow_ungraceful_removal")) == (
        False,
        True,
    )
    with pytest.raises(ConfigError, match="first control-plane or etcd node"):
        site.remove_node(["cp1"])

    with pytest.raises(ConfigError, match=r"1\.34\.3 is older than the 1\.35\.4 the cluster runs"):
        site.upgrade("1.34.3")
    with pytest.raises(ConfigError, match=r"no checksums for Kubernetes 1\.36\.0"):
        site.upgrade("1.36.0")

    site.up(skip_preflight=True)
    assert site.kubeconfig_path.exists()
    assert (test_hosts.hosts["cp1"].root / "etc/kubernetes/admin.conf").exists()
    site.reset()
    rec = record(test_hosts.hosts["node1"], "reset.yml")
    assert rec is not None and value(rec, "reset_confirmation") is True
    assert not (test_hosts.hosts["cp1"].root / "etc/kubernetes/admin.conf").exists()
    assert not site.kubeconfig_path.exists()
    assert site.state.kubernetes_version == ""  # nothing runs there any more


def test_the_version_a_cluster_was_brought_to_is_kept_by_later_runs(make_site, onprem, test_hosts) -> None:
    site_dir = make_site(THREE, kubernetes_version="1.34.3")
    site = onprem(site_dir)
    site.up(skip_preflight=True)
    assert value(record(test_hosts.hosts["cp1"], "cluster.yml"), "kube_version") == "1.34.3"
    with pytest.raises(ConfigError, match=r"no checksums for Kubernetes 1\.36\.0"):
        site.upgrade("1.36.0")
    site.upgrade("1.35.0")
    assert value(record(test_hosts.hosts["cp1"], "upgrade-cluster.yml"), "kube_version") == "1.35.0"
    # site.yaml still says 1.34.3: a later up refuses to go back instead of downgrading...
    with pytest.raises(ConfigError, match=r"'kubernetes_version' 1\.34\.3 is older than the 1\.35\.0"):
        site.up(skip_preflight=True)
    # ...and without the key it keeps 1.35.0, not kubedojo's pinned 1.35.4; scale does the same.
    site = onprem(make_site(THREE))
    site.up(skip_preflight=True)
    assert value(record(test_hosts.hosts["cp1"], "cluster.yml"), "kube_version") == "1.35.0"
    site.scale([])
    assert value(record(test_hosts.hosts["node1"], "scale.yml"), "kube_version") == "1.35.0"
    with pytest.raises(ConfigError, match=r"1\.33\.11 is older than the 1\.35\.0 the cluster runs"):
        site.upgrade("1.33.11")


class CancelWhenTaskStarts:
    """A watcher that cancels the run once a given task has started (as Ctrl-C would)."""

    def __init__(self, task: str, cancel: threading.Event) -> None:
        self.task = task
        self.cancel = cancel
        self.saw_task = False

    @contextmanager
    def watch(self, title: str, progress: Any) -> Iterator[None]:
        done = threading.Event()

        def poll() -> None:
            while not done.wait(0.1):
                if self.task in progress.snapshot().task:
                    self.saw_task = True
                    time.sleep(0.5)
                    self.cancel.set()
                    return

        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()


def _processes(*needles: str) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if all(n in cmdline for n in needles):
                found.append(cmdline)
    return found


def _ssh_masters(control_dir: Path) -> list[str]:
    return _processes("ssh: ", str(control_dir))


def _ansible_processes(site_dir: Path) -> list[str]:
    return _processes("ansible-playbook", str(site_dir))


def test_cancel_stops_the_run_and_keeps_its_record(make_site, onprem, test_hosts) -> None:
    mark(test_hosts.hosts["node1"], "sleep", "300")
    cancel = threading.Event()
    watcher = CancelWhenTaskStarts("Download the binaries", cancel)
    site = onprem(make_site(THREE), watcher=watcher, cancel=cancel)
    started = time.monotonic()
    with pytest.raises(Cancelled, match=r"cluster\.yml on site 'site' was cancelled after"):
        site.up(skip_preflight=True)
    assert watcher.saw_task
    assert time.monotonic() - started < 60
    assert _ansible_processes(site.site_dir) == []
    runs = sorted((site.site_dir / "runs").glob("*-up"))
    assert (runs[-1] / "status").read_text().strip() == "canceled"
    assert record(test_hosts.hosts["node1"], "cluster.yml") is None  # nothing after the cancel ran


def test_a_run_longer_than_its_timeout_is_stopped_with_the_timeout_named(
    make_site, onprem, test_hosts
) -> None:
    mark(test_hosts.hosts["node2"], "sleep", "120")
    site = onprem(make_site(THREE, timeouts={"playbook": 8}))
    started = time.monotonic()
    with pytest.raises(WaitTimeout) as caught:
        site.up(skip_preflight=True)
    assert time.monotonic() - started < 60
    assert "timed out after 8 s waiting for cluster.yml on site 'site' to finish" in str(caught.value)
    assert _ansible_processes(site.site_dir) == []


def test_a_kubespray_tree_without_its_entry_points_is_refused(make_site, tmp_path) -> None:
    from kubedojo.config import parse_config

    from .conftest import REPO

    broken = tmp_path / "not-kubespray"
    broken.mkdir()
    (broken / "cluster.yml").write_text("- hosts: all\n")
    config = parse_config({"onprem": {"kubespray_checkout": str(broken)}})
    site = OnpremCluster(make_site(THREE), config, REPO)
    with pytest.raises(ConfigError, match=r"not a kubespray tree \(missing scale.yml, reset.yml"):
        site.up()
    assert not (site.site_dir / "runs").exists()
    assert STANDIN.is_dir()
