"""Account histories: deterministic, numbered in time order, shaped by the switches, realistic."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from carbonhub.connectors.simulators import PROVIDERS, SimulatorOptions, create_simulator
from carbonhub.connectors.simulators.framework import Simulator
from tests.connectors.simulators.helpers import ID_FIELDS, account

SHANGHAI = ZoneInfo("Asia/Shanghai")
PROVIDER_SLUGS = sorted(PROVIDERS)


def simulator(provider: str, **switches: Any) -> Simulator:
    """The state object of a fresh simulator app (histories are generated on demand)."""
    state: Simulator = create_simulator(provider, SimulatorOptions(**switches)).state.simulator
    return state


def histories(provider: str, accounts: int, **switches: Any) -> list[tuple[dict[str, Any], ...]]:
    """The records of accounts 1..accounts."""
    state = simulator(provider, accounts=accounts, **switches)
    return [state.history(account(provider, n)).records for n in range(1, accounts + 1)]


def occurred(provider: str, record: dict[str, Any]) -> datetime:
    """When a record's behaviour happened, whatever the provider's time format."""
    if provider == "bikeshare":
        return datetime.fromisoformat(record["started_at"])
    if provider == "takeaway":
        return datetime.fromtimestamp(record["paid_at"], UTC)
    if provider == "logistics":
        return datetime.fromtimestamp(record["signed_at"] / 1000, UTC)
    return datetime.fromisoformat(record["tap_in"])


def hours(start: str, end: str) -> Decimal:
    """The hours between two ISO 8601 instants."""
    seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return Decimal(seconds) / 3600


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_records_are_numbered_by_account_in_time_order(provider: str) -> None:
    state = simulator(provider, accounts=3)

    history = state.history(account(provider, 2))

    ids = [record[ID_FIELDS[provider]] for record in history.records]
    assert ids == [f"{account(provider, 2)}-{i:06d}" for i in range(1, len(ids) + 1)]
    assert list(history.times) == sorted(history.times)


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_the_same_seed_gives_the_same_history(provider: str) -> None:
    first = histories(provider, 3, seed=7)

    second = histories(provider, 3, seed=7)

    assert first == second
    assert any(first)


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_another_seed_gives_another_history(provider: str) -> None:
    first = histories(provider, 3, seed=7)

    second = histories(provider, 3, seed=8)

    assert first != second


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_a_history_stays_within_the_local_days_asked_for(provider: str) -> None:
    start, end = date(2023, 7, 1), date(2023, 7, 10)

    records = [r for h in histories(provider, 20, start=start, end=end) for r in h]

    assert records
    # a late trip may end just after midnight; it started on one of the days
    assert all(start <= occurred(provider, r).astimezone(SHANGHAI).date() <= end for r in records)


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_activity_scales_the_number_of_records(provider: str) -> None:
    quiet = sum(map(len, histories(provider, 20, activity=0.5)))

    busy = sum(map(len, histories(provider, 20, activity=2.0)))

    none = sum(map(len, histories(provider, 20, activity=0.0)))
    assert none == 0
    assert busy > 2 * quiet > 0


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_some_accounts_have_no_records(provider: str) -> None:
    sizes = [len(h) for h in histories(provider, 100)]

    assert 0 < sizes.count(0) < 50


def test_a_history_is_generated_once_and_kept() -> None:
    state = simulator("transit", accounts=2)

    first = state.history("M000001")

    assert state.history("M000001") is first


def test_bike_rides_include_e_bikes_and_about_three_in_a_thousand_implausibly_fast() -> None:
    rides = [r for h in histories("bikeshare", 300) for r in h]

    speeds = [
        Decimal(r["distance_m"]) / 1000 / hours(r["started_at"], r["ended_at"])
        for r in rides
        if r["vehicle"] == "bike"
    ]
    vehicles = Counter(r["vehicle"] for r in rides)
    fast = sum(speed > 30 for speed in speeds)
    assert set(vehicles) == {"bike", "ebike"}
    assert 0.0005 < fast / len(speeds) < 0.01
    assert all(speed >= 40 for speed in speeds if speed > 30)


def test_orders_are_all_without_tableware_and_a_few_were_cancelled() -> None:
    orders = [r for h in histories("takeaway", 200) for r in h]

    statuses = Counter(r["status"] for r in orders)
    assert {r["tableware"] for r in orders} == {"none"}
    assert 0.005 < statuses["cancelled"] / len(orders) < 0.05


def test_a_few_parcels_travel_on_paper_waybills() -> None:
    items = [r for h in histories("logistics", 200) for r in h]

    paper = sum(not r["electronic"] for r in items)
    assert 0.01 < paper / len(items) < 0.06
    assert {r["pieces"] for r in items} == {1, 2, 3}


def test_transit_trips_are_metro_and_bus_rides_at_plausible_speeds() -> None:
    trips = [r for h in histories("transit", 100) for r in h]

    modes = Counter(r["mode"] for r in trips)
    for trip in trips:
        limit = 160 if trip["mode"] == "metro" else 90
        assert 0 < Decimal(trip["distance_km"]) / hours(trip["tap_in"], trip["tap_out"]) < limit
    assert set(modes) == {"metro", "bus"}
