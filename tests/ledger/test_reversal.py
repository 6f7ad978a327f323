"""Corrections are reversal entries: the credit stays, its amounts are cancelled everywhere."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from carbonhub.db import write_session
from carbonhub.errors import Conflict, InvalidInput, NotFound
from carbonhub.hub import Hub
from carbonhub.ledger import points_balance, reverse_entry, verify_ledger
from carbonhub.models import LedgerEntry
from tests.fixtures.actors import event
from tests.ledger.conftest import BEIJING_2023, HANDBOOK, LedgerView, reductions


@pytest.fixture
def reverse(hub: Hub) -> Callable[..., LedgerEntry]:
    """Reverse an entry in its own transaction."""

    def run(entry_id: int | None, reason: str = "provider withdrew the ride") -> LedgerEntry:
        assert entry_id is not None
        with write_session(hub.engine) as session:
            return reverse_entry(
                session, entry_id=entry_id, reason=reason, programmes=hub.programmes
            )

    return run


@pytest.fixture
def employee(
    make_person: Callable[..., str], make_enterprise: Callable[..., str], post: Callable
) -> str:
    """A person employed by an enterprise, with one 3.2 km ride; returns the person."""
    person = make_person(employer=make_enterprise())
    post([event(person, "transport.bike_share", "2023-07-01 01:00", km="3.2")])
    return person


def test_given_a_credit_when_reversed_then_a_negated_reversal_is_appended(
    employee: str, ledger: LedgerView, reverse: Callable[..., LedgerEntry]
) -> None:
    (credit,) = ledger.entries(employee)

    reverse(credit.id)

    original, reversal = ledger.entries(employee)
    assert original == credit
    assert (reversal.seq, reversal.entry_type, reversal.status) == (2, "reversal", "reversal")
    assert reversal.reverses_entry_id == credit.id
    assert (reversal.reduction_mg, reversal.quantity_milli) == (-800_000, -3200)
    assert reductions(reversal)[BEIJING_2023]["mg"] == -800_000
    assert reductions(reversal)[HANDBOOK]["mg"] == -52_000
    assert reversal.note == "provider withdrew the ride"
    assert reversal.prev_hash == credit.hash


def test_given_a_reversal_then_rollups_return_to_what_they_were_before_the_credit(
    employee: str, post: Callable, ledger: LedgerView, reverse: Callable[..., LedgerEntry]
) -> None:
    before = ledger.rollups(drop_zero_rows=True)
    post([event(employee, "transport.bike_share", "2023-07-01 05:00", km="1.7")])
    assert ledger.rollups(drop_zero_rows=True) != before

    reverse(ledger.entries(employee)[-1].id)

    assert ledger.rollups(drop_zero_rows=True) == before


def test_given_a_reversal_then_the_points_the_credit_earned_are_clawed_back(
    hub: Hub,
    employee: str,
    post: Callable,
    ledger: LedgerView,
    reverse: Callable[..., LedgerEntry],
) -> None:
    with write_session(hub.engine) as session:
        before = points_balance(session, employee)
    post([event(employee, "food.no_utensils", "2023-07-01 05:00", source="meituan", order=1)])

    reverse(ledger.entries(employee)[-1].id)

    with write_session(hub.engine) as session:
        assert points_balance(session, employee) == before
    assert before.earned == 80
    assert ledger.head(employee).points_remainder_mg == 0


def test_given_a_reversed_credit_when_reversed_again_then_it_conflicts(
    employee: str, ledger: LedgerView, reverse: Callable[..., LedgerEntry]
) -> None:
    (credit,) = ledger.entries(employee)
    first = reverse(credit.id)

    with pytest.raises(Conflict, match=f"reversed already by entry {first.id}"):
        reverse(credit.id)
    assert len(ledger.entries(employee)) == 2


def test_given_a_reversal_when_reversed_then_it_is_refused(
    employee: str, ledger: LedgerView, reverse: Callable[..., LedgerEntry]
) -> None:
    reversal = reverse(ledger.entries(employee)[0].id)

    with pytest.raises(InvalidInput, match="only credits can be reversed"):
        reverse(reversal.id)


def test_given_an_unknown_entry_when_reversed_then_it_is_not_found(
    reverse: Callable[..., LedgerEntry],
) -> None:
    with pytest.raises(NotFound, match="unknown ledger entry 424242"):
        reverse(424242)


def test_given_no_reason_when_reversing_then_it_is_refused(
    employee: str, ledger: LedgerView, reverse: Callable[..., LedgerEntry]
) -> None:
    with pytest.raises(InvalidInput, match="say why"):
        reverse(ledger.entries(employee)[0].id, reason="  ")


def test_given_reversals_then_the_chain_still_verifies(
    hub: Hub,
    employee: str,
    post: Callable,
    ledger: LedgerView,
    reverse: Callable[..., LedgerEntry],
) -> None:
    reverse(ledger.entries(employee)[0].id)
    post([event(employee, "transport.bike_share", "2023-07-01 09:00", km="2")])
    reverse(ledger.entries(employee)[-1].id)

    report = verify_ledger(hub.engine)

    assert report.ok, report.problem
    assert report.entries == 4


def test_given_a_reversed_event_when_the_provider_resends_it_then_it_stays_a_duplicate(
    employee: str, post: Callable, ledger: LedgerView, reverse: Callable[..., LedgerEntry]
) -> None:
    credit = ledger.entries(employee)[0]
    reverse(credit.id)
    resent = event(
        employee,
        "transport.bike_share",
        "2023-07-01 01:00",
        external_id=credit.external_id,
        km="3.2",
    )

    report = post([resent])

    assert report.duplicates == 1
    assert len(ledger.entries(employee)) == 2


def test_given_a_reversal_then_the_employer_rollup_is_cancelled_too(
    employee: str, ledger: LedgerView, reverse: Callable[..., LedgerEntry]
) -> None:
    reverse(ledger.entries(employee)[0].id)

    assert ledger.rollups(drop_zero_rows=True) == {
        "region_daily_rollup": [],
        "person_daily_rollup": [],
        "enterprise_daily_rollup": [],
    }
