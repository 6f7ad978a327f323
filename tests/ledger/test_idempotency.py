"""Posting is idempotent: an event is identified by (source, external id)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

from carbonhub.db import write_session
from carbonhub.hub import Hub
from carbonhub.ledger import Outcome, Rejection, verify_ledger
from carbonhub.models import LedgerHead
from tests.fixtures.actors import event
from tests.ledger.conftest import LedgerView


def test_given_posted_events_when_posted_again_then_nothing_changes(
    make_person: Callable[..., str], post: Callable, ledger: LedgerView
) -> None:
    person = make_person()
    events = [
        event(person, "transport.bike_share", "2023-07-01 01:00", km="3.2"),
        event(person, "food.no_utensils", "2023-07-01 04:00", source="meituan", order=1),
        event(person, "transport.metro", "2023-07-02 01:00", source="metro", ride=1, km="8.5"),
    ]
    first = post(events)
    before = (ledger.entry_count(), ledger.rollups(), ledger.head(person).points_earned)

    again = post(events)

    assert first.posted == 3
    assert (again.posted, again.duplicates, again.quarantined) == (0, 3, 0)
    assert [r.seq for r in again.results] == [r.seq for r in first.results]
    assert (ledger.entry_count(), ledger.rollups(), ledger.head(person).points_earned) == before


def test_given_a_posted_event_when_its_id_comes_with_other_content_then_it_is_quarantined(
    make_person: Callable[..., str], post: Callable, ledger: LedgerView
) -> None:
    person = make_person()
    post([event(person, "transport.bike_share", "2023-07-01 01:00", external_id="r1", km="3.2")])

    report = post(
        [event(person, "transport.bike_share", "2023-07-01 01:00", external_id="r1", km="9.9")]
    )

    assert report.counts == {"quarantined": 1, "reason:conflicting_duplicate": 1}
    assert "posted before with different content" in (report.results[0].detail or "")
    assert [e.quantity_milli for e in ledger.entries(person)] == [3200]
    assert [q.external_id for q in ledger.quarantined("conflicting_duplicate")] == ["r1"]


def test_given_the_same_event_twice_in_one_batch_then_it_is_posted_once(
    make_person: Callable[..., str], post: Callable, ledger: LedgerView
) -> None:
    person = make_person()
    ride = event(person, "transport.bike_share", "2023-07-01 01:00", km="3.2")

    report = post([ride, ride])

    assert [r.outcome for r in report.results] == [Outcome.POSTED, Outcome.DUPLICATE]
    assert report.results[1].seq == report.results[0].seq == 1
    assert len(ledger.entries(person)) == 1


def test_given_one_id_with_two_contents_in_one_batch_then_the_second_is_quarantined(
    make_person: Callable[..., str], post: Callable, ledger: LedgerView
) -> None:
    person = make_person()

    report = post(
        [
            event(person, "transport.bike_share", "2023-07-01 01:00", external_id="r1", km="3.2"),
            event(person, "transport.bike_share", "2023-07-01 01:00", external_id="r1", km="4"),
        ]
    )

    assert [r.outcome for r in report.results] == [Outcome.POSTED, Outcome.QUARANTINED]
    assert report.results[1].reason is Rejection.CONFLICTING_DUPLICATE
    assert [e.quantity_milli for e in ledger.entries(person)] == [3200]


def test_given_a_refused_event_twice_in_one_batch_then_both_copies_are_quarantined(
    post: Callable, ledger: LedgerView
) -> None:
    stranger = event("p_nobody", "transport.bike_share", "2023-07-01 01:00", km="3.2")

    report = post([stranger, stranger])

    assert [r.outcome for r in report.results] == [Outcome.QUARANTINED, Outcome.QUARANTINED]
    assert {r.reason for r in report.results} == {Rejection.UNKNOWN_PERSON}
    assert len(ledger.quarantined("unknown_person")) == 2


def test_given_a_mapping_with_the_same_content_in_another_offset_then_it_is_a_duplicate(
    make_person: Callable[..., str], post: Callable
) -> None:
    person = make_person()
    ride = event(person, "transport.bike_share", "2023-07-01 01:00", km="3.2")
    post([ride])
    same_instant = ride.occurred_at.astimezone(timezone(timedelta(hours=8)))

    report = post([{**ride.payload(), "occurred_at": same_instant.isoformat()}])

    assert (report.duplicates, report.results[0].seq) == (1, 1)


def test_given_a_session_holding_the_chain_head_when_two_batches_post_in_it_then_the_chain_holds(
    hub: Hub, make_person: Callable[..., str]
) -> None:
    person = make_person()
    poster = hub.poster()
    first = event(person, "transport.bike_share", "2023-07-01 01:00", km="3.2")
    second = event(person, "transport.bike_share", "2023-07-01 05:00", km="1.6")
    poster.post(hub.engine, [first])

    with write_session(hub.engine) as session:
        held = session.get(LedgerHead, person)  # a caller that looked at the head first
        results = poster.post_batch(session, [second])
        results += poster.post_batch(
            session, [event(person, "transport.bike_share", "2023-07-01 09:00", km="2")]
        )
        assert held is not None

    assert [r.seq for r in results] == [2, 3]
    assert verify_ledger(hub.engine).ok


def test_given_events_at_the_same_instant_then_outcomes_follow_input_order(
    make_person: Callable[..., str], post: Callable
) -> None:
    person = make_person()
    moment = datetime(2023, 7, 1, 1, tzinfo=UTC)
    events = [
        event(person, "use.e_waybill", moment, source="sf", reference=f"w{i}", waybill=1)
        for i in range(3)
    ]

    report = post(events)

    assert [r.external_id for r in report.results] == [e.external_id for e in events]
    assert sorted(r.seq or 0 for r in report.results) == [1, 2, 3]
