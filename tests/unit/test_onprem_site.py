"""site.yaml: what kubespray would refuse much later is refused at once, in one line naming the
host or key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kubedojo.errors import ConfigError
from kubedojo.onprem.site import load_site, parse_site

REPO = Path(__file__).resolve().parents[2]


def site(*nodes: dict[str, Any], **keys: Any) -> dict[str, Any]:
    return {"nodes": list(nodes), **keys}


CP = {"name": "cp1", "address": "192.168.10.11", "roles": ["control-plane", "etcd", "worker"]}
W1 = {"name": "node1", "address": "192.168.10.21"}
W2 = {"name": "node2", "address": "192.168.10.22"}


def refused(data: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_site(data, "inventory/lab/site.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("inventory/lab/site.yaml: ")
    return message.removeprefix("inventory/lab/site.yaml: ")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (site({**CP, "name": "Cp1"}), "host 'Cp1': 'name': host name 'Cp1' must be lower-case"),
        (site({**CP, "name": "cp_1"}), "host 'cp_1': 'name': host name 'cp_1' must be lower-case"),
        (site({**CP, "gpu": "yes"}), "host 'cp1': 'gpu' must be true or false (got 'yes')"),
        (site({**CP, "gpu": 1}), "host 'cp1': 'gpu' must be true or false (got 1)"),
        (
            site({**CP, "roles": ["master"]}),
            "host 'cp1': 'roles[0]': Input should be 'control-plane'",
        ),
        (site({**CP, "rolez": []}), "host 'cp1': unknown key 'rolez'"),
        (site({"name": "cp1"}), "host 'cp1': missing key 'address'"),
        ({"nodes": []}, "'nodes' is empty"),
        ({"ssh": {"user": "x"}}, "missing key 'nodes'"),
        ([CP], "the top level must be a mapping"),
        (site(W1, W2), "no node has the 'control-plane' role"),
        (
            site(CP, {**W1, "roles": ["etcd", "worker"]}),
            "etcd needs an odd number of members, the site has 2 (cp1, node1)",
        ),
        (
            site({**CP, "roles": ["control-plane", "worker"]}, {**W1, "roles": ["control-plane", "worker"]}),
            "etcd needs an odd number of members, the site has 2 (cp1, node1)",
        ),
        (site({**CP, "roles": ["control-plane", "etcd"]}), "no node has the 'worker' role"),
        (site(CP, {**W1, "name": "cp1"}), "two nodes have the name 'cp1'"),
        (site(CP, {**W1, "address": CP["address"]}), "two nodes have the address '192.168.10.11'"),
        (site(CP, {**W1, "address": "bad address!"}), "host 'node1': 'address' 'bad address!' is neither"),
        (site(CP, {**W1, "ip": "node1.lan"}), "host 'node1': 'ip' 'node1.lan' must be an IP address"),
        (
            site(CP, {**W1, "gpu": True, "roles": ["etcd"]}),
            "host 'node1': 'gpu' is true but it is not a worker",
        ),
        (
            site(CP, network={"pod_cidr": "10.0.0.0/16", "service_cidr": "10.0.128.0/17"}),
            "'network.pod_cidr' 10.0.0.0/16 overlaps 'network.service_cidr' 10.0.128.0/17",
        ),
        (
            site({**CP, "address": "10.233.70.5"}),
            "host 'cp1': its address 10.233.70.5 lies inside 'network.pod_cidr' 10.233.64.0/18",
        ),
        (
            site(CP, network={"pod_cidr": "10.1.0.0/33"}),
            "'network.pod_cidr': '10.1.0.0/33' is not an IPv4 network",
        ),
        (
            site(CP, network={"plugin": "weave"}),
            "'network.plugin': Input should be 'calico', 'flannel', ",
        ),
        (
            site(CP, network={"proxy_mode": "userspace"}),
            "'network.proxy_mode': Input should be 'ipvs', 'iptables' or 'nftables' (got 'userspace')",
        ),
        (
            site(CP, W1, W2, network={"plugin": "flannel", "pod_cidr": "10.244.0.0/23", "node_prefix": 24}),
            "'network.pod_cidr' 10.244.0.0/23 holds 2 node ranges of /24 but the site has 3 nodes",
        ),
        (
            site(CP, network={"pod_cidr": "10.244.0.0/24", "node_prefix": 24}),
            "'network.node_prefix' /24 must be longer than 'network.pod_cidr' /24",
        ),
        (
            site(CP, kubespray_vars={"download_run_once": "true"}),
            "'kubespray_vars.download_run_once' must be true or false",
        ),
        (site(CP, kubespray_vars={"helm_enabled": 0}), "'kubespray_vars.helm_enabled' must be true or false"),
        (
            site(CP, kubespray_vars={"kube_version": "1.30.0"}),
            "'kubespray_vars.kube_version' is set by kubedojo",
        ),
        (
            site(CP, kubespray_vars={"kubelet_max_pods": 300}, network={"plugin": "flannel"}),
            "'kubespray_vars.kubelet_max_pods' 300 is more than the 254 pod addresses of a /24",
        ),
        (site(CP, preflight={"ignore": ["swapp"]}), "'preflight.ignore[0]': Input should be 'reachable', "),
        (
            site(CP, registry={"address": "http://reg:5000"}),
            "'registry.address': 'http://reg:5000' must be host or host:port",
        ),
        (site({**CP, "taints": ["gpu"]}), "host 'cp1': 'taints': taint 'gpu' must look like"),
        (site(CP, ssh={"port": 0}), "'ssh.port': Input should be greater than or equal to 1"),
    ],
)
def test_bad_sites_are_refused_in_one_line(data: Any, expected: str) -> None:
    message = refused(data)
    assert message.startswith(expected), message


def test_a_good_site_reads_with_defaults() -> None:
    parsed = parse_site(site(CP, W1, {**W2, "gpu": True}), "site.yaml")
    assert [n.name for n in parsed.control_plane] == ["cp1"]
    assert [n.name for n in parsed.etcd] == ["cp1"]
    assert [n.name for n in parsed.workers] == ["cp1", "node1", "node2"]
    assert [n.name for n in parsed.gpu_nodes] == ["node2"]
    assert parsed.network.plugin == "calico" and parsed.registry.aliases == ["127.0.0.1:5000"]
    # Without any etcd role, the control plane carries etcd (kubespray's sample does the same).
    three = parse_site(site({**CP, "roles": ["control-plane"]}, W1), "site.yaml")
    assert [n.name for n in three.etcd] == ["cp1"]


def test_the_sample_site_is_valid_and_documents_every_key() -> None:
    from kubedojo.onprem.site import Site

    text = (REPO / "inventory/sample/site.yaml").read_text()
    parse_site(yaml.safe_load(text), "sample")
    for key in Site.model_fields:
        assert f"{key}:" in text, key


def test_site_files_on_disk(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such site directory"):
        load_site(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match=r"site.yaml: missing; copy inventory/sample/site.yaml"):
        load_site(tmp_path)
    (tmp_path / "site.yaml").write_text("nodes:\n  - name: cp1\n    address: [unclosed\n")
    with pytest.raises(ConfigError, match=r"site.yaml: line 4:"):
        load_site(tmp_path)
    (tmp_path / "site.yaml").write_text(yaml.safe_dump(site(CP, ssh={"key": "keys/id"})))
    with pytest.raises(ConfigError, match=r"'ssh.key' .*keys/id: no such file"):
        load_site(tmp_path)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys/id").write_text("a key")
    assert load_site(tmp_path).nodes[0].name == "cp1"  # relative to the site directory
