"""The add-ons' pure logic: reading releases.yaml, ordering, conditions, values, images, bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubedojo.addons import (
    Bundle,
    BundledChart,
    ClusterFacts,
    Release,
    When,
    applies,
    images_in,
    levels,
    load_releases,
    merge_values,
    parse_releases,
    render_values,
    with_needs,
)
from kubedojo.errors import AddonError, ConfigError

REPO = Path(__file__).resolve().parents[2]
LOCAL = ClusterFacts(kind="local", gpu_nodes=0, registry="127.0.0.1:5000")


def rel(name: str, **keys: Any) -> dict[str, Any]:
    return {
        "name": name,
        "repo": "https://charts.example/",
        "chart": name,
        "version": "1.0.0",
        "namespace": "ns",
        **keys,
    }


def parse(tmp_path: Path, *releases: dict[str, Any], **top: Any) -> Any:
    return parse_releases({"releases": list(releases), **top}, tmp_path / "releases.yaml")


def refused(tmp_path: Path, *releases: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(tmp_path, *releases)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'releases.yaml'}: ") and "\n" not in message
    return message.split(": ", 1)[1]


@pytest.mark.parametrize(
    ("releases", "expected"),
    [
        ([rel("a", version="^1.0")], "release 'a': 'version': '^1.0' is not a pinned version"),
        ([rel("a", version="1.x")], "release 'a': 'version': '1.x' is not a pinned version"),
        ([rel("a", digest="md5:abc")], "release 'a': 'digest': must be sha256:"),
        ([rel("a", repo="charts.example")], "release 'a': 'repo': 'charts.example' must be an http(s)://"),
        ([rel("A")], "release 'A': 'name': 'A' must be a DNS label"),
        ([rel("a", valuez=[])], "release 'a': unknown key 'valuez'"),
        ([{"name": "a", "chart": "a", "version": "1.0.0"}], "release 'a': missing key 'namespace'"),
        ([rel("a"), rel("a")], "two releases are named 'a'"),
        ([rel("a", needs=["b"])], "release 'a': needs 'b', which is not a release here"),
        (
            [rel("a", needs=["b"]), rel("b", needs=["c"]), rel("c", needs=["a"])],
            "the releases' needs form a cycle: a -> b -> c -> a",
        ),
        ([rel("a", values=["values/missing.yaml"])], "release 'a': values file"),
        ([rel("a", repo="", chart="nowhere")], "release 'a': chart"),
        ([rel("a", when={"gpu": True})], "release 'a': unknown key 'when.gpu'"),
        ([rel("a", when={"cluster": ["k3s"]})], "release 'a': 'when.cluster[0]'"),
        (
            [rel("a", credentials=[{"secret": "s", "generate": {"k": 4}}])],
            "release 'a': 'credentials[0]': credential 's': k: a random value is 16 to 128 characters",
        ),
        (
            [rel("a", credentials=[{"secret": "s"}])],
            "release 'a': 'credentials[0]': credential 's': give either 'generate' or 'copy_from'",
        ),
        (
            [rel("a", credentials=[{"secret": "s", "copy_from": "x", "keys": {"a": "b"}}])],
            "release 'a': 'credentials[0]': credential 's': copy_from is namespace/name",
        ),
    ],
)
def test_bad_releases_files_are_refused_in_one_line(
    tmp_path: Path, releases: list[dict[str, Any]], expected: str
) -> None:
    assert refused(tmp_path, *releases).startswith(expected)


def test_levels_put_needs_first_and_independent_releases_together(tmp_path: Path) -> None:
    parsed = parse(
        tmp_path,
        rel("argo", needs=["minio"]),
        rel("minio", needs=["nfs"]),
        rel("nfs"),
        rel("metrics"),
        rel("autoscaler", needs=["metrics"]),
    )
    assert [[r.name for r in level] for level in levels(parsed.releases)] == [
        ["metrics", "nfs"],
        ["autoscaler", "minio"],
        ["argo"],
    ]
    assert [r.name for r in with_needs(parsed, ["argo"])] == ["argo", "minio", "nfs"]
    # Needs outside the chosen set count as met (they are installed, or do not apply here).
    assert [[r.name for r in lv] for lv in levels(with_needs(parsed, ["argo"])[:1])] == [["argo"]]
    with pytest.raises(ConfigError, match="no release 'nope'"):
        with_needs(parsed, ["nope"])


@pytest.mark.parametrize(
    ("needs", "cycle"),
    [
        ({"a": ["a"]}, "a -> a"),
        ({"a": ["b"], "b": ["a"]}, "a -> b -> a"),
        ({"c": ["a"], "a": ["b"], "b": ["c"]}, "a -> b -> c -> a"),
        ({"a": ["b"], "b": ["d"], "c": ["b"], "d": ["c"]}, "b -> d -> c -> b"),
    ],
)
def test_a_cycle_is_one_line_that_follows_the_needs(needs: dict[str, list[str]], cycle: str) -> None:
    releases = [Release(name=n, chart=n, version="1.0.0", namespace="x", needs=ns) for n, ns in needs.items()]
    with pytest.raises(ConfigError) as error:
        levels(releases)
    assert str(error.value) == f"the releases' needs form a cycle: {cycle}"


def test_conditions() -> None:
    kubespray = ClusterFacts(kind="kubespray", gpu_nodes=2, nfs_server="10.0.0.5", autoscaler="")
    assert applies(When(), LOCAL) is None
    assert applies(When(gpu_nodes=True), LOCAL) == "no GPU nodes"
    assert applies(When(gpu_nodes=True), kubespray) is None
    assert applies(When(nfs_server=True), LOCAL) == "no NFS server configured (charts.nfs.server)"
    assert applies(When(nfs_server=True), kubespray) is None
    assert applies(When(cluster=["kubespray"]), LOCAL) == "not on a local cluster"
    assert (
        applies(When(autoscaler=["kwok"]), kubespray)
        == "autoscaler: no provider fits this cluster (charts.autoscaler)"
    )
    assert (
        applies(When(autoscaler=["kwok"]), ClusterFacts(kind="local", gpu_nodes=0, autoscaler="kwok")) is None
    )


def test_values_files_merge_like_helm_and_fill_placeholders(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("a: {b: 1, c: [1, 2]}\nserver: ${nfs_server}\nprice: $$5\n")
    (tmp_path / "kubespray.yaml").write_text("a: {c: [3]}\nargs: [--insecure]\n")
    parsed = parse(
        tmp_path,
        rel("x", values=["base.yaml", {"file": "kubespray.yaml", "when": {"cluster": ["kubespray"]}}]),
    )
    release = parsed.releases[0]
    facts = ClusterFacts(kind="kubespray", gpu_nodes=0, nfs_server="10.0.0.5")
    assert render_values(release, tmp_path, facts) == {
        "a": {"b": 1, "c": [3]},  # lists replaced, not concatenated
        "server": "10.0.0.5",
        "price": "$5",
        "args": ["--insecure"],
    }
    assert render_values(release, tmp_path, LOCAL)["a"] == {"b": 1, "c": [1, 2]}
    (tmp_path / "base.yaml").write_text("server: ${nfs_sever}\n")
    with pytest.raises(
        ConfigError, match=r"base.yaml: unknown placeholder \$\{nfs_sever\} \(known: autoscaler"
    ):
        render_values(release, tmp_path, facts)
    assert merge_values({"a": {"b": 1}}, {"a": {"c": 2}, "d": None}) == {"a": {"b": 1, "c": 2}, "d": None}


def test_images_are_found_in_every_kind_of_pod_template() -> None:
    pod_spec = {"containers": [{"image": "a:1"}], "initContainers": [{"image": "b:2"}]}
    objects = [
        {"kind": "Deployment", "spec": {"template": {"spec": pod_spec}}},
        {
            "kind": "CronJob",
            "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"image": "c:3"}]}}}}},
        },
        {"kind": "Pod", "spec": {"containers": [{"image": "d:4"}]}},
        {"kind": "ConfigMap", "data": {"image": "not-an-image"}},
        {"kind": "DaemonSet", "spec": {}},
    ]
    assert images_in(objects) == {"a:1", "b:2", "c:3", "d:4"}


def test_bundles_record_and_check_their_charts(tmp_path: Path) -> None:
    bundle = Bundle(tmp_path / "bundle")
    with pytest.raises(ConfigError, match=r"no bundle here; make one with 'invoke charts\.pull"):
        bundle.load()
    archive = bundle.charts_dir / "a-1.0.0.tgz"
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"chart bytes")
    import hashlib

    digest = hashlib.sha256(b"chart bytes").hexdigest()
    bundle.write([BundledChart("a", "a", "1.0.0", "charts/a-1.0.0.tgz", digest, ("img:1",))])
    assert (bundle.directory / "images.txt").read_text() == "img:1\n"
    parsed = parse(tmp_path, rel("a"), rel("b"))
    assert bundle.chart_path(parsed.releases[0]) == archive
    with pytest.raises(AddonError, match="has no chart for it"):
        bundle.chart_path(parsed.releases[1])
    archive.write_bytes(b"changed")
    with pytest.raises(AddonError, match="the bundle recorded"):
        bundle.chart_path(parsed.releases[0])
    newer = parse(tmp_path, rel("a", version="1.1.0"))
    with pytest.raises(
        AddonError, match=r"the bundle has chart version 1\.0\.0, releases\.yaml pins 1\.1\.0"
    ):
        bundle.chart_path(newer.releases[0])
    (bundle.directory / "bundle.yaml").write_text("releases: [1, 2]\n")
    with pytest.raises(ConfigError, match="not a kubedojo bundle"):
        bundle.load()


def test_the_shipped_releases_file() -> None:
    parsed = load_releases(REPO / "charts" / "releases.yaml")
    names = {r.name for r in parsed.releases}
    assert names == {
        "nfs-storage",
        "metrics-server",
        "minio",
        "argo-workflows",
        "nvidia-device-plugin",
        "cluster-autoscaler",
        "training-operator",
        "katib",
        "jupyterhub",
    }
    order = [r.name for level in levels(parsed.releases) for r in level]
    assert order.index("nfs-storage") < order.index("minio") < order.index("argo-workflows")
    for release in parsed.releases:
        if (
            release.manifests is not None
        ):  # upstream manifests, pinned by their sha256, turned on by a workshop
            assert release.optional and len(release.manifests.sha256) == 64, release.name
            continue
        assert release.repo.startswith("https://"), release.name
        # The published jupyterhub-4.4.0.tgz's digest could not be read here (the archive in
        # ../shared/charts was packaged from the tag): charts.pull records what it downloads.
        assert release.digest.startswith("sha256:") or release.name == "jupyterhub", release.name
        assert release.namespace != "default"  # the device plugin's chart refuses it; none should use it
    # Credentials are generated, never written in values files.
    minio = parsed.get("minio")
    assert {c.secret for c in minio.credentials} == {"minio-root", "minio-argo"}
    for path in (REPO / "charts" / "values").glob("*.yaml"):
        text = path.read_text().lower()
        assert "password:" not in text and "secretkey: " not in text.replace("existingsecretkey", ""), path
    # Where each applies: the device plugin only with GPU nodes, the NFS provisioner only with a server.
    assert parsed.get("nvidia-device-plugin").when.gpu_nodes is True
    assert parsed.get("nfs-storage").when.nfs_server is True
    facts = ClusterFacts(kind="kubespray", gpu_nodes=0, nfs_server="10.0.0.5", cluster_name="lab")
    values = render_values(parsed.get("metrics-server"), parsed.directory, facts)
    assert "--kubelet-insecure-tls" in values["args"]
    local_args = render_values(parsed.get("metrics-server"), parsed.directory, LOCAL)["args"]
    assert "--kubelet-insecure-tls" not in local_args  # the local kubelet's certificate is verified
    nfs = render_values(parsed.get("nfs-storage"), parsed.directory, facts)
    assert nfs["nfs"]["server"] == "10.0.0.5" and nfs["storageClass"]["name"] == "nfs-storage"


def test_config_rejects_an_unknown_autoscaler(tmp_path: Path) -> None:
    from kubedojo.config import parse_config

    with pytest.raises(
        ConfigError,
        match=r"'charts\.autoscaler': Input should be 'auto', 'none', 'kwok', 'clusterapi' or 'externalgrpc' \(got 'gce'\)",
    ):
        parse_config({"charts": {"autoscaler": "gce"}})


def test_config_refuses_the_externalgrpc_autoscaler_in_one_line() -> None:
    """Without a cloud-config its provider crashed at start: refused before anything is installed."""
    from kubedojo.config import parse_config

    with pytest.raises(
        ConfigError, match=r"'charts\.autoscaler': externalgrpc is not supported yet: .* use clusterapi"
    ) as caught:
        parse_config({"charts": {"autoscaler": "externalgrpc"}})
    assert "\n" not in str(caught.value)


def test_built_images_point_the_chart_at_the_registry_where_the_cluster_has_them() -> None:
    from kubedojo.addons.context import image_values

    data = {
        "releases": [
            rel("a", images=[{"at": "image", "build": "prog"}, {"at": "controller.image", "build": "ctl"}])
        ]
    }
    release = parse_releases(data, Path("releases.yaml")).releases[0]
    local = ClusterFacts(
        kind="local",
        gpu_nodes=0,
        registry="127.0.0.1:5000",
        images={"prog": "127.0.0.1:5000/kubedojo/prog:v1-kubedojo1", "ctl": "127.0.0.1:5000/kubedojo/ctl:v2"},
    )
    assert image_values(release, local) == {
        "image": {"repository": "127.0.0.1:5000/kubedojo/prog", "tag": "v1-kubedojo1"},
        "controller": {"image": {"repository": "127.0.0.1:5000/kubedojo/ctl", "tag": "v2"}},
    }
    # A site without kubedojo's builds keeps the chart's own images.
    assert image_values(release, ClusterFacts(kind="kubespray", gpu_nodes=0)) == {}


def test_the_metrics_server_release_runs_kubedojo_s_build_locally_and_leaves_out_simulated_nodes() -> None:
    from kubedojo.local.images import METRICS_SERVER_IMAGE

    parsed = load_releases(REPO / "charts" / "releases.yaml")
    release = parsed.get("metrics-server")
    facts = ClusterFacts(
        kind="local",
        gpu_nodes=0,
        registry="127.0.0.1:5000",
        images={"metrics-server": METRICS_SERVER_IMAGE.ref("127.0.0.1:5000")},
    )
    values = render_values(release, parsed.directory, facts)
    assert values["image"]["repository"] == "127.0.0.1:5000/kubedojo/metrics-server"
    assert values["image"]["tag"] == METRICS_SERVER_IMAGE.tag
    assert "--node-selector=type!=kwok" in values["args"]
    assert "--kubelet-insecure-tls" not in values["args"]


def test_split_images_give_registry_and_repository_apart() -> None:
    """Charts such as argo-workflows join ``registry`` and ``repository`` themselves."""
    from kubedojo.addons.context import image_values

    data = {"releases": [rel("a", images=[{"at": "executor.image", "build": "exe", "style": "split"}])]}
    release = parse_releases(data, Path("releases.yaml")).releases[0]
    facts = ClusterFacts(
        kind="local", gpu_nodes=0, images={"exe": "10.0.0.9:5000/kubedojo/exe:v4.0.10-kubedojo1"}
    )
    assert image_values(release, facts) == {
        "executor": {
            "image": {"registry": "10.0.0.9:5000", "repository": "kubedojo/exe", "tag": "v4.0.10-kubedojo1"}
        }
    }


def test_name_images_give_the_whole_reference_as_name() -> None:
    """Zero-to-JupyterHub's images are ``{name: <registry>/<path>, tag: <tag>}``."""
    from kubedojo.addons.context import image_values

    data = {"releases": [rel("a", images=[{"at": "proxy.chp.image", "build": "chp", "style": "name"}])]}
    release = parse_releases(data, Path("releases.yaml")).releases[0]
    facts = ClusterFacts(
        kind="local", gpu_nodes=0, images={"chp": "10.0.0.9:5000/kubedojo/chp:4.6.2-kubedojo1"}
    )
    assert image_values(release, facts) == {
        "proxy": {"chp": {"image": {"name": "10.0.0.9:5000/kubedojo/chp", "tag": "4.6.2-kubedojo1"}}}
    }


