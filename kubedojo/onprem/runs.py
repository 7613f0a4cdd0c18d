"""One playbook run against a site: progress while it runs, a report when it ends, and one error
line naming the host, the task and the message when it fails.

Each run keeps ansible-runner's artifacts (stdout, every event, status, rc) in
``<site>/runs/<time>-<operation>/``, plus kubedojo's ``summary.json`` (the per-host recap and the
failures), so a failed run can be read after the fact.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from ..client.ansible import AnsibleRunner, PlaybookOutcome, PlaybookRequest, close_ssh_masters
from ..errors import Cancelled, ProvisionError, WaitTimeout
from .events import HostTally, PlaybookProgress, TaskFailure

__all__ = ["NullWatcher", "PlaybookWatcher", "RunReport", "SiteRunner"]


class PlaybookWatcher(Protocol):
    """Shows a run while it goes on (the task layer draws it with rich)."""

    def watch(self, title: str, progress: PlaybookProgress) -> contextlib.AbstractContextManager[None]: ...


class NullWatcher:
    @contextlib.contextmanager
    def watch(self, title: str, progress: PlaybookProgress) -> Iterator[None]:
        yield


@dataclass(frozen=True)
class RunReport:
    operation: str
    playbook: str
    status: str
    seconds: float
    tasks: int
    hosts: Mapping[str, HostTally]
    failures: tuple[TaskFailure, ...]
    artifact_dir: Path

    def as_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "playbook": self.playbook,
            "status": self.status,
            "seconds": round(self.seconds, 1),
            "tasks": self.tasks,
            "hosts": {h: asdict(t) for h, t in self.hosts.items()},
            "failures": [asdict(f) for f in self.failures],
            "artifacts": str(self.artifact_dir),
        }


def _stdout_tail(artifact_dir: Path) -> str:
    try:
        lines = [ln.strip() for ln in (artifact_dir / "stdout").read_text(errors="replace").splitlines()]
    except OSError:
        return ""
    lines = [ln for ln in lines if ln and not set(ln) <= set("*-=")]
    return lines[-1][:300] if lines else ""


class SiteRunner:
    """Runs playbooks for one site, with its inventory, fact cache and artifacts directory."""

    def __init__(
        self,
        site_name: str,
        inventory: Path,
        runs_dir: Path,
        facts_dir: Path,
        *,
        ansible: AnsibleRunner | None = None,
        watcher: PlaybookWatcher | None = None,
        cancel: threading.Event | None = None,
        connect_timeout: int = 10,
        forks: int = 10,
    ) -> None:
        self.site_name = site_name
        self.inventory = inventory
        self.runs_dir = runs_dir
        self.facts_dir = facts_dir
        self.ansible = ansible or AnsibleRunner()
        self.watcher: PlaybookWatcher = watcher or NullWatcher()
        self.cancel = cancel
        self.connect_timeout = connect_timeout
        self.forks = forks

    @property
    def control_dir(self) -> Path:
        """Where Ansible keeps this site's persistent SSH connections (a short path: it holds sockets)."""
        digest = hashlib.sha256(str(self.facts_dir).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"kubedojo-ssh-{digest}"

    def close_connections(self) -> int:
        """Close the SSH connections Ansible kept open to the site's machines."""
        return close_ssh_masters(self.control_dir)

    def environment(self) -> dict[str, str]:
        """The fact cache is the site's own and outlives each run (``--limit`` needs it); SSH
        connections are kept per site, so they can be closed when an operation ends."""
        return {
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.control_dir),
            "ANSIBLE_CACHE_PLUGIN": "jsonfile",
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(self.facts_dir),
            "ANSIBLE_CACHE_PLUGIN_TIMEOUT": str(7 * 86400),
            "ANSIBLE_TIMEOUT": str(self.connect_timeout),
        }

    def run(
        self,
        operation: str,
        project_dir: Path,
        playbook: str,
        *,
        timeout: float,
        extravars: Mapping[str, Any] | None = None,
        limit: str = "",
        become: bool = True,
        envvars: Mapping[str, str] | None = None,
        keep_results_of: tuple[str, ...] = (),
        private_tasks: tuple[str, ...] = (),
        title: str = "",
        check: bool = True,
        skip_tags: tuple[str, ...] = (),
    ) -> tuple[RunReport, PlaybookProgress]:
        """Run to the end; raise :class:`ProvisionError` unless every host came through (``check``),
        :class:`WaitTimeout` or :class:`Cancelled` (always)."""
        self.facts_dir.mkdir(parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-%f")[:-3]
        request = PlaybookRequest(
            project_dir=project_dir,
            playbook=playbook,
            inventory=self.inventory,
            artifacts_dir=self.runs_dir,
            ident=f"{stamp}-{operation}",
            extravars=dict(extravars or {}),
            limit=limit,
            envvars={**self.environment(), **(envvars or {})},
            become=become,
            forks=self.forks,
            timeout=timeout,
            private_tasks=private_tasks,
            skip_tags=skip_tags,
        )
        progress = PlaybookProgress(playbook, keep_results_of=keep_results_of)
        with self.watcher.watch(title or f"{operation}: {playbook}", progress):
            outcome = self.ansible.run(request, progress.feed, self.cancel)
        report = self._report(operation, playbook, outcome, progress)
        (outcome.artifact_dir / "summary.json").write_text(json.dumps(report.as_dict(), indent=2) + "\n")
        self._raise_if_stopped(report, outcome, timeout)
        if check:
            self._raise_unless_successful(report, outcome)
        return report, progress

    @staticmethod
    def _report(
        operation: str, playbook: str, outcome: PlaybookOutcome, progress: PlaybookProgress
    ) -> RunReport:
        snapshot = progress.snapshot()
        return RunReport(
            operation=operation,
            playbook=playbook,
            status=outcome.status,
            seconds=snapshot.seconds,
            tasks=snapshot.tasks_started,
            hosts=snapshot.hosts,
            failures=snapshot.failures,
            artifact_dir=outcome.artifact_dir,
        )

    def _raise_if_stopped(self, report: RunReport, outcome: PlaybookOutcome, timeout: float) -> None:
        where = f"artifacts: {report.artifact_dir}"
        if outcome.status == "canceled" or outcome.interrupted:
            raise Cancelled(
                f"{report.playbook} on site '{self.site_name}' was cancelled after {report.tasks} tasks "
                f"and stopped; {where}"
            )
        if outcome.status == "timeout":
            raise WaitTimeout(f"{report.playbook} on site '{self.site_name}' to finish ({where})", timeout)

    def _raise_unless_successful(self, report: RunReport, outcome: PlaybookOutcome) -> None:
        where = f"artifacts: {report.artifact_dir}"
        if outcome.status == "successful" and not report.failures:
            return
        if report.failures:
            first = report.failures[0]
            hosts = sorted({f.host for f in report.failures} - {first.host})
            more = f"; also {', '.join(hosts)}" if hosts else ""
            message = f"{report.playbook} failed: {first.describe()}{more} ({where})"
        else:
            detail = _stdout_tail(report.artifact_dir) or f"exit code {outcome.rc}"
            message = f"{report.playbook} failed before any host did: {detail} ({where})"
        raise ProvisionError(message, report.failures, str(report.artifact_dir))
