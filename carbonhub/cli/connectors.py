"""``carbonhub sync``, ``carbonhub import`` and ``carbonhub connectors``: running connectors."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click
from rich.table import Table

from carbonhub.cli.common import (
    console,
    database_option,
    fail,
    opened_hub,
    progress_bar,
    settings_for,
)
from carbonhub.connectors.service import Connectors
from carbonhub.errors import CarbonhubError


@click.command()
@click.option("--connector", "slug", default=None, help="Sync only this connector's accounts.")
@database_option
def sync(slug: str | None, database_url: str | None) -> None:
    """Fetch every linked account's new records from its provider and post them.

    Exits 1 when any account's sync failed (the others are posted; the failed ones resume from
    their last committed cursor next time).
    """
    with opened_hub(settings_for(database_url)) as hub:
        try:
            connectors = Connectors.for_hub(hub)
            with progress_bar("syncing records", None) as advance:
                report = asyncio.run(connectors.runner().sync(slug, on_records=advance))
        except CarbonhubError as exc:
            fail(str(exc))
    table = Table(
        "connector", "account", "status", "fetched", "posted", "dupl.", "quar.", "rej.", "errors"
    )
    for run in report.runs:
        c = run.counts
        table.add_row(
            run.connector, run.account_id, run.status, str(c["fetched"]), str(c["posted"]),
            str(c["duplicates"]), str(c["quarantined"]), str(c["rejected"]), str(c["errors"]),
        )  # fmt: skip
    console.print(table)
    for run in report.failed:
        click.echo(f"{run.connector} account {run.account_id}: {run.status}: {run.error}", err=True)
    if report.failed:
        raise SystemExit(1)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--connector", "slug", default="csv", show_default=True, help="The file's connector.")
@database_option
def import_file(file: Path, slug: str, database_url: str | None) -> None:
    """Post a file of normalised events (see the csv connector's column set)."""
    with opened_hub(settings_for(database_url)) as hub:
        try:
            connectors = Connectors.for_hub(hub)
            plugin = connectors.registry.get(slug).offline()
            read_rows = getattr(plugin, "read_rows", None)
            if read_rows is None:
                fail(f"connector {slug} does not read files")
            with progress_bar(f"importing {file.name}", None) as advance:
                outcome = connectors.import_records(slug, read_rows(file), on_records=advance)
        except (CarbonhubError, ValueError, OSError) as exc:
            fail(str(exc))
    click.echo(json.dumps({"run_id": outcome.run_id, **outcome.counts}))
    for result in outcome.results[:20]:
        click.echo(
            f"{result.outcome} {result.external_id}: {result.reason}: {result.detail}", err=True
        )


@click.command("connectors")
@database_option
def list_connectors(database_url: str | None) -> None:
    """The enabled connectors and their latest sync runs."""
    with opened_hub(settings_for(database_url)) as hub:
        try:
            connectors = Connectors.for_hub(hub)
        except CarbonhubError as exc:
            fail(str(exc))
        table = Table("slug", "name", "version", "pull", "push", "behaviours")
        for loaded in connectors.registry.all():
            info = loaded.info
            table.add_row(
                info.slug, info.name, info.version, "yes" if info.pull else "-",
                "yes" if info.push else "-", ", ".join(sorted(info.behaviours)),
            )  # fmt: skip
        console.print(table)
        runs = Table("run", "connector", "mode", "account", "status", "started", "posted", "error")
        for run in connectors.runs(limit=20):
            runs.add_row(
                str(run.id), run.connector, run.mode, run.account_id or "-", run.status,
                run.started_at.isoformat(timespec="seconds"), str(run.posted), run.error or "",
            )  # fmt: skip
        console.print(runs)
