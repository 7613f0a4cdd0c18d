"""What every task shares: settings from Invoke's configuration, one-line errors, rich output."""

from __future__ import annotations

import contextlib
import functools
import json
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, overload

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task
from invoke.tasks import task as invoke_task

__all__ = [
    "KubedojoTask",
    "RichReporter",
    "cluster_target",
    "confirm",
    "console",
    "emit_json",
    "project_dir",
    "read_workshop",
    "settings",
    "site_dir",
    "task",
]

WORKSHOP_FILE = "workshop.yaml"
_LOAD_ERROR = "_load_error"
_PROJECT = "_project"


def read_workshop(directory: Path) -> dict[str, Any]:
    """workshop.yaml as plain data for ``Collection.configure``; a broken file is kept as an error
    that the first task to run reports (so ``invoke --list`` still works)."""
    import os

    from ..config import read_config_file
    from ..errors import ConfigError

    path = Path(os.environ.get("KUBEDOJO_WORKSHOP", directory / WORKSHOP_FILE))
    try:
        data = read_config_file(path)
    except ConfigError as exc:
        return {_LOAD_ERROR: str(exc), _PROJECT: str(directory)}
    data["_source"] = str(path)
    data[_PROJECT] = str(directory)
    return data


def _plain(value: Any) -> Any:
    if hasattr(value, "keys"):
        return {key: _plain(value[key]) for key in value}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def settings(c: Context) -> Any:
    """The validated :class:`~kubedojo.config.WorkshopConfig` of this invocation."""
    from ..config import parse_config
    from ..errors import ConfigError

    raw = _plain(c.config.get("kubedojo", {})) or {}
    if _LOAD_ERROR in raw:
        raise ConfigError(raw[_LOAD_ERROR])
    source = raw.pop("_source", WORKSHOP_FILE)
    raw.pop(_PROJECT, None)
    return parse_config(raw, source=source, project=project_dir(c))


def cluster_target(c: Context, inventory: str = "", kubeconfig: str = "", reporter: Any = None) -> Any:
    """The one answer to "which cluster?": ``-i inventory/<site>``, ``--kubeconfig`` or the local one."""
    from ..target import resolve_target

    return resolve_target(
        settings(c),
        project_dir(c),
        site=site_dir(c, inventory) if inventory else None,
        kubeconfig=Path(kubeconfig).expanduser() if kubeconfig else None,
        reporter=reporter,
    )


def site_dir(c: Context, inventory: str) -> Path:
    """``-i inventory/<site>``: as given when it exists (or is absolute), else under the project."""
    path = Path(inventory).expanduser()
    return path if path.is_absolute() or path.exists() else project_dir(c) / path


def project_dir(c: Context) -> Path:
    """The project directory (where tasks.py, labs/ and handson/ are)."""
    raw = c.config.get("kubedojo", {}) or {}
    return Path(raw.get(_PROJECT) or Path.cwd())


class KubedojoTask(Task[Any]):
    """An Invoke task that turns kubedojo's errors into one line on stderr and an exit status, never a
    traceback: a :class:`~kubedojo.errors.KubedojoError` exits 1, a cancelled run and Ctrl-C exit 130."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from ..errors import Cancelled, KubedojoError

        try:
            return super().__call__(*args, **kwargs)
        except Cancelled as exc:
            raise Exit(f"kubedojo: {exc}", code=130) from None
        except KubedojoError as exc:
            raise Exit(f"kubedojo: {exc}", code=1) from None
        except KeyboardInterrupt:
            raise Exit("kubedojo: interrupted", code=130) from None


@overload
def task(body: Callable[..., Any], /) -> KubedojoTask: ...


@overload
def task(**options: Any) -> Callable[[Callable[..., Any]], KubedojoTask]: ...


def task(*args: Any, **options: Any) -> Any:
    """Invoke's ``@task``, bare or with its keyword options, making a :class:`KubedojoTask`."""
    return invoke_task(*args, klass=KubedojoTask, **options)


@functools.cache
def console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


class RichReporter:
    """Draws the core's steps: a spinner with the elapsed time, then a tick and the duration."""

    def __init__(self, quiet: bool = False) -> None:
        self.console = console(stderr=True)
        self.quiet = quiet
        self._status: Any = None

    @contextlib.contextmanager
    def step(self, title: str) -> Iterator[None]:
        started = time.monotonic()
        if self.quiet:
            yield
            return
        with self.console.status(f"{title} …") as status:
            self._status = status
            try:
                yield
            except BaseException:
                self.console.print(f"[red]✗[/red] {title} ({time.monotonic() - started:.1f} s)")
                raise
            finally:
                self._status = None
        self.console.print(f"[green]✓[/green] {title} [dim]({time.monotonic() - started:.1f} s)[/dim]")

    def note(self, message: str) -> None:
        if self._status is not None:
            self._status.update(message)
        elif not self.quiet:
            self.console.print(f"  {message}")


def table(title: str, columns: list[str], rows: list[list[str]]) -> Any:
    from rich.table import Table

    result = Table(title=title, title_justify="left")
    for column in columns:
        result.add_column(column)
    for row in rows:
        result.add_row(*row)
    return result


def confirm(question: str, yes: bool) -> None:
    """Ask on the terminal unless ``--yes`` was given; without a terminal, say to add it."""
    from ..errors import ConfigError

    if yes:
        return
    if not sys.stdin.isatty():
        raise ConfigError(f"{question}: add --yes to confirm (no terminal to ask on)")
    answer = console().input(f"{question} [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        raise ConfigError("nothing was changed")


def mapping_rows(data: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(data.items()))
