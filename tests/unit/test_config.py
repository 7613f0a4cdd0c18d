from __future__ import annotations

from pathlib import Path

import pytest

from kubedojo.config import load_config, parse_config
from kubedojo.errors import ConfigError


def test_defaults_describe_a_local_cluster() -> None:
    config = parse_config({})
    net = config.local.network
    assert net.node_ip == "10.244.0.1"
    assert str(net.node_subnet) == "10.244.0.0/24"
    assert str(net.sim_subnet) == "10.244.128.0/17"
    assert net.api_service_ip == "10.96.0.1"
    assert net.dns_service_ip == "10.96.0.10"
    assert config.local.sim_pools["gpu"].capacity["nvidia.com/gpu"] == "1"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"locl": {}}, "workshop.yaml: unknown key 'locl'"),
        ({"local": {"netwrk": {}}}, "workshop.yaml: unknown key 'local.netwrk'"),
        ({"local": {"api_port": "6443"}}, "workshop.yaml: 'local.api_port': Input should be a valid integer"),
        (
            {"local": {"binaries": "steal"}},
            "workshop.yaml: 'local.binaries': Input should be 'build' or 'download'",
        ),
        ({"local": {"network": {"pod_cidr": "10.96.0.0/16"}}}, "overlaps service_cidr"),
        ({"local": {"network": {"pod_cidr": "10.1.2.0/24"}}}, "is too small"),
        ({"local": {"network": {"service_cidr": "banana"}}}, "is not an IPv4 network"),
        (
            {"local": {"sim_pools": {"gpu": {"taints": ["nvidia.com/gpu=present"]}}}},
            "must look like key=value:",
        ),
        ({"local": {"node_name": "Node_1"}}, "'local.node_name': must be a lower-case DNS label"),
        ({"local": {"start_timeout": 0}}, "'local.start_timeout'"),
    ],
)
def test_bad_values_are_one_line_errors_naming_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(data)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "workshop.yaml"
    path.write_text("local:\n  state_dir: /x\n   node_name: [\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: line ")
    assert "\n" not in str(error.value)


def test_missing_file_means_defaults_and_a_list_top_level_is_refused(tmp_path: Path) -> None:
    assert load_config(tmp_path / "absent.yaml") == parse_config({})
    path = tmp_path / "workshop.yaml"
    path.write_text("- local\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        load_config(path)


def test_file_values_reach_the_model(tmp_path: Path) -> None:
    path = tmp_path / "workshop.yaml"
    path.write_text("workshop:\n  name: Seoul 2026\nlocal:\n  node_labels: {role: train-cpu}\n")
    config = load_config(path)
    assert config.workshop.name == "Seoul 2026"
    assert config.local.node_labels == {"role": "train-cpu"}


def test_sections_left_empty_take_their_defaults(tmp_path: Path) -> None:
    path = tmp_path / "workshop.yaml"
    path.write_text("local:\n  # state_dir: /x\n  network:\n    # bridge: br9\n")
    assert load_config(path) == parse_config({})


def test_the_shipped_workshop_yaml_is_valid() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "workshop.yaml")
    assert config.workshop.name == "How to scale your ML job with Kubernetes"
    assert config.local == parse_config({}).local


def test_the_sources_directory_comes_from_the_file_then_the_environment_then_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBEDOJO_SOURCES", raising=False)
    config = parse_config({"cache_dir": str(tmp_path / "cache")})
    assert config.sources_root == tmp_path / "cache" / "sources"
    monkeypatch.setenv("KUBEDOJO_SOURCES", str(tmp_path / "env"))
    assert parse_config({}).sources_root == tmp_path / "env"
    relative = parse_config({"sources_dir": "archives"}).under(tmp_path)
    assert relative.sources_root == tmp_path / "archives"  # relative to the project, like other paths