def test_every_real_add_on_runs_kubedojo_s_builds_on_the_local_cluster() -> None:
    from kubedojo.local.images import ADDON_IMAGES

    parsed = load_releases(REPO / "charts" / "releases.yaml")
    built = {image.name for image in ADDON_IMAGES}
    named = {image.build for release in parsed.releases for image in release.images if image.build}
    assert named == built  # every image built is used by a release, and every release's is built


def test_values_are_a_file_or_generated_never_both() -> None:
    for values in ({"file": "a.yaml", "generate": "kwok-node-groups"}, {"when": {"cluster": ["local"]}}):
        with pytest.raises(ConfigError, match="give either file or generate"):
            parse_releases({"releases": [rel("a", values=[values])]}, Path("releases.yaml"))
    with pytest.raises(ConfigError, match="generate"):
        parse_releases({"releases": [rel("a", values=[{"generate": "nonsense"}])]}, Path("releases.yaml"))


def test_an_image_path_must_be_dotted_value_keys() -> None:
    with pytest.raises(ConfigError, match=r"'a b' is not a dotted path of value keys"):
        parse_releases({"releases": [rel("a", images=[{"at": "a b", "build": "x"}])]}, Path("releases.yaml"))


def test_the_nfs_provisioner_leaves_a_cluster_s_own_nfs_storage_class_alone() -> None:
    """The local cluster has its own nfs-storage class: with an NFS server configured the chart's
    class would collide with it (helm refuses to take it over), so the release does not apply."""
    parsed = load_releases(REPO / "charts" / "releases.yaml")
    nfs = parsed.get("nfs-storage")
    local = ClusterFacts(
        kind="local", gpu_nodes=0, nfs_server="10.0.0.5", own_storage_classes=frozenset({"nfs-storage"})
    )
    assert applies(nfs.when, local) == "the cluster has its own StorageClass nfs-storage, which stays"
    site = ClusterFacts(kind="kubespray", gpu_nodes=0, nfs_server="10.0.0.5")
    assert applies(nfs.when, site) is None
