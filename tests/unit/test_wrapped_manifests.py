"""Releases of upstream manifests (:mod:`kubedojo.addons.wrapped`): the file is checked, the CRDs set
apart, kubedojo's changes made, and the chart written around the rest renders it unchanged but for
the images and patches its values give (rendered by the real helm)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubedojo.addons import ClusterFacts, helm_binary
from kubedojo.addons.context import release_applies, render_values
from kubedojo.addons.environment import _checked_optional
from kubedojo.addons.releases import parse_releases
from kubedojo.addons.wrapped import manifests_path, read_manifests, wrap
from kubedojo.client.helm import ChartRef, HelmClient
from kubedojo.config import parse_config
from kubedojo.errors import ConfigError, ToolMissingError

UPSTREAM = [
    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kubeflow"}},
    {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.org"},
        "spec": {"group": "example.org", "names": {"kind": "Widget", "plural": "widgets"}},
    },
    {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "operator", "namespace": "kubeflow"},
        "spec": {
            "replicas": 1,
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "manager",
                            "image": "ghcr.io/example/operator:v1-abc",
                            "command": ["/manager"],
                        }
                    ]
                }
            },
        },
    },
    {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "hooks"},
        "webhooks": [{"name": "first.example.org"}, {"name": "pods.example.org", "failurePolicy": "Fail"}],
    },
    {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "kubeflow"},
        # Text that looks like template syntax stays as it is.
        "data": {"template": "{{.Values.nothing}} {{ $x := 1 }}", "port": "8080"},
    },
]
IMAGE = "ghcr.io/example/operator:v1-abc"
INIT = "docker.io/library/alpine:3.10"


def _upstream(tmp_path: Path, objects: list[dict[str, Any]] = UPSTREAM) -> tuple[Path, str]:
    path = tmp_path / "operator-v1.0.0.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _releases(tmp_path: Path, file: str, sha256: str, **extra: Any) -> Any:
    entry: dict[str, Any] = {
        "name": "operator",
        "chart": "example-operator",
        "version": "v1.0.0",
        "namespace": "kubeflow",
        "optional": True,
        "manifests": {
            "file": file,
            "sha256": sha256,
            "render": "kubectl kustomize example",
            "drop": ["Namespace/kubeflow"],
            "args": {"Deployment/operator/manager": [f"--init-image={INIT}"]},
            "set": {
                "MutatingWebhookConfiguration/hooks": {
                    "webhooks[name=pods.example.org].failurePolicy": "Ignore"
                }
            },
        },
        "images": [{"replaces": IMAGE, "build": "operator"}, {"replaces": INIT, "build": "init"}],
        **extra,
    }
    return parse_releases({"releases": [entry]}, tmp_path / "releases.yaml")


def test_the_crds_are_set_apart_and_kubedojos_changes_made(tmp_path: Path) -> None:
    path, sha256 = _upstream(tmp_path)
    release = _releases(tmp_path, str(path), sha256).get("operator")
    wrapped = wrap(release, read_manifests(release.manifests, path), tmp_path / "wrapped")
    assert [c["metadata"]["name"] for c in wrapped.crds] == ["widgets.example.org"]
    kept = yaml.safe_load((wrapped.chart / "files" / "objects.yaml").read_text())
    assert [o["kind"] for o in kept] == ["Deployment", "MutatingWebhookConfiguration", "ConfigMap"], (
        "Namespace dropped, CRD apart"
    )
    first, pods = kept[1]["webhooks"]
    assert pods["failurePolicy"] == "Ignore" and "failurePolicy" not in first, "only the element named"
    (manager,) = kept[0]["spec"]["template"]["spec"]["containers"]
    assert manager["args"] == [f"--init-image={INIT}"]
    chart = yaml.safe_load((wrapped.chart / "Chart.yaml").read_text())
    assert (chart["name"], chart["version"], chart["appVersion"]) == ("example-operator", "1.0.0", "v1.0.0")
    again = wrap(release, read_manifests(release.manifests, path), tmp_path / "wrapped")
    assert again.digest == wrapped.digest and again.chart == wrapped.chart


def test_a_change_to_kubedojos_changes_gives_another_digest(tmp_path: Path) -> None:
    path, sha256 = _upstream(tmp_path)
    release = _releases(tmp_path, str(path), sha256).get("operator")
    first = wrap(release, read_manifests(release.manifests, path), tmp_path / "wrapped")
    other = release.model_copy(update={"manifests": release.manifests.model_copy(update={"args": {}})})
    second = wrap(other, read_manifests(other.manifests, path), tmp_path / "wrapped")
    assert first.digest != second.digest and first.chart != second.chart


def test_a_missing_file_names_it_and_how_to_make_it(tmp_path: Path) -> None:
    release = _releases(tmp_path, "operator-v1.0.0.yaml", "0" * 64).get("operator")
    path = manifests_path(release.manifests, tmp_path / "sources")
    assert path == tmp_path / "sources" / "operator-v1.0.0.yaml"
    with pytest.raises(ConfigError, match=r"operator-v1\.0\.0\.yaml.*kubectl kustomize example.*sources_dir"):
        read_manifests(release.manifests, path)


def test_another_file_than_the_pinned_one_is_refused(tmp_path: Path) -> None:
    path, _ = _upstream(tmp_path)
    release = _releases(tmp_path, str(path), "1" * 64).get("operator")
    with pytest.raises(ConfigError, match=r"sha256 [0-9a-f]{64}, not the pinned 1{64}"):
        read_manifests(release.manifests, path)


def test_a_document_that_is_no_object_is_refused_by_number(tmp_path: Path) -> None:
    path, sha256 = _upstream(tmp_path, [*UPSTREAM, {"kind": "ConfigMap"}])
    release = _releases(tmp_path, str(path), sha256).get("operator")
    with pytest.raises(ConfigError, match="document 6 is not a Kubernetes object"):
        read_manifests(release.manifests, path)


def test_a_value_set_where_the_path_reaches_nothing_is_refused(tmp_path: Path) -> None:
    path, sha256 = _upstream(tmp_path)
    release = _releases(tmp_path, str(path), sha256).get("operator")
    wrong = {
        "MutatingWebhookConfiguration/hooks": {"webhooks[name=nodes.example.org].failurePolicy": "Ignore"}
    }
    other = release.model_copy(update={"manifests": release.manifests.model_copy(update={"set": wrong})})
    with pytest.raises(
        ConfigError, match=r"MutatingWebhookConfiguration/hooks has nothing at webhooks\[name=nodes"
    ):
        wrap(other, read_manifests(other.manifests, path), tmp_path / "wrapped")


def test_a_change_naming_an_object_that_is_not_there_is_refused(tmp_path: Path) -> None:
    path, sha256 = _upstream(tmp_path)
    release = _releases(tmp_path, str(path), sha256).get("operator")
    wrong = release.model_copy(
        update={"manifests": release.manifests.model_copy(update={"drop": ["Namespace/kubeflw"]})}
    )
    with pytest.raises(ConfigError, match="have no Namespace/kubeflw"):
        wrap(wrong, read_manifests(wrong.manifests, path), tmp_path / "wrapped")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"repo": "https://example.org/charts"}, "either a chart repo or manifests"),
        ({"images": [{"at": "image", "build": "operator"}]}, "give replaces"),
    ],
)
def test_a_release_of_manifests_is_checked(tmp_path: Path, extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _releases(tmp_path, "x.yaml", "0" * 64, **extra)


def test_an_optional_release_applies_only_when_the_workshop_turns_it_on(tmp_path: Path) -> None:
    release = _releases(tmp_path, "x.yaml", "0" * 64).get("operator")
    off = ClusterFacts(kind="local", gpu_nodes=0)
    assert "charts.optional" in (release_applies(release, off) or "")
    on = ClusterFacts(kind="local", gpu_nodes=0, optional=frozenset({"operator"}))
    assert release_applies(release, on) is None


def test_charts_optional_names_only_optional_releases(tmp_path: Path) -> None:
    releases = _releases(tmp_path, "x.yaml", "0" * 64)
    _checked_optional(parse_config({"charts": {"optional": ["operator"]}}), releases)
    with pytest.raises(ConfigError, match=r"charts.optional: 'katib' is not an optional release"):
        _checked_optional(parse_config({"charts": {"optional": ["katib"]}}), releases)


def test_the_chart_renders_the_objects_with_the_images_and_patches_of_its_values(tmp_path: Path) -> None:
    path, sha256 = _upstream(tmp_path)
    release = _releases(tmp_path, str(path), sha256).get("operator")
    wrapped = wrap(release, read_manifests(release.manifests, path), tmp_path / "wrapped")
    try:
        binary = helm_binary(parse_config({}))
    except ToolMissingError as exc:
        pytest.skip(str(exc))
    helm = HelmClient(binary, None, tmp_path / "helm")
    facts = ClusterFacts(
        kind="local",
        gpu_nodes=0,
        images={"operator": "127.0.0.1:5000/kubedojo/operator:v1", "init": "127.0.0.1:5000/kubedojo/init:1"},
    )
    values = render_values(release, tmp_path, facts)
    values["patches"] = {"Deployment/operator": {"spec": {"replicas": 2}}}

    async def go() -> list[dict[str, Any]]:
        chart = await helm.chart(ChartRef(release.chart, release.version, path=str(wrapped.chart)))
        return await helm.template(chart, release.name, values, release.namespace)

    by_kind = {o["kind"]: o for o in asyncio.run(go())}
    assert set(by_kind) == {"Deployment", "ConfigMap", "MutatingWebhookConfiguration"}
    deployment, config_map = by_kind["Deployment"], by_kind["ConfigMap"]
    assert deployment["spec"]["replicas"] == 2
    (manager,) = deployment["spec"]["template"]["spec"]["containers"]
    assert manager["image"] == "127.0.0.1:5000/kubedojo/operator:v1"
    assert manager["args"] == ["--init-image=127.0.0.1:5000/kubedojo/init:1"]
    assert config_map["data"] == UPSTREAM[4]["data"], "upstream's text is data, not a template"


def test_a_bundle_carries_the_upstream_file_and_installs_from_it(tmp_path: Path) -> None:
    """charts.pull copies the checked file into the bundle (its images listed, the build kubedojo
    puts in place of upstream's included); installing from the bundle wraps the bundle's copy, and a
    copy altered since is refused."""
    from kubedojo.addons import Addons
    from kubedojo.addons.bundle import Bundle
    from kubedojo.errors import AddonError

    path, sha256 = _upstream(tmp_path)
    releases = _releases(tmp_path, path.name, sha256, extra_images=[INIT])
    try:
        binary = helm_binary(parse_config({}))
    except ToolMissingError as exc:
        pytest.skip(str(exc))
    facts = ClusterFacts(
        kind="local",
        gpu_nodes=0,
        optional=frozenset({"operator"}),
        images={"operator": "127.0.0.1:5000/kubedojo/operator:v1", "init": "127.0.0.1:5000/kubedojo/init:1"},
    )
    helm = HelmClient(binary, None, tmp_path / "helm")
    bundle = Bundle(tmp_path / "bundle")
    (entry,) = Addons(releases, helm, None, facts, sources=tmp_path).pull(bundle, ["operator"])
    assert entry.file == f"manifests/{path.name}" and entry.sha256 == sha256
    assert set(entry.images) == {"127.0.0.1:5000/kubedojo/operator:v1", INIT}

    path.unlink()  # installing from the bundle needs no sources directory
    release = releases.get("operator")
    from_bundle = Addons(releases, helm, None, facts, bundle=bundle)
    chart = Path(from_bundle.chart_ref(release).path or "")
    assert (chart / "Chart.yaml").is_file() and len(from_bundle.wrapped(release).crds) == 1

    copy = tmp_path / "bundle" / entry.file
    copy.write_text(copy.read_text() + "# changed\n")
    with pytest.raises(AddonError, match="the bundle recorded"):
        Addons(releases, helm, None, facts, bundle=bundle).chart_ref(release)


def test_a_sites_bundle_leaves_out_the_optional_add_ons_the_workshop_does_not_turn_on() -> None:
    from kubedojo.addons.environment import optional_left_out

    shipped = str(Path(__file__).resolve().parents[2] / "charts" / "releases.yaml")
    assert optional_left_out(parse_config({"charts": {"releases": shipped}})) == {
        "training-operator",
        "katib",
        "jupyterhub",
    }
    turned_on = {"charts": {"releases": shipped, "optional": ["training-operator"]}}
    assert optional_left_out(parse_config(turned_on)) == {"katib", "jupyterhub"}
    every = {"charts": {"releases": shipped, "optional": ["training-operator", "katib", "jupyterhub"]}}
    assert optional_left_out(parse_config(every)) == frozenset()
