from __future__ import annotations

from pathlib import Path

import yaml

from kubedojo.kubeconfig import render_kubeconfig


def test_paths_are_referenced_and_strings_embedded(tmp_path: Path) -> None:
    by_file = yaml.safe_load(
        render_kubeconfig(
            "https://10.0.0.1:6443",
            tmp_path / "ca.crt",
            "kubelet",
            cert=tmp_path / "k.crt",
            key=tmp_path / "k.key",
        )
    )
    assert by_file["clusters"] == [
        {
            "name": "kubedojo",
            "cluster": {"server": "https://10.0.0.1:6443", "certificate-authority": str(tmp_path / "ca.crt")},
        }
    ]
    assert by_file["users"] == [
        {
            "name": "kubelet",
            "user": {"client-certificate": str(tmp_path / "k.crt"), "client-key": str(tmp_path / "k.key")},
        }
    ]
    embedded = yaml.safe_load(render_kubeconfig("https://h:1", "Q0E=", "admin", cert="Q0VSVA==", key="S0VZ"))
    assert embedded["clusters"][0]["cluster"]["certificate-authority-data"] == "Q0E="
    assert embedded["users"][0]["user"] == {"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ"}
    assert embedded["current-context"] == "kubedojo"
    assert embedded["contexts"] == [{"name": "kubedojo", "context": {"cluster": "kubedojo", "user": "admin"}}]


def test_token_user_with_its_own_context_and_namespace() -> None:
    config = yaml.safe_load(
        render_kubeconfig(
            "https://h:1", "Q0E=", "ana", token="t0k", cluster="workshop", context="ana", namespace="lab-ana"
        )
    )
    assert config["users"] == [{"name": "ana", "user": {"token": "t0k"}}]
    assert config["contexts"] == [
        {"name": "ana", "context": {"cluster": "workshop", "user": "ana", "namespace": "lab-ana"}}
    ]
    assert config["current-context"] == "ana"
    assert config["clusters"][0]["name"] == "workshop"
