"""``carbonhub``: serve, build the demo, migrate, verify the ledger and the access log, export the
schema."""

from __future__ import annotations

import logging
from pathlib import Path

import click
import uvicorn

from carbonhub import __version__
from carbonhub.cli.clients import clients, keys
from carbonhub.cli.common import database_option, fail, opened_hub, progress_bar, settings_for
from carbonhub.cli.connectors import import_file, list_connectors, sync
from carbonhub.cli.consents import consents
from carbonhub.cli.reports import report
from carbonhub.cli.rights import disputes
from carbonhub.cli.schema import check_schema
from carbonhub.cli.simulate import simulate
from carbonhub.db import DatabaseUnavailable, create_db_engine, redact_url, write_session
from carbonhub.errors import CarbonhubError
from carbonhub.hub import prepare_database
from carbonhub.telemetry import TraceFormatter, start_telemetry, stop_telemetry


@click.group()
@click.version_option(__version__, prog_name="carbonhub")
def main() -> None:
    """carbonhub: the data hub of carbon-inclusive (碳普惠) programmes."""
    handler = logging.StreamHandler()  # lines logged inside a span end with its trace id
    handler.setFormatter(TraceFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    for chatty in ("httpx", "httpx2", "httpcore", "httpcore2"):  # one line per request
        logging.getLogger(chatty).setLevel(logging.WARNING)
    if start_telemetry():  # OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set
        click.get_current_context().call_on_close(stop_telemetry)


main.add_command(clients)
main.add_command(disputes)
main.add_command(keys)
main.add_command(consents)
main.add_command(sync)
main.add_command(import_file)
main.add_command(list_connectors)
main.add_command(simulate)
main.add_command(report)
main.add_command(check_schema)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@database_option
def serve(host: str, port: int, database_url: str | None) -> None:
    """Migrate the database if needed and serve GraphQL, health and readiness."""
    from carbonhub.app import create_app, freeze_startup_heap

    with opened_hub(settings_for(database_url)) as hub:
        url = redact_url(str(hub.engine.url))
        try:
            app = create_app(hub=hub)
        except CarbonhubError as exc:  # e.g. an enabled connector that is not installed
            fail(str(exc))
        click.echo(f"carbonhub serving {url} at http://{host}:{port}/graphql", err=True)
        freeze_startup_heap()
        # carbonhub.access logs every request without its query string; uvicorn's would not
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--citizens", default=2000, show_default=True, type=click.IntRange(50, 200_000))
@click.option("--seed", default=2023, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Build the demo database and stop.")
@database_option
def demo(
    host: str, port: int, citizens: int, seed: int, no_serve: bool, database_url: str | None
) -> None:
    """Build (or reuse) the 2023 Beijing Green Life Season demo, then serve it."""
    from carbonhub.app import create_app, freeze_startup_heap
    from carbonhub.demo import DemoPlan, build_demo
    from carbonhub.demo.build import demo_providers

    plan = DemoPlan(citizens=citizens, seed=seed)
    with opened_hub(settings_for(database_url)) as hub, demo_providers(plan) as providers:
        try:
            result = build_demo(hub, plan, progress=progress_bar, providers=providers)
            app = create_app(hub=hub, connectors=providers.connectors(hub), scheduler=False)
        except CarbonhubError as exc:
            fail(str(exc))
        click.echo(result.summary(), err=True)
        click.echo(f"demo credentials: {result.credentials_file}", err=True)
        if no_serve:
            return
        urls = ", ".join(f"{slug} {url}" for slug, url in providers.urls.items())
        click.echo(f"provider simulators (link accounts at /connectors/accounts): {urls}", err=True)
        click.echo(f"GraphiQL: http://{host}:{port}/graphql", err=True)
        freeze_startup_heap()
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)


@main.group()
def db() -> None:
    """Database administration."""


@db.command()
@database_option
def upgrade(database_url: str | None) -> None:
    """Apply pending migrations and load the packaged reference data."""
    engine = create_db_engine(settings_for(database_url).database_url)
    try:
        prepare_database(engine)
    except DatabaseUnavailable as exc:
        fail(str(exc))
    finally:
        engine.dispose()
    click.echo("database is up to date", err=True)


@main.group()
def ledger() -> None:
    """Ledger verification and corrections."""


@ledger.command()
@database_option
def verify(database_url: str | None) -> None:
    """Recompute every hash chain; exit 1 naming the first edited, deleted or reordered entry."""
    from carbonhub.ledger import verify_ledger

    with (
        opened_hub(settings_for(database_url), upgrade=False) as hub,
        progress_bar("verifying", None) as advance,
    ):
        report = verify_ledger(hub.engine, on_entries=advance)
    if report.problem is not None:
        fail(f"ledger verification failed at {report.problem.describe()}", code=1)
    click.echo(f"ledger verified: {report.entries} entries in {report.persons} chains, all intact")


@main.group("access-log")
def access_log() -> None:
    """The hash-chained log of reads of personal data and report releases."""


@access_log.command("verify")
@database_option
def verify_access_log(database_url: str | None) -> None:
    """Recompute the access log's chain; exit 1 naming the first entry that does not verify."""
    from carbonhub.consent.access_log import verify_access_log as verify_chain

    with opened_hub(settings_for(database_url), upgrade=False) as hub:
        check = verify_chain(hub.engine)
    if check.first_broken is not None:
        fail(
            f"access log verification failed at entry {check.first_broken} (after "
            f"{check.entries} intact entries): edited, deleted, reordered, or a second "
            "successor of one entry",
            code=1,
        )
    click.echo(f"access log verified: {check.entries} entries in one chain, all intact")


@ledger.command()
@click.argument("entry_id", type=int)
@click.option("--reason", required=True, help="Why the entry is reversed (kept on the reversal).")
@database_option
def reverse(entry_id: int, reason: str, database_url: str | None) -> None:
    """Cancel a credit with a reversal entry (entries are never edited)."""
    from carbonhub.ledger import reverse_entry

    with opened_hub(settings_for(database_url)) as hub:
        try:
            with write_session(hub.engine) as session:
                reversal = reverse_entry(
                    session, entry_id=entry_id, reason=reason, programmes=hub.programmes
                )
        except CarbonhubError as exc:
            fail(str(exc), code=1)
    click.echo(
        f"entry {entry_id} reversed by entry {reversal.id} (person {reversal.person_id}, seq {reversal.seq})"
    )


@ledger.command("rebuild-rollups")
@database_option
def rebuild(database_url: str | None) -> None:
    """Recompute every rollup from the ledger entries (a repair tool)."""
    from carbonhub.ledger import rebuild_rollups

    with opened_hub(settings_for(database_url)) as hub, write_session(hub.engine) as session:
        rebuild_rollups(session, hub.release_rules())
    click.echo("rollups rebuilt from the ledger", err=True)


@main.command("export-schema")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to a file instead of stdout.",
)
def export_schema(output: Path | None) -> None:
    """Print the GraphQL schema (Federation v2 subgraph SDL)."""
    from carbonhub.schema import schema

    sdl = schema.as_str() + "\n"
    if output is None:
        click.echo(sdl, nl=False)
    else:
        output.write_text(sdl, encoding="utf-8")
        click.echo(f"schema written to {output}", err=True)
