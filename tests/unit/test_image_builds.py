"""Building an image kubedojo makes, as the commands it runs (a recording runner, no buildah)."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kubedojo.errors import CommandError
from kubedojo.local.images import DebianImage, ImageBuilder
from kubedojo.paths import CacheDirs

RECIPE = DebianImage("tools", "bookworm-1", "a Debian image for the test", packages=("iproute2",))


class RecordingRunner:
    """Answers buildah and debootstrap as they would; an image exists once it was committed."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.committed: set[str] = set()
        self.lock = threading.Lock()

    def run(self, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        argv = list(argv)
        with self.lock:
            self.calls.append(argv)
        out = ""
        if argv[0] == "debootstrap":
            time.sleep(0.2)  # a build takes a while: a second process arrives meanwhile
            (Path(argv[-2]) / "etc").mkdir(parents=True)
        elif argv[0] == "buildah":
            verb = argv[7]
            if verb == "inspect" and argv[-1] not in self.committed:
                raise CommandError(argv, 125, "image not known")
            if verb == "from":
                out = "container-1\n"
            if verb == "commit":
                self.committed.add(argv[-1])
        return subprocess.CompletedProcess(argv, 0, out, "")


def test_the_buildah_storage_uses_the_overlay_driver_and_drops_the_old_vfs_one(tmp_path: Path) -> None:
    cache = CacheDirs(tmp_path)
    (cache.buildah_vfs / "root" / "vfs").mkdir(parents=True)
    runner = RecordingRunner()
    builder = ImageBuilder(cache, runner, mirror="http://deb.example")  # type: ignore[arg-type]
    assert not cache.buildah_vfs.exists()
    builder.exists(RECIPE)
    assert runner.calls[0][:8] == [
        "buildah",
        "--root",
        str(cache.buildah / "root"),
        "--runroot",
        str(cache.buildah / "run"),
        "--storage-driver",
        "overlay",
        "inspect",
    ]


def test_two_builds_of_one_image_at_once_make_it_once(tmp_path: Path) -> None:
    """scripts/test builds the Debian-based images beside cluster.build, which may need the same base:
    the second build waits for the first and finds the image made."""
    runner = RecordingRunner()
    cache = CacheDirs(tmp_path)
    builders = [ImageBuilder(cache, runner, mirror="http://deb.example") for _ in range(2)]  # type: ignore[arg-type]
    results: list[bool] = []
    threads = [threading.Thread(target=lambda b=b: results.append(b.ensure(RECIPE))) for b in builders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False, True]
    assert sum(1 for call in runner.calls if call[0] == "debootstrap") == 1
    assert runner.committed == {RECIPE.local_ref}


def test_the_lab_base_is_configured_as_labs_expect(tmp_path: Path) -> None:
    from kubedojo.local.images import BASE

    runner = RecordingRunner()
    ImageBuilder(CacheDirs(tmp_path), runner, mirror="http://deb.example").ensure(BASE)  # type: ignore[arg-type]
    config = next(call for call in runner.calls if call[0] == "buildah" and call[7] == "config")
    joined = " ".join(config)
    assert '--cmd ["python3"]' in joined and "--workingdir /workspace" in joined
    assert "--env PYTHONUNBUFFERED=1" in joined and "--env PATH=/usr/local/sbin:" in joined
    debootstrap = next(call for call in runner.calls if call[0] == "chroot" and "install" in call)
    assert "python3-sklearn" in debootstrap


def test_two_pushes_of_one_image_at_once_do_not_overlap(tmp_path: Path) -> None:
    # buildah's two concurrent pushes of one reference fail ("Storing signatures"): two participants'
    # lab.run at once push the same lab image (tests/cluster/test_lab_katib.py met it in CI).
    class PushRunner(RecordingRunner):
        pushing = False
        overlapped = False

        def run(self, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
            if argv[0] == "buildah" and argv[7] == "push":
                if self.pushing:
                    self.overlapped = True
                self.pushing = True
                time.sleep(0.2)
                self.pushing = False
            return super().run(argv, **kwargs)

    runner = PushRunner()
    builder = ImageBuilder(CacheDirs(tmp_path), runner, mirror="http://deb.example")  # type: ignore[arg-type]
    threads = [threading.Thread(target=builder.push, args=(RECIPE, "127.0.0.1:1", True)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for call in runner.calls if call[0] == "buildah" and call[7] == "push") == 2
    assert not runner.overlapped
