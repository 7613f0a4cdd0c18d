"""The on-prem commands as a user meets them: `invoke cluster.* -i <site>` against the test hosts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, STANDIN, THREE


def _workshop(tmp_path: Path) -> Path:
    path = tmp_path / "workshop.yaml"
    path.write_text(yaml.safe_dump({"onprem": {"kubespray_checkout": str(STANDIN)}}))
    return path


def invoke(tmp_path: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBEDOJO_WORKSHOP": str(_workshop(tmp_path))}
    return subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("kubedojo: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_dry_run_validates_and_runs_preflight_only(make_site, tmp_path, test_hosts) -> None:
    site = make_site(THREE)
    result = invoke(tmp_path, "cluster.up", "-i", str(site), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "Preflight" in result.stdout and "Dry run" in result.stdout
    assert sorted(p.name.split("-")[-1] for p in (site / "runs").glob("2*")) == ["preflight"]
    assert not any((test_hosts.hosts[n].root / "var/lib/kubespray-standin").exists() for n in THREE)


def test_a_failed_preflight_prints_the_table_and_one_error_line(make_site, tmp_path) -> None:
    site = make_site({**THREE, "swapper": {}})
    result = invoke(tmp_path, "cluster.up", "-i", str(site))
    assert result.returncode == 1
    line = _one_error_line(result)
    assert line.startswith("kubedojo: preflight failed: swapper: swap: swap is on (512 MB)")
    assert "swapper" in result.stdout and "swap is on" in result.stdout
    assert not any(p.name.endswith("-up") for p in (site / "runs").iterdir())


def test_up_with_json_then_status_and_kubeconfig(make_site, tmp_path, test_hosts) -> None:
    site = make_site(THREE)
    result = invoke(tmp_path, "cluster.up", "-i", str(site), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["preflight"]["ok"] is True
    assert [r["playbook"] for r in data["runs"]] == ["nfs-client.yml", "cluster.yml"]
    assert data["runs"][-1]["hosts"]["cp1"]["failed"] == 0
    assert data["kubeconfig"] == str(site / "admin.kubeconfig")

    path = invoke(tmp_path, "cluster.kubeconfig", "-i", str(site))
    assert path.stdout.strip() == str(site / "admin.kubeconfig")
    # The stand-in wrote a kubeconfig, but no API server runs on the test hosts: status says so.
    status = invoke(tmp_path, "cluster.status", "-i", str(site), "--json", timeout=120)
    assert status.returncode == 1
    state = json.loads(status.stdout)
    assert state["healthy"] is False
    assert state["api_url"] == f"https://{test_hosts.hosts['cp1'].address}:6443"
    api = state["components"][0]
    assert api["name"] == "kube-apiserver" and not api["healthy"]
    assert api["log"] == f"https://{test_hosts.hosts['cp1'].address}:6443: [Errno 111] Connection refused"


def test_ctrl_c_cancels_the_run_cleanly(make_site, tmp_path, test_hosts) -> None:
    test_hosts.hosts["node1"].sh("mkdir -p /etc/kubespray-standin && echo 300 > /etc/kubespray-standin/sleep")
    site = make_site(THREE)
    env = {**os.environ, "KUBEDOJO_WORKSHOP": str(_workshop(tmp_path))}
    process = subprocess.Popen(
        # faulthandler: a run that does not stop is made to show where each thread is (below)
        [
            sys.executable,
            "-X",
            "faulthandler",
            "-m",
            "invoke",
            "cluster.up",
            "-i",
            str(site),
            "--skip-preflight",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # As a terminal's foreground command has it: SIGINT neither ignored nor blocked, whatever this
        # test process inherited (a command started in the background by a shell without job
        # control ignores SIGINT, and its children inherit that).
        preexec_fn=_default_sigint,
    )
    deadline = time.monotonic() + 120
    sleeping = False
    while not sleeping and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
        for events in (site / "runs").glob("*-up/job_events"):
            sleeping = any("Download the binaries" in _text_if_there(p) for p in events.glob("*.json"))
    assert sleeping, "the run never reached the slow task"
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
    try:
        _, err = process.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the run did not stop within 90 s of Ctrl-C:\n{_where_it_hangs(process)}")
    assert process.returncode == 130, err
    lines = [ln for ln in err.splitlines() if ln.startswith("kubedojo: ")]
    assert len(lines) == 1 and "was cancelled" in lines[0], err
    assert "Traceback" not in err
    run = sorted((site / "runs").glob("*-up"))[-1]
    assert (run / "status").read_text().strip() == "canceled"


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def _where_it_hangs(process: subprocess.Popen[str]) -> str:
    """What a run that does not stop is doing: its processes, and each of its Python threads' stack
    (faulthandler prints them on SIGABRT). A CI run once failed here, never reproduced by hand."""
    listing = subprocess.run(
        ["ps", "-e", "-o", "pid,ppid,pgid,sid,stat,etime,args", "--forest"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    tree = "\n".join(
        line for line in listing[1:] if any(w in line for w in ("invoke", "ansible", "ssh", "sleep"))
    )
    try:  # which signals it ignores, blocks and catches (bit n-1 is signal n; SIGINT is 2)
        masks = [
            ln for ln in Path(f"/proc/{process.pid}/status").read_text().splitlines() if ln.startswith("Sig")
        ]
    except OSError:
        masks = []
    tree = "\n".join([*masks, tree])
    os.kill(process.pid, signal.SIGABRT)
    try:
        _, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return f"{tree}\n{err}"


def _text_if_there(path: Path) -> str:
    """A job event file's text; empty if ansible-runner renamed it (``-partial.json``) meanwhile."""
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
