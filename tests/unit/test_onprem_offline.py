"""The kubespray part of a site bundle: files packed as kubespray unpacks them, reproducibly, a manifest
that is checked when read, and the inventory variables that point every download at the site."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
import yaml

from kubedojo.errors import ConfigError
from kubedojo.onprem.nodeimages import NODE_IMAGES
from kubedojo.onprem.offline import FILES, IMAGES, Member, offline_variables
from kubedojo.onprem.sitebundle import MANIFEST, load_manifest, pack_file, write_manifest


def _served(key: str):  # type: ignore[no-untyped-def]
    return next(f for f in FILES if f.key == key)


@pytest.fixture
def programs(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A stand-in binary per member: its name and program as content."""
    built = tmp_path / "built"
    built.mkdir()

    def find(member: Member) -> Path:
        path = built / f"{member.programs.name}-{member.program}"
        path.write_bytes(f"#!{member.programs.name}/{member.program}\n".encode())
        return path

    return find


def _members(path: Path) -> dict[str, tuple[int, bytes]]:
    with tarfile.open(path) as tar:
        return {
            m.name: (m.mode, tar.extractfile(m).read() if m.isfile() else b"")  # type: ignore[union-attr]
            for m in tar.getmembers()
        }


def test_each_file_is_packed_the_way_kubesprays_install_task_unpacks_it(tmp_path: Path, programs) -> None:  # type: ignore[no-untyped-def]
    bundle = tmp_path / "bundle"
    runc = pack_file(_served("runc"), programs, bundle)
    on_disk = bundle / "kubespray/files" / runc.path
    assert runc.path == "github.com/opencontainers/runc/releases/download/v1.4.2/runc.amd64"
    assert on_disk.read_bytes() == b"#!runc/runc\n" and on_disk.stat().st_mode & 0o777 == 0o755

    etcd = _members(bundle / "kubespray/files" / pack_file(_served("etcd"), programs, bundle).path)
    assert sorted(etcd) == [
        "etcd-v3.6.10-linux-amd64",
        "etcd-v3.6.10-linux-amd64/etcd",
        "etcd-v3.6.10-linux-amd64/etcdctl",
        "etcd-v3.6.10-linux-amd64/etcdutl",
    ]
    assert etcd["etcd-v3.6.10-linux-amd64/etcdctl"] == (0o755, b"#!etcdctl/etcdctl\n")
    # containerd is unpacked with --strip-components=1 into /usr/local/bin; the CNI plugins flat.
    containerd = _members(
        bundle / "kubespray/files" / pack_file(_served("containerd"), programs, bundle).path
    )
    assert sorted(containerd) == ["bin", "bin/containerd", "bin/containerd-shim-runc-v2", "bin/ctr"]
    cni = _members(bundle / "kubespray/files" / pack_file(_served("cni"), programs, bundle).path)
    assert {"bridge", "host-local", "loopback", "portmap"} <= set(cni) and "/" not in "".join(cni)


def test_packing_is_reproducible(tmp_path: Path, programs) -> None:  # type: ignore[no-untyped-def]
    first = pack_file(_served("containerd"), programs, tmp_path / "a")
    second = pack_file(_served("containerd"), programs, tmp_path / "b")
    assert first.sha256 == second.sha256 and len(first.sha256) == 64


def _bundle(tmp_path: Path, programs) -> Path:  # type: ignore[no-untyped-def]
    bundle = tmp_path / "bundle"
    write_manifest(bundle, [pack_file(f, programs, bundle) for f in FILES], ["kubedojo/pause:x"])
    return bundle


def test_the_manifest_is_read_back_and_checked(tmp_path: Path, programs) -> None:  # type: ignore[no-untyped-def]
    bundle = _bundle(tmp_path, programs)
    entries = load_manifest(bundle, check_files=True)
    assert set(entries) == {f.key for f in FILES}
    # A file changed after the bundle was made is refused by name.
    kubelet = bundle / "kubespray/files" / entries["kubelet"].path
    kubelet.write_bytes(b"something else")
    with pytest.raises(ConfigError, match=r"kubelet: differs from the sha256 the manifest recorded"):
        load_manifest(bundle, check_files=True)
    assert load_manifest(bundle)["kubelet"] == entries["kubelet"]  # without checking the files


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(kubespray="v2.30.0"), r"made for kubespray v2.30.0, this kubedojo runs v2.31.0"),
        (lambda d: d["files"].pop("crictl"), r"has no crictl at github.com/kubernetes-sigs/cri-tools"),
        (lambda d: d.pop("files"), r"not a kubedojo site bundle \(KeyError"),
    ],
)
def test_a_manifest_of_another_kubedojo_is_refused(tmp_path: Path, programs, change, expected) -> None:  # type: ignore[no-untyped-def]
    bundle = _bundle(tmp_path, programs)
    data = yaml.safe_load((bundle / MANIFEST).read_text())
    change(data)
    (bundle / MANIFEST).write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=expected):
        load_manifest(bundle)
    with pytest.raises(ConfigError, match=r"manifest.yaml: missing"):
        load_manifest(tmp_path)


