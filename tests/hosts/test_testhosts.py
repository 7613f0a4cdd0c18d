"""The test hosts themselves: a session that died without stopping its hosts (the test process
killed, the machine's sandbox restarted) must not break the next one, nor leave anything behind."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from kubedojo.paths import CacheDirs

from .testhosts import HostSpec, TestHosts, TestNetwork, runc_containers

REPO = Path(__file__).resolve().parents[2]
# A network and a host name of their own, so the package's hosts keep running meanwhile.
NETWORK = ("kdhosts1", "10.199.1.0/24")
SPEC = HostSpec("orphan")


def test_hosts_start_over_what_a_killed_session_left(host_cache: CacheDirs, tmp_path: Path) -> None:
    first = tmp_path / "testhosts-first"
    killed = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import os, signal
                from pathlib import Path
                from kubedojo.paths import CacheDirs
                from tests.hosts.testhosts import HostSpec, TestHosts, TestNetwork
                hosts = TestHosts(
                    CacheDirs(Path({str(host_cache.root)!r})),
                    Path({str(first)!r}),
                    [HostSpec({SPEC.name!r})],
                    TestNetwork(*{NETWORK!r}),
                )
                hosts.start()
                os.kill(os.getpid(), signal.SIGKILL)  # no stop(): the container keeps running
                """
            ),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr
    assert "kdh-orphan" in runc_containers()

    hosts = TestHosts(host_cache, tmp_path / "testhosts-second", [SPEC], TestNetwork(*NETWORK))
    with hosts.running():
        assert "container kdh-orphan" in hosts.cleared
        assert f"mount {first / 'orphan' / 'merged'}" in hosts.cleared
        assert hosts.hosts["orphan"].sh("hostname").stdout.strip() == "orphan"
    assert hosts.leftovers() == []
    assert str(first / "orphan" / "merged") not in Path("/proc/mounts").read_text()
