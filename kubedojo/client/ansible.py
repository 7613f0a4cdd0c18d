"""Ansible, through ansible-runner. Only this module imports ``ansible_runner``.

A playbook runs in ansible-runner's worker thread; its events reach ``on_event`` as they happen (on
that thread). The calling thread waits for the run to end and stays interruptible: Ctrl-C (or the
``cancel`` event) asks ansible-runner to stop, which kills ansible-playbook's process group, and the
outcome says ``canceled``. A run longer than its timeout ends with ``timeout``. Every run keeps its
artifacts (stdout, every event, status, rc) in its own directory.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from ..errors import ProvisionError, ToolMissingError
from .commands import Runner

__all__ = ["AnsibleRunner", "PlaybookOutcome", "PlaybookRequest", "ansible_core_version", "close_ssh_masters"]


EventHandler = Callable[[Mapping[str, Any]], None]
_CANCEL_GRACE = 60.0
"""How long a cancelled run may take to stop (ansible-runner kills the process group)."""


def ansible_core_version() -> str:
    """The installed ansible-core's version, or :class:`ToolMissingError`."""
    try:
        return metadata.version("ansible-core")
    except metadata.PackageNotFoundError:
        raise ToolMissingError(
            "ansible-core", "pip install -e . installs the version kubespray needs (or run ./scripts/setup)"
        ) from None


def close_ssh_masters(directory: Path, runner: Runner | None = None) -> int:
    """Ask every SSH connection master with a socket in ``directory`` to exit (Ansible's
    ControlPersist keeps them for minutes otherwise); how many there were."""
    runner = runner or Runner()
    closed = 0
    for socket_path in directory.glob("*") if directory.is_dir() else ():
        if socket_path.is_socket():
            runner.run(
                ["ssh", "-O", "exit", "-o", f"ControlPath={socket_path}", "kubedojo"], timeout=10, check=False
            )
            closed += 1
    return closed


@dataclass(frozen=True)
class PlaybookRequest:
    """One ansible-playbook run."""

    project_dir: Path
    """The playbook tree; ansible-playbook runs in it, so its ansible.cfg applies."""
    playbook: str
    """Relative to ``project_dir``."""
    inventory: Path
    artifacts_dir: Path
    """Runs are kept under it, one directory each (named ``ident``)."""
    ident: str
    extravars: Mapping[str, Any] = field(default_factory=dict)
    limit: str = ""
    envvars: Mapping[str, str] = field(default_factory=dict)
    become: bool = True
    forks: int = 10
    timeout: float = 3600.0
    private_tasks: tuple[str, ...] = ()
    """Tasks whose results carry secrets: the handler sees them, the artifacts do not keep them."""
    skip_tags: tuple[str, ...] = ()

    @property
    def artifact_dir(self) -> Path:
        return self.artifacts_dir / self.ident


@dataclass(frozen=True)
class PlaybookOutcome:
    status: str
    """``successful``, ``failed``, ``timeout`` or ``canceled``."""
    rc: int
    artifact_dir: Path
    interrupted: bool = False
    """The run was cancelled by Ctrl-C (rather than by the caller's ``cancel`` event)."""


class AnsibleRunner:
    """Runs playbooks. Tests of pure logic can pass the core a stand-in with the same ``run``."""

    def run(
        self,
        request: PlaybookRequest,
        on_event: EventHandler,
        cancel: threading.Event | None = None,
    ) -> PlaybookOutcome:
        import ansible_runner

        stop = cancel or threading.Event()
        interrupted = False
        request.artifacts_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        private = request.artifacts_dir / ".runner"
        private.mkdir(exist_ok=True)

        def handle(event: dict[str, Any]) -> bool:
            on_event(event)
            task = (event.get("event_data") or {}).get("task")
            return task not in request.private_tasks  # False: not written to the artifacts

        runner = ansible_runner.interface.init_runner(
            private_data_dir=str(private),
            artifact_dir=str(request.artifacts_dir),
            ident=request.ident,
            project_dir=str(request.project_dir),
            playbook=request.playbook,
            inventory=str(request.inventory),
            extravars=dict(request.extravars),
            limit=request.limit or None,
            skip_tags=",".join(request.skip_tags) or None,
            forks=request.forks,
            cmdline="--become" if request.become else None,
            envvars=self._environment(request),
            fact_cache_type="kubedojo",  # not 'jsonfile': the caller's envvars choose the cache
            suppress_env_files=True,
            quiet=True,
            timeout=int(max(1, request.timeout)),
            event_handler=handle,
            cancel_callback=stop.is_set,
        )
        # Wait on an Event, not Thread.join: a join that Ctrl-C interrupts can leave the thread
        # looking finished while it still runs (CPython 3.11).
        done = threading.Event()
        failures: list[BaseException] = []

        def work() -> None:
            try:
                runner.run()
            except Exception as exc:  # reported below, in the caller's thread
                failures.append(exc)
            finally:
                done.set()

        threading.Thread(target=work, name=f"ansible-{request.ident}", daemon=True).start()
        try:
            while not done.wait(0.25):
                pass
        except KeyboardInterrupt:
            interrupted = True
            stop.set()  # ansible-runner kills ansible-playbook's process group
            done.wait(_CANCEL_GRACE)
        if failures:
            raise ProvisionError(f"ansible-runner failed: {failures[0]}") from None
        status = str(runner.status or "failed")
        rc = int(runner.rc if runner.rc is not None else -1)
        return PlaybookOutcome(status, rc, request.artifact_dir, interrupted)

    @staticmethod
    def _environment(request: PlaybookRequest) -> dict[str, str]:
        # ansible-playbook must come from this Python's environment (the pinned ansible-core).
        bin_dir = str(Path(sys.executable).parent)
        path = os.environ.get("PATH", "")
        return {
            "PATH": f"{bin_dir}:{path}" if bin_dir not in path.split(":") else path,
            "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
            "ANSIBLE_NOCOLOR": "1",
            **request.envvars,
        }