def test_every_download_and_image_points_at_the_site() -> None:
    checksums = {f.key: f"{i:064x}" for i, f in enumerate(FILES)}
    variables = offline_variables("http://10.0.0.5:8080/", "10.0.0.5:5000", checksums)
    for served in FILES:
        assert variables[served.url_variable] == f"http://10.0.0.5:8080/{served.path}"
        assert variables[served.checksum_variable] == f"sha256:{checksums[served.key]}"
    assert variables["crictl_version"] == "1.34.0"  # what is served, not kubespray's 1.35.0
    for image in IMAGES:
        assert variables[image.repository_variable] == f"10.0.0.5:5000/kubedojo/{image.recipe.name}"
        assert variables[image.tag_variable] == image.recipe.tag
        assert image.recipe in NODE_IMAGES
    assert variables["kubeadm_image_repo"] == "10.0.0.5:5000/kubedojo"
    # Anything else kubespray might fetch goes to the site too, where it is missing: never the internet.
    assert variables["github_url"] == "http://10.0.0.5:8080/github.com"
    assert all(
        variables[k] == "10.0.0.5:5000" for k in ("kube_image_repo", "docker_image_repo", "quay_image_repo")
    )
    assert variables["enable_nodelocaldns"] is False and variables["enable_dns_autoscaler"] is False
    assert variables["kubeadm_ignore_preflight_errors"] == ["ImagePull"]
    assert not any("://" in str(v) and "10.0.0.5" not in str(v) for v in variables.values())


# -- a site that uses a bundle ------------------------------------------------------------------

OFFLINE_SITE = {
    "nodes": [{"name": "cp1", "address": "10.0.0.11", "roles": ["control-plane", "etcd", "worker"]}],
    "network": {"plugin": "flannel"},
    "registry": {"address": "10.0.0.5:5000"},
    "offline": {"bundle": "bundle", "files_repo": "http://10.0.0.5:8080"},
}


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"offline": {"bundle": "bundle"}}, "'offline.bundle' needs 'offline.files_repo'"),
        (
            {"offline": {"files_repo": "http://10.0.0.5:8080"}},
            "'offline.files_repo' is set but 'offline.bundle'",
        ),
        ({"registry": {}}, "'offline.bundle' needs 'registry.address'"),
        ({"network": {"plugin": "calico"}}, "'network.plugin' calico: a site bundle carries the flannel"),
        (
            {"offline": {"bundle": "b", "files_repo": "http://10.0.0.5:8080/files"}},
            "'offline.files_repo': 'http://10.0.0.5:8080/files' must be http://host:port",
        ),
    ],
)
def test_an_offline_site_needs_its_whole_setting(change: dict[str, object], expected: str) -> None:
    from kubedojo.onprem.site import parse_site

    with pytest.raises(ConfigError) as caught:
        parse_site({**OFFLINE_SITE, **change}, "site.yaml")
    assert str(caught.value).startswith(f"site.yaml: {expected}"), caught.value


