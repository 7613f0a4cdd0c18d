"""The JupyterHub add-on's images as recipes: what their pinned inputs hold, and how the proxy's image is
built from the npm registry (the commands, with a recording runner: no npm, no buildah)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from kubedojo.local.images import (
    CHP_IMAGE,
    JUPYTERHUB_HUB_IMAGE,
    JUPYTERHUB_SINGLEUSER_IMAGE,
    NODE_BASE,
    ImageBuilder,
)
from kubedojo.paths import CacheDirs
from kubedojo.versions import CHP_VERSION, JUPYTERHUB_VERSION

from .test_image_builds import RecordingRunner

ASSETS = resources.files("kubedojo.local").joinpath("assets")


def _pins(name: str) -> dict[str, str]:
    text = ASSETS.joinpath(name).read_text()
    pins = [line for line in text.splitlines() if line and not line.startswith(("#", " "))]
    hashes = [line for line in text.splitlines() if line.strip().startswith("--hash=sha256:")]
    assert len(pins) == len(hashes) and all(" \\" in p and "==" in p for p in pins), name
    return dict(p.removesuffix(" \\").split("==") for p in pins)


@pytest.mark.parametrize("image", [JUPYTERHUB_HUB_IMAGE, JUPYTERHUB_SINGLEUSER_IMAGE])
def test_the_jupyterhub_images_pin_every_wheel_by_its_hash(image: Any) -> None:
    pins = _pins(image.requirements)
    assert pins["jupyterhub"] == JUPYTERHUB_VERSION and "pip" in pins


def test_the_hub_has_the_spawner_and_no_package_its_debian_base_gives() -> None:
    pins = _pins(JUPYTERHUB_HUB_IMAGE.requirements)
    assert pins["jupyterhub-kubespawner"] == "7.0.0" and "jupyterhub-idle-culler" in pins
    assert not {"pyyaml", "pycurl", "oauthenticator"} & set(pins)
    assert JUPYTERHUB_HUB_IMAGE.base is not None
    assert {"python3-pycurl", "python3-yaml", "tini"} <= set(JUPYTERHUB_HUB_IMAGE.base.packages)


def test_the_notebook_server_leaves_the_lab_bases_debian_packages_alone() -> None:
    # pip installs with --no-deps and would delete a Debian package's files to put another version in.
    pins = _pins(JUPYTERHUB_SINGLEUSER_IMAGE.requirements)
    assert "jupyterlab" in pins
    assert not {"numpy", "scipy", "scikit-learn", "joblib", "pyyaml", "requests", "certifi"} & set(pins)


def test_the_proxys_lock_pins_every_package_by_sha512_with_no_install_script() -> None:
    package = json.loads(ASSETS.joinpath(CHP_IMAGE.package).read_text())
    lock = json.loads(ASSETS.joinpath(CHP_IMAGE.lock).read_text())
    assert package["dependencies"] == {"configurable-http-proxy": CHP_VERSION}
    entries = {path: entry for path, entry in lock["packages"].items() if path}
    assert entries["node_modules/configurable-http-proxy"]["version"] == CHP_VERSION
    for path, entry in entries.items():
        assert entry["integrity"].startswith("sha512-"), path
        assert entry["resolved"].startswith("https://registry.npmjs.org/"), path
        assert not entry.get("hasInstallScript") and not entry.get("dev"), path


class NpmRunner(RecordingRunner):
    """Also answers npm ci, as npm would: the locked tree under the prefix."""

    def run(self, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        if argv[0] == "npm":
            self.calls.append(list(argv))
            tree = Path(argv[argv.index("--prefix") + 1])
            assert (tree / "package-lock.json").is_file()
            (tree / "node_modules" / ".bin").mkdir(parents=True)
            return subprocess.CompletedProcess(list(argv), 0, "", "")
        return super().run(argv, **kwargs)


def test_the_proxy_image_is_npm_ci_of_the_lock_without_scripts_linked_and_run_once(tmp_path: Path) -> None:
    runner = NpmRunner()
    builder = ImageBuilder(CacheDirs(tmp_path), runner, mirror="http://deb.example")  # type: ignore[arg-type]
    builder.ensure(NODE_BASE)
    builder.ensure(CHP_IMAGE)
    (npm,) = [call for call in runner.calls if call[0] == "npm"]
    assert npm[:2] == ["npm", "ci"] and {"--omit=dev", "--ignore-scripts"} <= set(npm)
    after = runner.calls[runner.calls.index(npm) :]  # the proxy's image, on the built base
    buildah = [call[7:] for call in after if call[0] == "buildah"]
    copy = next(c for c in buildah if c[0] == "copy")
    assert copy[-1] == "/srv/configurable-http-proxy"
    runs = [c[c.index("--") + 1 :] for c in buildah if c[0] == "run"]
    assert runs == [
        [
            "ln",
            "-s",
            "/srv/configurable-http-proxy/node_modules/.bin/configurable-http-proxy",
            "/usr/local/bin/configurable-http-proxy",
        ],
        ["configurable-http-proxy", "--version"],
    ]
    assert all("--network=none" in c for c in buildah if c[0] == "run")
    config = " ".join(next(c for c in buildah if c[0] == "config"))
    assert '--entrypoint=["configurable-http-proxy"]' in config and "--user 65534:65534" in config
    assert CHP_IMAGE.local_ref in runner.committed
