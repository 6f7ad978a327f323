"""Caps count per person and LOCAL day or month (Asia/Shanghai), whatever the posting order."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbonhub.db import write_session
from carbonhub.hub import Hub
from carbonhub.ledger import BehaviourEvent, reverse_entry
from carbonhub.models import LedgerEntry
from tests.fixtures.actors import event
from tests.ledger.conftest import ANT, HANDBOOK, LedgerView, reductions

DB_EXAMPLES = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def metro(person: str, when: str | datetime) -> BehaviourEvent:
    return event(person, "transport.metro", when, source="metro", ride=1)


def ant(entry: LedgerEntry) -> dict[str, Any]:
    return reductions(entry)[ANT]


def test_given_five_metro_rides_in_a_local_day_then_the_sixth_gets_nothing_under_ant_forest(
    make_person: Callable[..., str], post: Callable, ledger: LedgerView
) -> None:
    person = make_person()
    # 2023-07-01 00:00 .. 05:00 UTC is 08:00 .. 13:00 in Beijing: one local day
    post([metro(person, f"2023-07-01 0{h}:00") for h in range(6)])

    entries = ledger.entries(person)

    assert [ant(e)["status"] for e in entries] == ["credited"] * 5 + ["capped"]
    assert [ant(e)["mg"] for e in entries] == [52_000] * 5 + [0]
    assert "cap of 5 a day reached" in str(ant(entries[-1])["note"])
    # a methodology without the cap still credits the sixth ride
    assert reductions(entries[-1])[HANDBOOK]["mg"] == 46_000


def test_given_rides_either_side_of_local_midnight_then_they_count_on_different_days(
    make_person: Callable[..., str], post: Callable, ledger: LedgerView
) -> None:
    person = make_person()
    # four rides on local 2023-07-01, then 15:30Z (23:30 local, 5th of the day), 16:30Z (00:30
    # local on 2023-07-02, 1st of that day) and 15:45Z (23:45 local, the 6th of 2023-07-01)
    post([metro(person, f"2023-07-01 0{h}:00") for h in range(4)])
    post([metro(person, "2023-07-01 15:30"), metro(person, "2023-07-01 16:30")])
    post([metro(person, "2023-07-01 15:45")])

    by_time = {e.occurred_at: e for e in ledger.entries(person)}

    def at(hour: int, minute: int) -> LedgerEntry:
        return by_time[datetime(2023, 7, 1, hour, minute, tzinfo=UTC)]

    assert at(15, 30).local_date == date(2023, 7, 1)
    assert at(16, 30).local_date == date(2023, 7, 2)
    assert ant(at(15, 30))["status"] == "credited"
    assert ant(at(16, 30))["status"] == "credited"
    assert ant(at(15, 45))["status"] == "capped"


def test_given_ten_utility_bills_in_a_month_then_the_eleventh_gets_nothing(
    make_person: Callable[..., str], post: Callable, ledger: LedgerView
) -> None:
    person = make_person()
    bills = [
        event(person, "digital_finance.utility_bill_online", f"2023-07-{day:02d} 02:00", bill=1)
        for day in range(1, 12)
    ]
    post(bills)
    post([event(person, "digital_finance.utility_bill_online", "2023-08-01 02:00", bill=1)])

    statuses = [ant(e)["status"] for e in ledger.entries(person)]

    assert statuses == ["credited"] * 10 + ["capped", "credited"]


def test_given_a_bill_on_the_first_local_day_of_a_month_then_it_counts_in_that_month(
    make_person: Callable[..., str], post: Callable, ledger: LedgerView
) -> None:
    person = make_person()
    post(
        [
            event(person, "digital_finance.utility_bill_online", f"2023-07-{day:02d} 02:00", bill=1)
            for day in range(1, 11)
        ]
    )

    # 2023-07-31 17:00Z is 2023-08-01 01:00 in Beijing: a new month, a new allowance
    post([event(person, "digital_finance.utility_bill_online", "2023-07-31 17:00", bill=1)])

    assert ant(ledger.entries(person)[-1])["status"] == "credited"


def test_given_rides_in_separate_batches_out_of_order_then_the_cap_holds(
    make_person: Callable[..., str], post: Callable, ledger: LedgerView
) -> None:
    person = make_person()
    post([metro(person, f"2023-07-01 0{h}:00") for h in (5, 6, 7)])
    post([metro(person, f"2023-07-01 0{h}:00") for h in (1, 2, 3)])
    post([metro(person, "2023-07-01 00:30")])

    credited = [ant(e)["mg"] for e in ledger.entries(person)]

    assert credited == [52_000] * 5 + [0, 0]


def test_given_a_reversed_ride_then_the_cap_frees_a_place(
    hub: Hub, make_person: Callable[..., str], post: Callable, ledger: LedgerView
) -> None:
    person = make_person()
    post([metro(person, f"2023-07-01 0{h}:00") for h in range(5)])
    first = ledger.entries(person)[0]
    assert first.id is not None
    with write_session(hub.engine) as session:
        reverse_entry(session, entry_id=first.id, reason="refunded", programmes=hub.programmes)

    post([metro(person, "2023-07-01 09:00")])

    assert ant(ledger.entries(person)[-1])["status"] == "credited"


@DB_EXAMPLES
@given(
    offsets=st.lists(
        st.integers(min_value=0, max_value=47 * 60), min_size=1, max_size=14, unique=True
    ),
    cuts=st.lists(st.integers(min_value=0, max_value=14), max_size=3),
    data=st.data(),
)
def test_property_whatever_the_batches_and_order_at_most_five_rides_a_local_day_are_credited(
    make_person: Callable[..., str],
    post: Callable,
    ledger: LedgerView,
    offsets: list[int],
    cuts: list[int],
    data: st.DataObject,
) -> None:
    person = make_person()
    start = datetime(2023, 6, 30, 16, tzinfo=UTC)  # local midnight, 2023-07-01
    rides = [metro(person, start + timedelta(minutes=m)) for m in offsets]
    rides = data.draw(st.permutations(rides))
    bounds = sorted({0, len(rides), *(min(c, len(rides)) for c in cuts)})
    for low, high in itertools.pairwise(bounds):
        post(rides[low:high])

    rides_per_day: dict[date, int] = {}
    for minutes in offsets:
        day = date(2023, 7, 1) + timedelta(days=minutes // (24 * 60))
        rides_per_day[day] = rides_per_day.get(day, 0) + 1
    credited: dict[date, int] = {}
    for entry in ledger.entries(person):
        credited[entry.local_date] = credited.get(entry.local_date, 0) + int(ant(entry)["mg"])
    assert credited == {day: 52_000 * min(5, n) for day, n in rides_per_day.items()}
