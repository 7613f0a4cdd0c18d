"""``invoke class.*``: set up a class, grade everyone into a scoreboard, watch who runs what."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from invoke.collection import Collection
from invoke.context import Context

from .support import cluster_target, confirm, console, emit_json, project_dir, settings, table, task

if TYPE_CHECKING:
    from ..classroom.grading import ClassGrades
    from ..labs.definition import LabDefinition

_KUBECONFIG = "another cluster's admin kubeconfig (default: the local cluster's)"
_SITE = "an on-prem site directory (inventory/<site>); without it, the local cluster"


@contextlib.contextmanager
def _environment(c: Context, kubeconfig: str, inventory: str = "") -> Iterator[Any]:
    from ..classroom.environment import class_environment

    with class_environment(settings(c), cluster_target(c, inventory, kubeconfig)) as env:
        yield env


@task(
    help={
        "roster": "a CSV (name,email,group) or YAML list of participants",
        "title": "the handout's title",
        "kubeconfig": _KUBECONFIG,
        "inventory": _SITE,
        "json": "print the result as JSON",
    }
)
def setup(
    c: Context, roster: str, title: str = "", kubeconfig: str = "", inventory: str = "", json: bool = False
) -> None:
    """Create (or update) each participant's namespace, identity, Role, quota and kubeconfig."""
    from ..classroom.roster import read_roster
    from ..labs.catalog import Catalog

    people = read_roster(Path(roster))
    config = settings(c)
    busy = console(stderr=True).status(f"Setting up {len(people)} participants …")
    labs = Catalog(project_dir(c)).all()
    with _environment(c, kubeconfig, inventory) as env:
        with busy:
            report = env.classroom.setup(people, title or config.workshop.name, labs)
        with console(stderr=True).status("Putting every lab's image into the cluster's registry …"):
            images = env.publish_images(labs)
    if json:
        emit_json({**report.__dict__, "images": images})
        return
    rows = [
        [name, env.classroom.namespace(name), state, report.kubeconfigs[name]]
        for state, names in (
            ("added", report.added),
            ("updated", report.updated),
            ("unchanged", report.unchanged),
        )
        for name in names
    ]
    console().print(table("Participants", ["name", "namespace", "", "kubeconfig (0600)"], rows))
    console().print(f"Handout: {report.handout}")
    if report.jupyter_passwords:
        folder = Path(next(iter(report.jupyter_passwords.values()))).parent.parent
        console().print(f"JupyterHub passwords: {folder}/<name>/jupyter-password (0600), one each")
    for line in report.services:
        console().print(line)
    if images:
        console().print(f"Lab images in the registry: {len(images)}")


@task(
    help={
        "names": "participants to remove, comma-separated",
        "yes": "do not ask",
        "kubeconfig": _KUBECONFIG,
        "inventory": _SITE,
    }
)
def remove(c: Context, names: str, yes: bool = False, kubeconfig: str = "", inventory: str = "") -> None:
    """Remove participants: their namespace with everything in it, and their kubeconfig."""
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    with _environment(c, kubeconfig, inventory) as env:
        confirm(f"Delete the namespaces of {', '.join(wanted)} and everything in them?", yes)
        removed = env.classroom.remove(wanted)
    console().print(f"Removed {', '.join(removed)}.")


@task(help={"yes": "do not ask", "kubeconfig": _KUBECONFIG, "inventory": _SITE})
def teardown(c: Context, yes: bool = False, kubeconfig: str = "", inventory: str = "") -> None:
    """Remove every participant of the class (only what kubedojo created)."""
    with _environment(c, kubeconfig, inventory) as env:
        everyone = sorted(env.classroom.participants())
        if not everyone:
            console().print("No participants: nothing to remove.")
            return
        confirm(f"Delete the namespaces of all {len(everyone)} participants and everything in them?", yes)
        removed = env.classroom.teardown()
    console().print(f"Removed {len(removed)} participants.")


