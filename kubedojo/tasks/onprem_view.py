"""How on-prem runs look on the terminal: a live view while a playbook runs, then tables."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from .support import console, table

__all__ = ["RichPlaybookWatcher", "preflight_details", "preflight_table", "recap_table"]

_MARK = {
    "ok": "[green]✓[/green]",
    "warn": "[yellow]![/yellow]",
    "fail": "[red]✗[/red]",
    "ignored": "[yellow]~[/yellow]",
    "n/a": "[dim]-[/dim]",
}


class RichPlaybookWatcher:
    """A live panel per run: elapsed time, tasks started, the current task, hosts that failed."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet

    @contextlib.contextmanager
    def watch(self, title: str, progress: Any) -> Iterator[None]:
        if self.quiet:
            yield
            return
        from rich.live import Live
        from rich.spinner import Spinner
        from rich.table import Table

        out = console(stderr=True)

        def render() -> Any:
            snap = progress.snapshot()
            grid = Table.grid(padding=(0, 1))
            grid.add_row(Spinner("dots"), f"[bold]{title}[/bold]", f"[dim]{snap.seconds:.0f} s[/dim]")
            hosts = f"{len(snap.hosts)} hosts"
            failed = snap.hosts_failed
            if failed:
                hosts += f", [red]failed: {', '.join(failed)}[/red]"
            grid.add_row("", f"{snap.tasks_started} tasks · {hosts}", "")
            if snap.task:
                grid.add_row("", f"[dim]{snap.task[:100]}[/dim]", "")
            return grid

        started = time.monotonic()
        with Live(get_renderable=render, console=out, refresh_per_second=4, transient=True):
            try:
                yield
            except BaseException:
                out.print(f"[red]✗[/red] {title} ({time.monotonic() - started:.1f} s)")
                raise
        snap = progress.snapshot()
        mark = "[red]✗[/red]" if snap.failures else "[green]✓[/green]"
        out.print(f"{mark} {title} [dim]({snap.tasks_started} tasks, {snap.seconds:.1f} s)[/dim]")


_SHORT = {
    "reachable": "ssh",
    "systemd": "init",
    "memory": "mem",
    "time-sync": "time",
    "nfs-client": "nfs",
    "gpu-driver": "gpu",
}


def preflight_table(report: Any) -> Any:
    """Hosts down, checks across (short names: ssh = reachable, init = systemd, …)."""
    from ..onprem.preflight import CHECKS

    rows = [[h.host, *(_MARK[h.result(c).status] for c in CHECKS)] for h in report.hosts]
    headers = ["host", *(_SHORT.get(c, c) for c in CHECKS)]
    return table(f"Preflight ({report.seconds:.1f} s)", headers, rows)


def preflight_details(report: Any) -> list[str]:
    return [
        f"{_MARK[r.status]} {h.host}: {r.check}: {r.detail}"
        for h in report.hosts
        for r in h.results
        if r.status in ("fail", "warn", "ignored")
        and not (r.check != "reachable" and r.detail == "not reachable")
    ]


def recap_table(run: Any) -> Any:
    columns = ["host", "ok", "changed", "failed", "unreachable", "skipped", "rescued", "ignored"]
    rows = [
        [
            host,
            str(t.ok),
            str(t.changed),
            f"[red]{t.failed}[/red]" if t.failed else "0",
            f"[red]{t.unreachable}[/red]" if t.unreachable else "0",
            str(t.skipped),
            str(t.rescued),
            str(t.ignored),
        ]
        for host, t in sorted(run.hosts.items())
    ]
    return table(f"{run.playbook}: {run.status} in {run.seconds:.0f} s", columns, rows)
