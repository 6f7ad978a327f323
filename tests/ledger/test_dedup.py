"""A behaviour claimed by two connectors is counted once (time window or shared reference)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from carbonhub.db import write_session
from carbonhub.hub import Hub
from carbonhub.ledger import BehaviourEvent, Outcome, Rejection, reverse_entry
from tests.fixtures.actors import event
from tests.ledger.conftest import LedgerView


def ride(person: str, when: str, source: str, **kwargs: str) -> BehaviourEvent:
    return event(person, "transport.bike_share", when, source=source, km="3.2", **kwargs)


def test_given_a_ride_from_two_sources_3_minutes_apart_then_it_is_counted_once(
    make_person: Callable[..., str], post: Callable, ledger: LedgerView
) -> None:
    person = make_person()
    post([ride(person, "2023-07-01 01:00", "bikeshare", external_id="bk-1")])

    report = post([ride(person, "2023-07-01 01:03", "maas", external_id="maas-1")])

    result = report.results[0]
    assert (result.outcome, result.reason) == (Outcome.QUARANTINED, Rejection.DUPLICATE_CLAIM)
    assert "already claimed by bikeshare event bk-1" in (result.detail or "")
    assert [e.source for e in ledger.entries(person)] == ["bikeshare"]
    assert [q.external_id for q in ledger.quarantined("duplicate_claim")] == ["maas-1"]


def test_given_both_claims_in_one_batch_then_the_earlier_ride_is_kept_whatever_the_order(
    make_person: Callable[..., str], post: Callable, ledger: LedgerView
) -> None:
    person = make_person()

    report = post(
        [
            ride(person, "2023-07-01 01:03", "maas", external_id="maas-1"),
            ride(person, "2023-07-01 01:00", "bikeshare", external_id="bk-1"),
        ]
    )

    assert [r.outcome for r in report.results] == [Outcome.QUARANTINED, Outcome.POSTED]
    assert [e.external_id for e in ledger.entries(person)] == ["bk-1"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param(
            ("bikeshare", "2023-07-01 01:00"), ("maas", "2023-07-01 01:30"), id="30 min apart"
        ),
        pytest.param(
            ("bikeshare", "2023-07-01 01:00"), ("maas", "2023-07-01 01:11"), id="11 min apart"
        ),
        pytest.param(
            ("bikeshare", "2023-07-01 01:00"), ("bikeshare", "2023-07-01 01:03"), id="same source"
        ),
    ],
)
def test_given_rides_that_are_not_the_same_claim_then_both_count(
    make_person: Callable[..., str],
    post: Callable,
    ledger: LedgerView,
    first: tuple[str, str],
    second: tuple[str, str],
) -> None:
    person = make_person()

    report = post([ride(person, first[1], first[0]), ride(person, second[1], second[0])])

    assert report.posted == 2
    assert len(ledger.entries(person)) == 2


def test_given_the_same_time_for_two_persons_then_both_count(
    make_person: Callable[..., str], post: Callable
) -> None:
    report = post(
        [
            ride(make_person(), "2023-07-01 01:00", "bikeshare"),
            ride(make_person(), "2023-07-01 01:00", "maas"),
        ]
    )

    assert report.posted == 2


def waybill(person: str, source: str, reference: str) -> BehaviourEvent:
    return event(
        person, "use.e_waybill", "2023-07-01 02:00", source=source, reference=reference, waybill=1
    )


def test_given_one_waybill_reference_from_two_sources_then_it_is_counted_once(
    make_person: Callable[..., str], post: Callable, ledger: LedgerView
) -> None:
    person = make_person()
    post([waybill(person, "sf-express", "SF1234567890")])

    report = post([waybill(person, "taobao", "SF1234567890")])

    assert report.results[0].reason is Rejection.DUPLICATE_CLAIM
    assert "sf-express" in (report.results[0].detail or "")
    assert [e.source for e in ledger.entries(person)] == ["sf-express"]


def test_given_different_waybill_references_then_both_count(
    make_person: Callable[..., str], post: Callable
) -> None:
    person = make_person()

    report = post([waybill(person, "sf-express", "SF1"), waybill(person, "taobao", "SF2")])

    assert report.posted == 2


def test_given_a_reversed_claim_then_the_behaviour_can_be_claimed_again(
    hub: Hub, make_person: Callable[..., str], post: Callable, ledger: LedgerView
) -> None:
    person = make_person()
    post([ride(person, "2023-07-01 01:00", "bikeshare")])
    post([waybill(person, "sf-express", "SF1")])
    with write_session(hub.engine) as session:
        for entry in ledger.entries(person):
            assert entry.id is not None
            reverse_entry(
                session, entry_id=entry.id, reason="provider withdrew it", programmes=hub.programmes
            )

    report = post([ride(person, "2023-07-01 01:03", "maas"), waybill(person, "taobao", "SF1")])

    assert report.posted == 2


def walk(person: str, when: str, source: str) -> BehaviourEvent:
    return event(person, "transport.walk", when, source=source, step=8000, day=1)


def test_given_daily_walks_from_two_sources_on_consecutive_local_days_then_both_count(
    make_person: Callable[..., str], post: Callable
) -> None:
    person = make_person()
    # daily step totals stamped at local midnight: 2023-07-02 and 2023-07-03 in Beijing
    post([walk(person, "2023-07-01 16:00", "werun")])

    report = post([walk(person, "2023-07-02 16:00", "alipay")])

    assert report.posted == 1


def test_given_one_local_day_of_walking_from_two_sources_then_it_is_counted_once(
    make_person: Callable[..., str], post: Callable
) -> None:
    person = make_person()
    post([walk(person, "2023-07-01 16:00", "werun")])  # 00:00 on 2023-07-02, local

    report = post([walk(person, "2023-07-02 12:00", "alipay")])  # 20:00 on 2023-07-02, local

    assert report.results[0].reason is Rejection.DUPLICATE_CLAIM


def test_given_one_provider_resending_a_waybill_under_a_new_id_then_it_is_counted_once(
    make_person, post
):
    person = make_person()
    report = post([waybill(person, "logistics", "SF100"), waybill(person, "logistics", "SF100")])
    assert report.posted == 1
    assert report.results[1].reason is Rejection.DUPLICATE_CLAIM
