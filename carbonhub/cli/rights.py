"""``carbonhub disputes``: the operators' queue of ledger disputes, and their decisions."""

from __future__ import annotations

import click

from carbonhub.cli.common import database_option, fail, opened_hub, settings_for
from carbonhub.db import read_session, write_session
from carbonhub.errors import CarbonhubError
from carbonhub.ledger.disputes import open_disputes, resolve_dispute
from carbonhub.models import utcnow


@click.group()
def disputes() -> None:
    """Citizens' disputes of their ledger entries: list the open ones, decide them."""


@disputes.command("list")
@click.option("--first", default=100, show_default=True, type=click.IntRange(1, 10_000))
@database_option
def list_disputes(first: int, database_url: str | None) -> None:
    """Print the open disputes, oldest first: id, person, entry, opened at, reason."""
    with opened_hub(settings_for(database_url)) as hub, read_session(hub.engine) as session:
        page = open_disputes(session, first)
    for d in page.items:
        reason = " ".join(d.reason.split())
        click.echo(f"{d.id}\t{d.person_id}\t{d.entry_id}\t{d.opened_at.isoformat()}\t{reason}")
    if page.has_next:
        click.echo(f"(more than {first} open disputes; raise --first)", err=True)
    elif not page.items:
        click.echo("no open disputes", err=True)


@disputes.command("resolve")
@click.argument("dispute_id", type=int)
@click.option(
    "--reverse/--reject",
    "reverse",
    default=None,
    help="Uphold the dispute with a reversal entry, or reject it (one of them is required).",
)
@click.option("--note", required=True, help="Why; shown to the citizen and kept on the dispute.")
@database_option
def resolve(dispute_id: int, reverse: bool | None, note: str, database_url: str | None) -> None:
    """Decide a dispute: --reverse cancels the entry with a reversal entry, --reject keeps it."""
    if reverse is None:
        fail("say --reverse or --reject")
    decision = "reverse" if reverse else "reject"
    with opened_hub(settings_for(database_url)) as hub:
        try:
            with write_session(hub.engine) as session:
                dispute = resolve_dispute(
                    session,
                    dispute_id=dispute_id,
                    decision=decision,
                    note=note,
                    now=utcnow(),
                    programmes=hub.programmes,
                )
        except CarbonhubError as exc:
            fail(str(exc), code=1)
    outcome = f"dispute {dispute.id} {dispute.resolution}"
    if dispute.reversal_entry_id is not None:
        outcome += f": entry {dispute.entry_id} reversed by entry {dispute.reversal_entry_id}"
    click.echo(outcome)