@task(
    help={
        "lab": "grade only this lab (default: every lab)",
        "csv": "also write the scoreboard as CSV here",
        "html": "also write the scoreboard as an HTML page here",
        "kubeconfig": _KUBECONFIG,
        "inventory": _SITE,
        "json": "print every result as JSON",
        "follow": "then keep grading for this many seconds: each participant's lab as soon as one of "
        "its Jobs finishes (so a result outlives a Job's ttlSecondsAfterFinished)",
    }
)
def grade(
    c: Context,
    lab: str = "",
    csv: str = "",
    html: str = "",
    kubeconfig: str = "",
    inventory: str = "",
    json: bool = False,
    follow: float = 0,
) -> None:
    """Grade every participant for every lab at once, into result records and a scoreboard."""
    from ..labs.catalog import Catalog

    catalog = Catalog(project_dir(c))
    labs = [catalog.get(lab)] if lab else catalog.all()
    with _environment(c, kubeconfig, inventory) as env:
        people = env.classroom.participants()
        with console(stderr=True).status(f"Grading {len(people)} participants, {len(labs)} labs …"):
            grades = env.grade(labs)
        _print_board(c, grades, labs, csv, html, json)
        if follow > 0:
            if not json:
                console().print(f"Grading each lab as its Jobs finish, for {follow:g} s (Ctrl-C stops) …")
            for result in env.follow(labs, follow):
                if json:
                    emit_json(result.to_dict())
                else:
                    console().print(
                        f"{result.graded_at}  {result.participant}  {result.lab}  "
                        f"{result.score}/{result.max_score}  {result.status}"
                    )


def _print_board(
    c: Context, grades: ClassGrades, labs: list[LabDefinition], csv: str, html: str, json: bool
) -> None:
    from ..classroom.scoreboard import scoreboard

    config = settings(c)
    board = scoreboard(grades.results, [(x.id, x.title, x.max_score) for x in labs])
    output = Path(config.classroom.output_dir)
    output = output if output.is_absolute() else project_dir(c) / output
    csv_path = Path(csv) if csv else output / "scoreboard.csv"
    html_path = Path(html) if html else output / "scoreboard.html"
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    csv_path.write_text(board.to_csv())
    html_path.write_text(board.to_html(config.workshop.name))
    if json:
        emit_json(
            {
                "seconds": round(grades.seconds, 3),
                "requests": grades.requests,
                "results": [r.to_dict() for r in grades.results],
            }
        )
        return
    rows = [
        [name, *[board.cell(results.get(x.id)) for x in labs], f"{board.total(results)}/{board.max_total}"]
        for name, results in board.rows
    ]
    console().print(table("Scoreboard", ["participant", *[x.id for x in labs], "total"], rows))
    console().print(
        f"Graded in {grades.seconds:.2f} s with {grades.requests} API requests. "
        f"CSV: {csv_path}  HTML: {html_path}"
    )


@task(
    help={
        "watch": "keep the view live for this many seconds (0: print once)",
        "kubeconfig": _KUBECONFIG,
        "inventory": _SITE,
        "json": "print once as JSON",
    }
)
def status(
    c: Context, watch: float = 0, kubeconfig: str = "", inventory: str = "", json: bool = False
) -> None:
    """Who is running what: pods by phase per participant."""
    from ..classroom.status import PHASES, follow_phases, pod_phases

    def render(phases: dict[str, Any]) -> Any:
        rows = [[name, *[str(counts.get(p, 0)) for p in PHASES]] for name, counts in sorted(phases.items())]
        return table("Pods by phase", ["participant", *PHASES], rows)

    with _environment(c, kubeconfig, inventory) as env:
        people = env.classroom.participants()
        if json or not watch:
            phases = pod_phases(env.classroom.client, people)
            if json:
                emit_json({name: dict(counts) for name, counts in phases.items()})
            else:
                console().print(render(phases))
            return
        from rich.live import Live

        with Live(render({n: {} for n in people}), console=console(), refresh_per_second=4) as live:
            for phases in follow_phases(env.classroom.client, people, watch):
                live.update(render(phases))


ns = Collection("class", setup, remove, teardown, grade, status)
