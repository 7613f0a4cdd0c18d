"""A bundle's images for an offline site: which go in, how they are recorded, pushed and named."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubedojo.addons import (
    ClusterFacts,
    export_site_images,
    image_references,
    load_site_images,
    parse_releases,
    push_site_images,
)
from kubedojo.addons.context import image_values
from kubedojo.errors import BuildError, ConfigError


class FakeExporter:
    """Records what it is asked to write; upstream registries are unreachable, as here."""

    def __init__(self, source: Path) -> None:
        self.source = source
        source.write_bytes(b"PK")
        self.written: list[str] = []

    def export_addon_image(self, name: str, layout: Path) -> str:
        self.written.append(name)
        return f"kubedojo/{name}:v1-kubedojo1"

    def mirror_image(self, reference: str, layout: Path, path: str) -> None:
        raise BuildError(f"cannot pull docker://{reference}: no route to host")

    def addon_sources(self, name: str) -> list[tuple[str, Path]]:
        return [(f"{name}-src.zip", self.source)] if name == "agpl" else []


class FakePusher:
    def __init__(self) -> None:
        self.pushed: list[tuple[str, str, bool]] = []

    def push_oci(self, layout: Path, path: str, registry: str, tls_verify: bool = True) -> None:
        self.pushed.append((path, registry, tls_verify))


RELEASES = parse_releases(
    {
        "releases": [
            {
                "name": "one",
                "repo": "https://charts.example/",
                "chart": "c",
                "version": "1.0.0",
                "namespace": "n",
                "images": [
                    {"at": "image", "build": "agpl"},
                    {"at": "helper.image", "build": "tool", "style": "split"},
                ],
            },
            {
                "name": "two",
                "repo": "https://charts.example/",
                "chart": "c",
                "version": "1.0.0",
                "namespace": "n",
                "images": [
                    {"at": "image", "upstream": "nvcr.io/nvidia/plugin:v0.20.0"},
                    {"at": "x", "build": "tool"},
                ],
            },
        ]
    },
    Path("releases.yaml"),
).releases


def test_a_bundle_records_built_images_and_lists_the_upstream_ones_it_could_not_pull(tmp_path: Path) -> None:
    exporter = FakeExporter(tmp_path / "module.zip")
    images = export_site_images(tmp_path / "bundle", RELEASES, exporter)
    assert exporter.written == ["agpl", "tool"]  # each image once, however many releases name it
    assert load_site_images(tmp_path / "bundle") == images
    by_key = {i.key: i for i in images}
    assert by_key["agpl"].path == "kubedojo/agpl:v1-kubedojo1" and by_key["agpl"].included
    plugin = by_key["nvcr.io/nvidia/plugin:v0.20.0"]
    assert plugin.path == "nvidia/plugin:v0.20.0" and not plugin.included
    assert "no route to host" in plugin.note
    assert (tmp_path / "bundle" / "sources" / "agpl-src.zip").read_bytes() == b"PK"


def test_the_charts_name_the_sites_registry_for_every_image_carried_or_not(tmp_path: Path) -> None:
    images = export_site_images(tmp_path / "bundle", RELEASES, FakeExporter(tmp_path / "none"))
    facts = ClusterFacts(kind="kubespray", gpu_nodes=0, images=image_references(images, "reg.site:5000"))
    assert image_values(RELEASES[0], facts) == {
        "image": {"repository": "reg.site:5000/kubedojo/agpl", "tag": "v1-kubedojo1"},
        "helper": {
            "image": {"registry": "reg.site:5000", "repository": "kubedojo/tool", "tag": "v1-kubedojo1"}
        },
    }
    assert image_values(RELEASES[1], facts)["image"] == {
        "repository": "reg.site:5000/nvidia/plugin",
        "tag": "v0.20.0",
    }


def test_pushing_sends_what_the_bundle_holds_and_names_what_it_lacks(tmp_path: Path) -> None:
    export_site_images(tmp_path / "bundle", RELEASES, FakeExporter(tmp_path / "none"))
    pusher = FakePusher()
    results = push_site_images(tmp_path / "bundle", "127.0.0.1:5001", pusher, tls_verify=False)
    assert pusher.pushed == [
        ("kubedojo/agpl:v1-kubedojo1", "127.0.0.1:5001", False),
        ("kubedojo/tool:v1-kubedojo1", "127.0.0.1:5001", False),
    ]
    lacking = [r for i, r in results if not i.included]
    assert lacking == ["not in the bundle: mirror nvcr.io/nvidia/plugin:v0.20.0 by other means"]


def test_a_bundle_without_images_cannot_be_pushed(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"holds no images; make it with 'invoke charts.pull --bundle"):
        push_site_images(tmp_path, "127.0.0.1:5001", FakePusher())
    (tmp_path / "site-images.yaml").write_text("images: [{nonsense: 1}]\n")
    with pytest.raises(ConfigError, match="not a kubedojo image list"):
        load_site_images(tmp_path)


def test_an_image_is_built_or_mirrored_never_both() -> None:
    for image in ({"at": "image"}, {"at": "image", "build": "x", "upstream": "quay.io/a/b:v1"}):
        with pytest.raises(ConfigError, match="give either build"):
            parse_releases(
                {
                    "releases": [
                        {
                            "name": "a",
                            "repo": "https://charts.example/",
                            "chart": "c",
                            "version": "1.0.0",
                            "namespace": "n",
                            "images": [image],
                        }
                    ]
                },
                Path("releases.yaml"),
            )
    with pytest.raises(ConfigError, match="not an image reference with a registry and a tag"):
        parse_releases(
            {
                "releases": [
                    {
                        "name": "a",
                        "chart": "c",
                        "version": "1.0.0",
                        "namespace": "n",
                        "images": [{"at": "i", "upstream": "plugin"}],
                    }
                ]
            },
            Path("releases.yaml"),
        )
