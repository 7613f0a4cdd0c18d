"""``invoke lab.*``: list, show, start, run, check and reset graded labs."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from invoke.collection import Collection
from invoke.context import Context

from .support import RichReporter, cluster_target, console, emit_json, project_dir, settings, table, task

_STATUS = {
    "passed": "[green]✓ passed[/green]",
    "failed": "[red]✗ failed[/red]",
    "pending": "[yellow]… pending[/yellow]",
    "skipped": "[dim]- n/a[/dim]",
}


class RichLabReporter(RichReporter):
    """Steps as spinners; while Jobs run, a live table of their pods with each one's last log line."""

    def __init__(self, quiet: bool = False) -> None:
        super().__init__(quiet)
        self._pods: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._live: Any = None

    def _render(self) -> Any:
        rows = [
            [name, phase, detail, last[-90:]] for name, (phase, detail, last) in sorted(self._pods.items())
        ]
        return table("Pods", ["pod", "phase", "detail", "last log line"], rows)

    @contextlib.contextmanager
    def watching(self, title: str) -> Iterator[None]:
        if self.quiet:
            yield
            return
        from rich.live import Live

        self.console.print(f"[bold]{title}[/bold] (Ctrl-C stops waiting; the lab keeps running)")
        with Live(self._render(), console=self.console, refresh_per_second=4, transient=False) as live:
            self._live = live
            try:
                yield
            finally:
                with self._lock:
                    live.update(self._render())
                self._live = None
        self.console.print()

    def pod(self, name: str, phase: str, detail: str) -> None:
        with self._lock:
            entry = self._pods.setdefault(name, ["", "", ""])
            entry[0], entry[1] = phase, detail
            if self._live is not None:
                self._live.update(self._render())

    def log(self, pod: str, line: str) -> None:
        with self._lock:
            self._pods.setdefault(pod, ["Running", "", ""])[2] = line.strip()
            if self._live is not None:
                self._live.update(self._render())


@contextlib.contextmanager
def _environment(
    c: Context, reporter: Any = None, kubeconfig: str = "", inventory: str = ""
) -> Iterator[Any]:
    from ..labs.environment import lab_environment

    target = cluster_target(c, inventory, kubeconfig, reporter=reporter)
    with lab_environment(settings(c), project_dir(c), target, reporter) as env:
        yield env


def _catalog(c: Context) -> Any:
    from ..labs.catalog import Catalog

    return Catalog(project_dir(c))


def _participant(c: Context, participant: str) -> str:
    from ..labs.environment import participant_name

    return participant_name(participant, settings(c))


def _print_result(result: Any, as_json: bool) -> None:
    if as_json:
        emit_json(result.to_dict())
    else:
        out = console()
        rows = []
        for check in result.checks:
            if check.status in ("passed", "skipped"):
                detail = check.found
            else:
                detail = f"expected {check.expected}\nfound    {check.found}"
            if check.hint:
                detail += f"\n[cyan]hint[/cyan]     {check.hint}"
            points = "-" if check.status == "skipped" else f"{check.earned}/{check.points}"
            rows.append([_STATUS[check.status], check.title, points, detail])
        out.print(table(f"{result.lab}: {result.title}", ["", "check", "points", "details"], rows))
        if result.refused:
            out.print(f"[red]The cluster refused the submission, nothing was applied:[/red] {result.refused}")
        out.print(
            f"Score [bold]{result.score}/{result.max_score}[/bold] ({result.status}), "
            f"participant {result.participant}, attempt {result.attempt}, graded in {result.seconds:.2f} s"
        )
        if result.evidence:
            out.print(f"Evidence: {result.evidence}")
    if result.status != "passed":
        from invoke.exceptions import Exit

        raise Exit(code=1)


@task(name="list", help={"json": "print the labs as JSON"})
def list_(c: Context, json: bool = False) -> None:
    """List the labs."""
    labs = _catalog(c).all()
    if json:
        emit_json(
            [
                {
                    "id": lab.id,
                    "title": lab.title,
                    "points": lab.max_score,
                    "checks": len(lab.checks),
                    "time_limit_minutes": lab.time_limit_minutes,
                    "starter": lab.starter,
                }
                for lab in labs
            ]
        )
        return
    rows = [
        [lab.id, lab.title, str(len(lab.checks)), str(lab.max_score), f"{lab.time_limit_minutes} min"]
        for lab in labs
    ]
    console().print(table("Labs", ["id", "title", "checks", "points", "time"], rows))


@task(help={"json": "print the lab as JSON"})
def show(c: Context, lab: str, json: bool = False) -> None:
    """Show a lab: what it teaches, its files and its checks."""
    definition = _catalog(c).get(lab)
    if json:
        data = definition.model_dump(mode="json", exclude={"directory", "project"})
        emit_json(data)
        return
    out = console()
    out.print(f"[bold]{definition.id}: {definition.title}[/bold]  ({definition.time_limit_minutes} min)")
    for line in definition.teaches:
        out.print(f"  • {line}")
    out.print(f"Read:   {definition.handson_dir / 'README.md'} (한국어: README.ko.md)")
    out.print(f"Edit:   {definition.starter_path}")
    if definition.prepare:
        out.print(
            f"Then:   (cd {definition.handson_dir.relative_to(definition.project)} && {definition.prepare})"
        )
    if definition.works_in == "jupyterhub":
        out.print(
            f"Work:   in JupyterHub: upload {Path(definition.starter).name} to your server and run it; "
            f"'invoke lab.run {definition.id}' starts the lab, waits for the work and grades it"
        )
    else:
        out.print(f"Submit: invoke lab.run {definition.id} --file {definition.submit or definition.starter}")
    rows = [
        [c.id, c.title, "manifest" if c in definition.static_checks else "cluster", str(c.points)]
        for c in definition.checks
    ]
    out.print(table("Checks", ["id", "what", "looks at", "points"], rows))