def test_the_generated_inventory_of_an_offline_site_points_at_its_bundle(tmp_path: Path, programs) -> None:  # type: ignore[no-untyped-def]
    from kubedojo.onprem.inventory import write_inventory
    from kubedojo.onprem.site import load_site

    site_dir = tmp_path / "site"
    site_dir.mkdir()
    bundle = _bundle(site_dir, programs)
    (site_dir / "key").write_text("k")
    (site_dir / "site.yaml").write_text(
        yaml.safe_dump(
            {
                **OFFLINE_SITE,
                "ssh": {"key": "key"},
                "kubespray_vars": {
                    "enable_nodelocaldns": True,
                    "kubeadm_ignore_preflight_errors": ["SystemVerification"],
                },
            }
        )
    )
    site = load_site(site_dir)
    variables = yaml.safe_load(write_inventory(site, site_dir, "1.35.4").group_vars_file.read_text())
    kubelet = load_manifest(bundle)["kubelet"]
    assert variables["kubelet_download_url"] == f"http://10.0.0.5:8080/{kubelet.path}"
    assert variables["kubelet_binary_checksum"] == f"sha256:{kubelet.sha256}"
    assert variables["pod_infra_image_repo"] == "10.0.0.5:5000/kubedojo/pause"
    assert variables["enable_nodelocaldns"] is True  # the site's own kubespray_vars come last
    assert variables["kubeadm_ignore_preflight_errors"] == ["ImagePull", "SystemVerification"]  # both
    with pytest.raises(
        ConfigError, match=r"Kubernetes 1.34.7: the site bundle serves Kubernetes 1.35.4 only"
    ):
        write_inventory(site, site_dir, "1.34.7")
    (bundle / MANIFEST).unlink()
    with pytest.raises(ConfigError, match=r"manifest.yaml: missing"):
        write_inventory(site, site_dir, "1.35.4")
    assert yaml.safe_load((site_dir / "generated/group_vars/all/kubedojo.yml").read_text()) == variables


# -- making the bundle and pushing its images -----------------------------------------------------


class FakeBuilder:
    """Builds nothing: a program is a small file naming itself; an image export is recorded."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.exported: list[str] = []

    def program(self, programs, program: str) -> Path:  # type: ignore[no-untyped-def]
        path = self.root / f"{programs.name}-{program}"
        path.write_text(f"{programs.name}/{program}\n")
        return path

    def export_image(self, recipe, layout: Path) -> str:  # type: ignore[no-untyped-def]
        assert layout.name == "images" and layout.is_dir()
        self.exported.append(f"{recipe.repository}:{recipe.tag}")
        return self.exported[-1]


def test_a_site_bundle_holds_every_file_the_node_images_and_the_labs(tmp_path: Path) -> None:
    from kubedojo.local.images import ContextImage
    from kubedojo.onprem.bundling import make_site_bundle, push_bundle_images

    lab = ContextImage("lab-01-run-job", "v1", "a lab", context=tmp_path)
    builder = FakeBuilder(tmp_path)
    steps: list[str] = []
    report = make_site_bundle(tmp_path / "bundle", builder, [lab, lab], steps.append)  # two labs, one image
    assert {f.key for f in report.files} == {f.key for f in FILES}
    assert sorted(builder.exported) == sorted({f"{r.repository}:{r.tag}" for r in (*NODE_IMAGES, lab)})
    assert "kubedojo/kube-apiserver:v1.35.4" in report.images and steps[0] == "file kubeadm"

    pushed: list[tuple[str, str, bool]] = []

    class Pusher:
        def push_oci(self, layout: Path, path: str, registry: str, tls_verify: bool = True) -> None:
            assert layout == tmp_path / "bundle" / "images"
            pushed.append((path, registry, tls_verify))

    paths = push_bundle_images(tmp_path / "bundle", "10.0.0.5:5000", Pusher())
    assert sorted(paths) == sorted(report.images)
    assert {(p, r, t) for p, r, t in pushed} == {(p, "10.0.0.5:5000", False) for p in report.images}


def test_a_sites_labs_get_the_base_image_and_the_webhook_receiver_with_their_own() -> None:
    """Grading's reader pods and the datasets' Job run the base image, lab 09 the webhook receiver:
    a site has them only from the bundle."""
    from kubedojo.labs.catalog import Catalog
    from kubedojo.local.images import BASE
    from kubedojo.onprem.bundling import workshop_images

    repo = Path(__file__).resolve().parents[2]
    labs = Catalog(repo).all()
    names = [f"{r.repository}:{r.tag}" for r in workshop_images(repo, labs)]
    assert names[:2] == [f"{BASE.repository}:{BASE.tag}", "kubedojo/kubedojo-hooks:v1"]
    assert {"kubedojo/lab-01-run-job:v1", "kubedojo/lab-09-ml-pipeline:v1"} <= set(names)
    assert "kubedojo/lab-11-pytorchjob:v1" in names
    # A workshop that leaves the training operator off carries no PyTorch image.
    without = [f"{r.repository}:{r.tag}" for r in workshop_images(repo, labs, ["training-operator"])]
    assert "kubedojo/lab-11-pytorchjob:v1" not in without and "kubedojo/lab-01-run-job:v1" in without
