"""``carbonhub disputes list`` and ``carbonhub disputes resolve``: the operators' queue."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from carbonhub.cli import main
from carbonhub.db import read_session, write_session
from carbonhub.ledger.disputes import open_dispute
from carbonhub.models import EntryDispute, LedgerEntry
from tests.fixtures.actors import event
from tests.rights.conftest import NOW


@pytest.fixture
def opened(hub, make_person, post) -> EntryDispute:
    """An open dispute about a 4 km ride."""
    person = make_person()
    post([event(person, "transport.bike_share", "2023-07-03 00:30", km="4", duration_s=1200)])
    with write_session(hub.engine) as session:
        entry = session.scalars(select(LedgerEntry).where(LedgerEntry.person_id == person)).one()
        return open_dispute(
            session, person_id=person, entry_id=entry.id or 0, reason="I took\nthe bus", now=NOW
        )


def run(settings, *args: str):
    return CliRunner().invoke(main, [*args, "--database-url", settings.database_url])


def test_given_an_open_dispute_when_listed_then_one_line_names_it(settings, opened):
    result = run(settings, "disputes", "list")

    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    assert line.split("\t") == [
        str(opened.id),
        opened.person_id,
        str(opened.entry_id),
        NOW.isoformat(),
        "I took the bus",
    ]


def test_given_an_open_dispute_when_resolved_with_reverse_then_the_entry_is_reversed(
    hub, settings, opened
):
    result = run(settings, "disputes", "resolve", str(opened.id), "--reverse", "--note", "ok")

    assert result.exit_code == 0, result.output
    assert (
        f"dispute {opened.id} reversed: entry {opened.entry_id} reversed by entry" in result.stdout
    )
    with read_session(hub.engine) as session:
        assert session.get(EntryDispute, opened.id).resolution == "reversed"
    assert run(settings, "disputes", "list").stdout == ""


def test_given_an_open_dispute_when_rejected_then_it_leaves_the_queue(hub, settings, opened):
    result = run(settings, "disputes", "resolve", str(opened.id), "--reject", "--note", "seen")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"dispute {opened.id} rejected"


def test_given_no_decision_when_resolving_then_it_exits_with_one_line(settings, opened):
    result = run(settings, "disputes", "resolve", str(opened.id), "--note", "x")

    assert result.exit_code == 2
    assert "say --reverse or --reject" in result.output


def test_given_a_decided_dispute_when_resolved_again_then_it_fails(settings, opened):
    run(settings, "disputes", "resolve", str(opened.id), "--reject", "--note", "no")

    result = run(settings, "disputes", "resolve", str(opened.id), "--reverse", "--note", "yes")

    assert result.exit_code == 1
    assert "was rejected already" in result.output
