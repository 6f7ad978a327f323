"""Shared CLI plumbing: settings from options, one-line errors, progress bars."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from carbonhub.errors import CarbonhubError
from carbonhub.hub import Hub, open_hub
from carbonhub.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])
console = Console(stderr=True)


def database_option(function: F) -> F:
    """The ``--database-url`` option every command that touches the database takes."""
    return click.option(
        "--database-url",
        envvar="CARBONHUB_DATABASE_URL",
        default=None,
        help="Database URL (default: CARBONHUB_DATABASE_URL or sqlite:///./carbonhub.db).",
    )(function)


def settings_for(database_url: str | None) -> Settings:
    """Settings from the environment, with the command line's database URL if given."""
    return Settings(database_url=database_url) if database_url else Settings()


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one line to stderr and exit (no traceback)."""
    click.echo(f"carbonhub: {message}", err=True)
    sys.exit(code)


@contextmanager
def opened_hub(settings: Settings, *, upgrade: bool = True) -> Iterator[Hub]:
    """Open the hub (exiting with a one-line message when the database is unusable); close it after."""
    try:
        hub = open_hub(settings, upgrade=upgrade)
    except CarbonhubError as exc:  # DatabaseUnavailable included
        fail(str(exc))
    try:
        yield hub
    finally:
        hub.engine.dispose()


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr; yields a function that advances it."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
