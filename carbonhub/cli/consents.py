"""``carbonhub consents``: housekeeping of the consent history."""

from __future__ import annotations

import click

from carbonhub.cli.common import database_option, opened_hub, settings_for
from carbonhub.db import write_session
from carbonhub.models import utcnow


@click.group()
def consents() -> None:
    """Consent history housekeeping."""


@consents.command("record-expiries")
@database_option
def record_expiries(database_url: str | None) -> None:
    """Write an 'expired' event into the history of every consent whose expiry has passed.

    Expiry takes effect by itself at read time; this records it in the citizens' histories
    (run it daily, e.g. from cron or a Kubernetes CronJob).
    """
    with opened_hub(settings_for(database_url)) as hub, write_session(hub.engine) as session:
        count = hub.consents().record_expiries(session, utcnow())
    click.echo(f"recorded {count} expired consents")
