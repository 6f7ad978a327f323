"""Disputes: a citizen contests their own credit; an operator reverses it or rejects the dispute."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from carbonhub.db import read_session, write_session
from carbonhub.errors import Conflict, InvalidInput, NotFound
from carbonhub.hub import Hub
from carbonhub.ledger import reverse_entry, verify_ledger
from carbonhub.ledger.disputes import open_dispute, open_disputes, resolve_dispute
from carbonhub.models import EntryDispute, LedgerEntry, PersonDailyRollup
from tests.fixtures.actors import event
from tests.rights.conftest import NOW, PRIMARY


@pytest.fixture
def rider(make_person: Callable[..., str], post: Callable) -> str:
    """A Haidian resident with two rides: 4 km (1000 g) and 2 km (500 g) under the primary."""
    person = make_person()
    post(
        [
            event(person, "transport.bike_share", "2023-07-03 00:30", km="4", duration_s=1200),
            event(person, "transport.bike_share", "2023-07-04 00:30", km="2", duration_s=900),
        ]
    )
    return person


def entries(hub: Hub, person_id: str) -> list[LedgerEntry]:
    with read_session(hub.engine) as session:
        query = select(LedgerEntry).where(LedgerEntry.person_id == person_id)
        return list(session.scalars(query.order_by(LedgerEntry.seq)))


def total_mg(hub: Hub, person_id: str) -> int:
    with read_session(hub.engine) as session:
        return session.scalar(
            select(func.coalesce(func.sum(PersonDailyRollup.reduction_mg), 0)).where(
                PersonDailyRollup.person_id == person_id,
                PersonDailyRollup.methodology_key == PRIMARY,
            )
        )


def dispute(hub: Hub, person_id: str, entry_id: int | None, reason: str = "not my ride"):
    assert entry_id is not None
    with write_session(hub.engine) as session:
        return open_dispute(session, person_id=person_id, entry_id=entry_id, reason=reason, now=NOW)


def decide(hub: Hub, dispute_id: int | None, decision: str, note: str = "checked with provider"):
    assert dispute_id is not None
    with write_session(hub.engine) as session:
        return resolve_dispute(
            session,
            dispute_id=dispute_id,
            decision=decision,
            note=note,
            now=NOW,
            programmes=hub.programmes,
        )


def test_given_an_open_dispute_when_reversed_then_a_reversal_exists_and_the_total_drops(hub, rider):
    first, _ = entries(hub, rider)
    assert total_mg(hub, rider) == 1_500_000
    opened = dispute(hub, rider, first.id)

    decided = decide(hub, opened.id, "reverse")

    reversal = entries(hub, rider)[-1]
    assert (reversal.entry_type, reversal.reverses_entry_id) == ("reversal", first.id)
    assert decided.reversal_entry_id == reversal.id
    assert (decided.resolution, decided.resolution_note) == ("reversed", "checked with provider")
    assert decided.resolved_at == NOW
    assert total_mg(hub, rider) == 500_000
    assert verify_ledger(hub.engine).ok


def test_given_an_open_dispute_when_rejected_then_the_ledger_is_unchanged(hub, rider):
    before = entries(hub, rider)
    opened = dispute(hub, rider, before[0].id)

    decided = decide(hub, opened.id, "reject", "the ride is in the provider's records")

    assert decided.resolution == "rejected"
    assert decided.reversal_entry_id is None
    assert entries(hub, rider) == before
    assert total_mg(hub, rider) == 1_500_000


def test_given_another_persons_entry_when_disputed_then_it_is_not_found(hub, rider, make_person):
    stranger = make_person()
    theirs = entries(hub, rider)[0]

    with pytest.raises(NotFound, match=f"unknown ledger entry {theirs.id}"):
        dispute(hub, stranger, theirs.id)


def test_given_an_unknown_entry_when_disputed_then_it_is_not_found(hub, rider):
    with pytest.raises(NotFound):
        dispute(hub, rider, 987654)


def test_given_an_open_dispute_when_the_entry_is_disputed_again_then_it_is_refused(hub, rider):
    first = entries(hub, rider)[0]
    opened = dispute(hub, rider, first.id)

    with pytest.raises(InvalidInput, match=f"disputed already \\(dispute {opened.id}\\)"):
        dispute(hub, rider, first.id)


def test_given_a_rejected_dispute_then_the_entry_can_be_disputed_again(hub, rider):
    first = entries(hub, rider)[0]
    decide(hub, dispute(hub, rider, first.id).id, "reject")

    again = dispute(hub, rider, first.id, "new evidence")

    assert again.resolution is None


def test_given_a_reversed_credit_when_disputed_then_it_is_refused(hub, rider):
    first = entries(hub, rider)[0]
    with write_session(hub.engine) as session:
        reverse_entry(session, entry_id=first.id or 0, reason="fix", programmes=hub.programmes)

    with pytest.raises(InvalidInput, match="reversed already"):
        dispute(hub, rider, first.id)
    with pytest.raises(InvalidInput, match="only credits can be disputed"):
        dispute(hub, rider, entries(hub, rider)[-1].id)


def test_given_a_dispute_when_decided_twice_then_it_conflicts(hub, rider):
    opened = dispute(hub, rider, entries(hub, rider)[0].id)
    decide(hub, opened.id, "reverse")

    with pytest.raises(Conflict, match="reversed already"):
        decide(hub, opened.id, "reject")


def test_given_an_entry_reversed_meanwhile_when_a_dispute_is_upheld_then_it_records_that_reversal(
    hub, rider
):
    first = entries(hub, rider)[0]
    opened = dispute(hub, rider, first.id)
    with write_session(hub.engine) as session:
        reversal = reverse_entry(
            session, entry_id=first.id or 0, reason="operator", programmes=hub.programmes
        )

    decided = decide(hub, opened.id, "reverse")

    assert decided.reversal_entry_id == reversal.id
    assert len(entries(hub, rider)) == 3


def test_given_no_reason_when_disputing_then_it_is_refused(hub, rider):
    with pytest.raises(InvalidInput, match="say why the entry is wrong"):
        dispute(hub, rider, entries(hub, rider)[0].id, "  ")


def test_given_an_unknown_decision_then_it_is_refused(hub, rider):
    opened = dispute(hub, rider, entries(hub, rider)[0].id)

    with pytest.raises(InvalidInput, match="'reverse' or 'reject'"):
        decide(hub, opened.id, "approve")


def test_given_open_and_decided_disputes_then_the_queue_pages_through_the_open_ones(hub, rider):
    first, second = entries(hub, rider)
    one = dispute(hub, rider, first.id)
    two = dispute(hub, rider, second.id)
    decide(hub, one.id, "reject")
    three = dispute(hub, rider, first.id, "still wrong")

    with read_session(hub.engine) as session:
        page = open_disputes(session, 1)
        rest = open_disputes(session, 5, page.items[-1].id)

    assert [d.id for d in page.items] == [two.id]
    assert page.has_next
    assert [d.id for d in rest.items] == [three.id]
    assert not rest.has_next
    with read_session(hub.engine) as session:
        assert session.scalar(select(func.count()).select_from(EntryDispute)) == 3
