"""Events the ledger cannot post are quarantined with their reason; nothing is silently lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbonhub.hub import Hub
from carbonhub.ledger import BehaviourEvent, LedgerPoster, Outcome, Rejection
from carbonhub.methodology import ProgrammeDirectory
from tests.fixtures.actors import event
from tests.ledger.conftest import LedgerView

NOW = datetime(2023, 7, 1, 12, 0, tzinfo=UTC)
DB_EXAMPLES = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def bike(person: str, when: str = "2023-07-01 01:00", **measures: str | int) -> BehaviourEvent:
    return event(person, "transport.bike_share", when, **(measures or {"km": "3.2"}))


INVALID_EVENTS: list[Any] = [
    pytest.param(
        lambda p: event(p, "transport.teleport", "2023-07-01 01:00", km="3"),
        Rejection.UNKNOWN_BEHAVIOUR,
        "'transport.teleport' is not in the catalogue",
        id="unknown behaviour",
    ),
    pytest.param(
        lambda p: bike(p, litre="3"),
        Rejection.WRONG_UNIT,
        "measured in km, ride, not 'litre'",
        id="wrong unit",
    ),
    pytest.param(
        lambda p: bike(p, km="-3.2"),
        Rejection.NON_POSITIVE_QUANTITY,
        "-3.2 km must be positive",
        id="negative quantity",
    ),
    pytest.param(
        lambda p: bike(p, km="0"), Rejection.NON_POSITIVE_QUANTITY, "must be positive", id="zero"
    ),
    pytest.param(
        lambda p: bike(p, km="0.0004"),
        Rejection.NON_POSITIVE_QUANTITY,
        "must be positive",
        id="less than a thousandth",
    ),
    pytest.param(
        lambda p: bike(p, km="500"),
        Rejection.IMPLAUSIBLE_QUANTITY,
        "500 km in one transport.bike_share event exceeds the plausible 60 km",
        id="absurd distance",
    ),
    pytest.param(
        lambda p: bike(p, ride=2),
        Rejection.IMPLAUSIBLE_QUANTITY,
        "exceeds the plausible 1 ride",
        id="two rides in one event",
    ),
    pytest.param(
        lambda p: replace(bike(p, km="20"), duration_s=600),
        Rejection.IMPLAUSIBLE_SPEED,
        "120.0 km/h average exceeds the plausible 30 km/h",
        id="bike 20 km in 10 minutes",
    ),
    pytest.param(
        lambda p: replace(bike(p), duration_s=0),
        Rejection.MALFORMED,
        "duration_s must be positive",
        id="zero duration",
    ),
    pytest.param(
        lambda p: bike(p, "2023-07-01 12:06"),
        Rejection.FUTURE_TIME,
        "is in the future",
        id="six minutes in the future",
    ),
    pytest.param(
        lambda p: bike(p, "2023-06-01 02:00"),
        Rejection.OUTSIDE_METHODOLOGY_PERIOD,
        "2023-06-01 is outside beijing-green-life-2023@1.0, in effect 2023-06-15..2023-10-31",
        id="before the primary methodology's effective date",
    ),
    pytest.param(
        lambda p: bike("p_nobody"),
        Rejection.UNKNOWN_PERSON,
        "no person 'p_nobody' is registered",
        id="unknown person",
    ),
    pytest.param(
        lambda p: replace(bike(p), occurred_at=datetime(2023, 7, 1, 1)),
        Rejection.MALFORMED,
        "has no time zone offset",
        id="event object with a naive time",
    ),
    pytest.param(
        lambda p: replace(bike(p), occurred_at="2023-07-01T01:00:00+00:00"),
        Rejection.MALFORMED,
        "occurred_at must be a datetime",
        id="event object with a text time",
    ),
    pytest.param(
        lambda p: replace(bike(p), measures={"km": Decimal("NaN")}),
        Rejection.MALFORMED,
        "is not finite",
        id="event object with a NaN quantity",
    ),
    pytest.param(
        lambda p: replace(bike(p), source="s" * 65),
        Rejection.MALFORMED,
        "source is longer than 64 characters",
        id="a source longer than its column",
    ),
]


def mapping(person: str, **changes: Any) -> dict[str, Any]:
    raw = bike(person).payload()
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not ...}


MALFORMED_MAPPINGS: list[Any] = [
    pytest.param(
        lambda p: mapping(p, external_id=...), "external_id must be a non-empty", id="no id"
    ),
    pytest.param(lambda p: mapping(p, source=...), "source must be a non-empty", id="no source"),
    pytest.param(
        lambda p: mapping(p, person_id=""), "person_id must be a non-empty", id="empty person"
    ),
    pytest.param(lambda p: mapping(p, occurred_at=...), "occurred_at is missing", id="no time"),
    pytest.param(
        lambda p: mapping(p, occurred_at="2023-07-01T01:00:00"),
        "has no time zone offset",
        id="naive timestamp",
    ),
    pytest.param(
        lambda p: mapping(p, occurred_at="yesterday"), "not an ISO 8601 timestamp", id="not a time"
    ),
    pytest.param(
        lambda p: mapping(p, occurred_at="0001-01-01T00:00:00+08:00"),
        "is out of range",
        id="a time before year 1 in UTC",
    ),
    pytest.param(
        lambda p: mapping(p, measures={"km": "three"}),
        "quantity of km 'three' is not a number",
        id="non-numeric quantity",
    ),
    pytest.param(
        lambda p: mapping(p, measures={"km": True}), "must be a number", id="boolean quantity"
    ),
    pytest.param(
        lambda p: mapping(p, measures={"km": "1e10000000"}),
        "quantity of km '1e10000000' is out of range",
        id="astronomical quantity (must not hang)",
    ),
    pytest.param(
        lambda p: mapping(p, measures={}), "measures must be a non-empty", id="no measures"
    ),
    pytest.param(
        lambda p: mapping(p, duration_s="600"), "duration_s must be an integer", id="text duration"
    ),
    pytest.param(
        lambda p: mapping(p, business_travel="maybe"),
        "business_travel must be true or false",
        id="business travel neither true nor false",
    ),
    pytest.param(lambda p: ["not", "an", "object"], "must be an object", id="a list"),
]


@pytest.fixture
def poster(poster_at: Callable[[datetime], LedgerPoster]) -> LedgerPoster:
    return poster_at(NOW)


@pytest.mark.parametrize(("make", "reason", "detail"), INVALID_EVENTS)
def test_given_an_invalid_event_when_posted_then_it_is_quarantined_with_its_reason(
    hub: Hub,
    make_person: Callable[..., str],
    poster: LedgerPoster,
    ledger: LedgerView,
    make: Callable[[str], BehaviourEvent],
    reason: Rejection,
    detail: str,
) -> None:
    bad = make(make_person())

    report = poster.post(hub.engine, [bad])

    assert report.counts == {"quarantined": 1, f"reason:{reason.value}": 1}
    assert detail in (report.results[0].detail or "")
    (stored,) = ledger.quarantined()
    assert (stored.reason, stored.external_id) == (reason.value, bad.external_id)
    assert detail in stored.detail
    assert json.loads(stored.payload)["external_id"] == bad.external_id
    assert ledger.entry_count() == 0


@pytest.mark.parametrize(("make", "detail"), MALFORMED_MAPPINGS)
def test_given_a_malformed_mapping_when_posted_then_it_is_quarantined_as_malformed(
    hub: Hub,
    make_person: Callable[..., str],
    poster: LedgerPoster,
    ledger: LedgerView,
    make: Callable[[str], Any],
    detail: str,
) -> None:
    raw = make(make_person())

    report = poster.post(hub.engine, [raw])

    assert report.results[0].reason is Rejection.MALFORMED
    assert detail in (report.results[0].detail or "")
    (stored,) = ledger.quarantined("malformed")
    assert json.loads(stored.payload) == raw
    assert ledger.entry_count() == 0


def test_given_a_time_within_the_clock_skew_then_it_is_posted(
    hub: Hub, make_person: Callable[..., str], poster: LedgerPoster
) -> None:
    report = poster.post(hub.engine, [bike(make_person(), "2023-07-01 12:04")])

    assert report.posted == 1


def test_given_local_midnight_of_the_first_season_day_then_it_is_inside_the_season(
    hub: Hub, make_person: Callable[..., str], poster: LedgerPoster
) -> None:
    # 2023-06-14 16:00Z is 00:00 on 2023-06-15 in Beijing; 15:59Z is still 2023-06-14
    person = make_person()

    report = poster.post(
        hub.engine, [bike(person, "2023-06-14 16:00"), bike(person, "2023-06-14 15:59")]
    )

    assert [r.outcome for r in report.results] == [Outcome.POSTED, Outcome.QUARANTINED]
    assert report.results[1].reason is Rejection.OUTSIDE_METHODOLOGY_PERIOD


def test_given_a_region_no_programme_covers_then_the_event_is_quarantined(
    hub: Hub, make_person: Callable[..., str], ledger: LedgerView
) -> None:
    without_tianjin = ProgrammeDirectory(p for p in hub.programmes.all() if p.region != "120000")
    poster = LedgerPoster(hub.registry, without_tianjin, clock=lambda: NOW)

    report = poster.post(hub.engine, [bike(make_person("120101"))])

    assert report.results[0].reason is Rejection.NO_PROGRAMME
    assert "no carbon-inclusion programme covers region 120101" in (report.results[0].detail or "")
    assert len(ledger.quarantined("no_programme")) == 1


def test_given_one_bad_event_in_a_batch_then_the_others_are_still_posted(
    hub: Hub, make_person: Callable[..., str], poster: LedgerPoster
) -> None:
    person = make_person()

    report = poster.post(
        hub.engine,
        [bike(person, km="3"), {"garbage": True}, bike(person, "2023-07-01 05:00", km="2")],
    )

    assert [r.outcome for r in report.results] == [
        Outcome.POSTED,
        Outcome.QUARANTINED,
        Outcome.POSTED,
    ]


# -- nothing silently lost ---------------------------------------------------------------------

KINDS = [
    "ride",
    "order",
    "metro",
    "unknown_behaviour",
    "wrong_unit",
    "negative",
    "future",
    "stranger",
    "malformed",
    "repeat",
    "conflict",
]


def build(kind: str, person: str, index: int, earlier: list[Any]) -> Any:
    when = f"2023-07-{1 + index % 28:02d} {index % 24:02d}:{index % 60:02d}"
    if kind in {"repeat", "conflict"} and earlier:
        previous = earlier[index % len(earlier)]
        if kind == "repeat" or not isinstance(previous, BehaviourEvent):
            return previous
        return replace(previous, measures={"ride": Decimal(1), "km": Decimal("1.234")})
    return {
        "ride": lambda: event(person, "transport.bike_share", when, km="2.5"),
        "order": lambda: event(person, "food.no_utensils", when, source="meituan", order=1),
        "metro": lambda: event(person, "transport.metro", when, source="metro", ride=1),
        "unknown_behaviour": lambda: event(person, "transport.hoverboard", when),
        "wrong_unit": lambda: event(person, "food.no_utensils", when, km=1),
        "negative": lambda: event(person, "transport.bike_share", when, km="-1"),
        "future": lambda: event(person, "transport.bike_share", "2024-01-01 00:00", km="1"),
        "stranger": lambda: event("p_stranger", "transport.bike_share", when, km="1"),
        "malformed": lambda: {"source": "x", "external_id": f"m{index}", "measures": "?"},
        "repeat": lambda: event(person, "use.e_waybill", when, source="sf", waybill=1),
        "conflict": lambda: event(person, "use.e_waybill", when, source="jd", waybill=1),
    }[kind]()


@DB_EXAMPLES
@given(
    kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=25), batch_size=st.integers(1, 30)
)
def test_property_every_event_is_posted_a_duplicate_or_quarantined(
    hub: Hub,
    make_person: Callable[..., str],
    poster: LedgerPoster,
    ledger: LedgerView,
    kinds: list[str],
    batch_size: int,
) -> None:
    person = make_person()
    events: list[Any] = []
    for index, kind in enumerate(kinds):
        events.append(build(kind, person, index, events))
    entries_before, quarantined_before = ledger.entry_count(), len(ledger.quarantined())

    report = poster.post(hub.engine, events, batch_size=batch_size)

    assert len(report.results) == len(events)
    assert report.posted + report.duplicates + report.quarantined == len(events)
    assert ledger.entry_count() - entries_before == report.posted
    assert len(ledger.quarantined()) - quarantined_before == report.quarantined
    assert all((r.reason is None) == (r.outcome is not Outcome.QUARANTINED) for r in report.results)
    assert all(r.seq is not None for r in report.results if r.outcome is not Outcome.QUARANTINED)