@task(
    help={
        "participant": "whose namespace (default: workshop.yaml labs.participant or your login)",
        "kubeconfig": "another cluster's kubeconfig (default: the local cluster's admin)",
        "inventory": "an on-prem site directory (inventory/<site>); without it, the local cluster",
    }
)
def start(c: Context, lab: str, participant: str = "", kubeconfig: str = "", inventory: str = "") -> None:
    """Start a lab (before submitting with kubectl): only work created from now on counts."""
    definition = _catalog(c).get(lab)
    who = _participant(c, participant)
    with _environment(c, kubeconfig=kubeconfig, inventory=inventory) as env:
        started = env.runner.start(definition, env.namespace(who), who)
        console().print(
            f"Lab {definition.id} started at {started:%H:%M:%S} UTC in namespace {env.namespace(who)}."
        )


@task(
    help={
        "file": "your manifest (default: the lab's starter file in handson/)",
        "participant": "whose namespace (default: workshop.yaml labs.participant or your login)",
        "timeout": "seconds to wait for the Jobs or a JupyterHub lab's work (default: the lab's time limit)",
        "kubeconfig": "another cluster's kubeconfig (default: the local cluster's admin)",
        "inventory": "an on-prem site directory (inventory/<site>); without it, the local cluster",
        "json": "print the result record as JSON",
    }
)
def run(
    c: Context,
    lab: str,
    file: str = "",
    participant: str = "",
    timeout: float = 0,
    kubeconfig: str = "",
    inventory: str = "",
    json: bool = False,
) -> None:
    """Submit a manifest for a lab, follow its pods and logs, and grade it."""
    definition = _catalog(c).get(lab)
    who = _participant(c, participant)
    if definition.works_in == "jupyterhub":
        if file:
            from ..errors import ConfigError

            raise ConfigError(
                f"lab {lab} is worked in JupyterHub, not submitted: run it without --file "
                f"(it waits for your notebook's work), or 'invoke lab.check {lab}' when done"
            )
        reporter = RichLabReporter(quiet=json)
        with _environment(c, reporter, kubeconfig, inventory) as env:
            result = env.runner.run_in_hub(definition, env.namespace(who), who, timeout=timeout or None)
        _print_result(result, json)
        return
    manifest = Path(file) if file else definition.submit_path
    if not manifest.exists() and not file and definition.prepare:
        from ..errors import ConfigError

        raise ConfigError(
            f"{manifest}: no such file; make it first: cd {definition.handson_dir} && {definition.prepare}"
        )
    from ..labs.submission import read_submission

    read_submission(manifest, definition.kinds)  # a malformed manifest is refused before anything else
    reporter = RichLabReporter(quiet=json)
    with _environment(c, reporter, kubeconfig, inventory) as env:
        result = env.runner.run(definition, manifest, env.namespace(who), who, timeout=timeout or None)
    _print_result(result, json)


@task(
    help={
        "participant": "whose work (default: workshop.yaml labs.participant or your login)",
        "kubeconfig": "another cluster's kubeconfig (default: the local cluster's admin)",
        "inventory": "an on-prem site directory (inventory/<site>); without it, the local cluster",
        "json": "print the result record as JSON",
    }
)
def check(
    c: Context, lab: str, participant: str = "", kubeconfig: str = "", inventory: str = "", json: bool = False
) -> None:
    """Grade a lab from what is on the cluster now (work submitted with kubectl)."""
    definition = _catalog(c).get(lab)
    who = _participant(c, participant)
    with _environment(c, kubeconfig=kubeconfig, inventory=inventory) as env:
        result = env.runner.check(definition, env.namespace(who), who)
    _print_result(result, json)


@task(
    help={
        "participant": "whose namespace (default: workshop.yaml labs.participant or your login)",
        "kubeconfig": "another cluster's kubeconfig (default: the local cluster's admin)",
        "inventory": "an on-prem site directory (inventory/<site>); without it, the local cluster",
        "json": "print what was deleted as JSON",
    }
)
def reset(
    c: Context, lab: str, participant: str = "", kubeconfig: str = "", inventory: str = "", json: bool = False
) -> None:
    """Delete this lab's objects in the participant's namespace (nothing else)."""
    definition = _catalog(c).get(lab)
    who = _participant(c, participant)
    with _environment(c, kubeconfig=kubeconfig, inventory=inventory) as env:
        deleted = env.runner.reset(definition, env.namespace(who))
    if json:
        emit_json({"lab": definition.id, "namespace": env.namespace(who), "deleted": deleted})
        return
    console().print(f"Deleted {', '.join(deleted)}." if deleted else "Nothing of this lab to delete.")


ns = Collection("lab", list_, show, start, run, check, reset)
