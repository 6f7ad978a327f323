"""Exactness: every figure a report releases is the brute-force sum of the ledger entries.

With k = 1 nothing is suppressed, so every cell can be checked: each total equals the sum of
each of its breakdowns (categories, behaviours, child regions, day/week/month series) to the
milligram, compared as Decimal, and every figure equals what ``oracle.py`` recomputes from
``ledger_entry`` under the consent rules (residents sharing with the region's programme,
employees sharing with their employer). Worlds are random: persons in several districts, most
consenting, some employed, behaviours some methodologies cover and others do not, some credits
reversed, on random days of July and August 2023.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from sqlalchemy import text

from carbonhub.hub import Hub
from tests.fixtures.actors import event
from tests.reports.cells import take_apart
from tests.reports.checks import (
    active_behaviours,
    assert_comparison_exact,
    assert_exact,
    assert_not_covered_rows,
)
from tests.reports.conftest import EXAMPLES
from tests.reports.oracle import LedgerOracle
from tests.reports.queries import SERIES
from tests.reports.worlds import (
    BEIJING,
    DISTRICTS,
    METHODOLOGIES,
    EventPlan,
    PersonPlan,
    Plan,
    World,
    bounds,
    periods_with_events,
    plans,
)

REGIONS = st.sampled_from((BEIJING, *DISTRICTS))
ONE_METHODOLOGY = st.sampled_from(METHODOLOGIES)


@pytest.fixture
def privacy_k() -> int:
    """Nothing is suppressed, so every cell can be compared with the brute force."""
    return 1


def region_scopes(oracle: LedgerOracle, code: str, period: str) -> dict[str, Any]:
    start, end = bounds(period)
    return {m: oracle.region(code, start, end, m) for m in METHODOLOGIES}


def enterprise_scopes(oracle: LedgerOracle, enterprise: str, period: str) -> dict[str, Any]:
    start, end = bounds(period)
    return {m: oracle.enterprise(enterprise, start, end, m) for m in METHODOLOGIES}


def contributors(oracle: LedgerOracle, enterprise: str) -> set[str]:
    """Consenting employees with a counted entry, ever, under any methodology."""
    found: set[str] = set()
    for m in METHODOLOGIES:
        found |= oracle.enterprise(enterprise, date.min, date.max, m).truth().persons
    return found


@EXAMPLES
@given(plan=plans(), region=REGIONS, methodology=ONE_METHODOLOGY, data=st.data())
def test_given_random_ledgers_when_a_region_is_reported_then_every_figure_is_the_brute_force_sum(
    hub: Hub,
    reset: Callable[[], None],
    build_world: Callable[[Plan], World],
    truth: Callable[[], LedgerOracle],
    region_report: Callable[..., dict[str, Any]],
    plan: Plan,
    region: str,
    methodology: str,
    data: st.DataObject,
) -> None:
    reset()
    build_world(plan)
    period = data.draw(st.sampled_from(periods_with_events(plan)), label="period")
    interval = data.draw(st.sampled_from(SERIES), label="series")

    report = region_report(region, period, methodology, series=(interval,))

    oracle = truth()
    scopes = region_scopes(oracle, region, period)
    assert (report["period"]["start"], report["period"]["end"]) == tuple(
        d.isoformat() for d in bounds(period)
    )
    apart = take_apart(
        report,
        scopes[methodology],
        scope_id=region,
        methodology=hub.registry.resolve(methodology),
        child_of=oracle.child_of(region),
    )
    assert len(report["children"]) == len(hub.regions.children(region))
    assert_exact(
        apart,
        scopes[methodology],
        hub.registry.resolve(methodology),
        active_behaviours(scopes.values()),
        f"region {region} {period} {methodology}",
    )


@EXAMPLES
@given(plan=plans(), methodology=ONE_METHODOLOGY, data=st.data())
def test_given_random_ledgers_when_an_enterprise_is_reported_then_every_figure_is_the_brute_force_sum(
    hub: Hub,
    reset: Callable[[], None],
    build_world: Callable[[Plan], World],
    truth: Callable[[], LedgerOracle],
    esg_report: Callable[..., dict[str, Any]],
    plan: Plan,
    methodology: str,
    data: st.DataObject,
) -> None:
    reset()
    world = build_world(plan)
    oracle = truth()
    # an employer with fewer than k (here 1) contributing employees releases nothing at all:
    # tests/reports/test_privacy.py holds that rule, this test the figures of the others
    assume(contributors(oracle, world.employer))
    period = data.draw(st.sampled_from(periods_with_events(plan)), label="period")
    interval = data.draw(st.sampled_from(SERIES), label="series")

    report = esg_report(world.employer, period, methodology, series=(interval,))

    scopes = enterprise_scopes(oracle, world.employer, period)
    apart = take_apart(
        report,
        scopes[methodology],
        scope_id=world.employer,
        methodology=hub.registry.resolve(methodology),
    )
    assert_exact(
        apart,
        scopes[methodology],
        hub.registry.resolve(methodology),
        active_behaviours(scopes.values()),
        f"enterprise {period} {methodology}",
    )


@EXAMPLES
@given(plan=plans(), region=REGIONS, data=st.data())
def test_given_random_ledgers_when_methodologies_are_compared_then_each_gives_its_own_brute_force(
    hub: Hub,
    reset: Callable[[], None],
    build_world: Callable[[Plan], World],
    truth: Callable[[], LedgerOracle],
    region_report: Callable[..., dict[str, Any]],
    esg_report: Callable[..., dict[str, Any]],
    plan: Plan,
    region: str,
    data: st.DataObject,
) -> None:
    """On both reports: each compared methodology's figures are that methodology's brute
    force, and behaviours it does not cover say so (covered: false, no figures, never zero)."""
    reset()
    world = build_world(plan)
    assume(contributors(truth(), world.employer))
    periods = st.sampled_from(periods_with_events(plan))
    region_period = data.draw(periods, label="region period")
    esg_period = data.draw(periods, label="esg period")
    asked = data.draw(
        st.lists(st.sampled_from(METHODOLOGIES), min_size=1, max_size=4, unique=True),
        label="compared, in this order",
    )

    on_region = region_report(region, region_period, compare=tuple(asked), series=False)
    on_esg = esg_report(world.employer, esg_period, compare=tuple(asked), series=False)

    oracle = truth()
    assert_comparison_exact(
        on_region["compare"],
        asked,
        region_scopes(oracle, region, region_period),
        hub.registry,
        f"region {region} {region_period}",
    )
    assert_comparison_exact(
        on_esg["compare"],
        asked,
        enterprise_scopes(oracle, world.employer, esg_period),
        hub.registry,
        f"esg {esg_period}",
    )


# --- the cases the properties rest on, spelled out ---------------------------------------------

ALICE_BOB_CAROL = Plan(
    persons=(
        PersonPlan("110108", consents=True, employed=True),
        PersonPlan("110108", consents=True, employed=True),
        PersonPlan("110105", consents=False, employed=True),
    ),
    events=(
        EventPlan(0, "transport.bike_share", bounds("2023-07-03")[0], 30, 8),  # 4 km: 1000 g
        EventPlan(1, "transport.bike_share", bounds("2023-07-04")[0], 30, 4),  # 2 km: 500 g
        EventPlan(1, "food.no_utensils", bounds("2023-07-04")[0], 300, 1),  # 45.72 g
        EventPlan(2, "transport.bike_share", bounds("2023-07-05")[0], 30, 20),  # not consenting
    ),
)


def test_given_a_reversed_credit_then_the_report_subtracts_it_and_its_person_no_longer_takes_part(
    hub: Hub,
    build_world: Callable[[Plan], World],
    region_report: Callable[..., dict[str, Any]],
    reverse: Callable[[int], None],
) -> None:
    world = build_world(ALICE_BOB_CAROL)
    (alices_ride,) = _entry_ids(hub, world.persons[0])

    reverse(alices_ride)
    haidian = region_report("110108", "2023-07")

    assert Decimal(haidian["totalReductionKg"]) == Decimal("0.54572")  # Bob: 500 g + 45.72 g
    assert haidian["participants"] == 1
    bike = next(
        r for r in haidian["byBehaviour"] if r["behaviour"]["code"] == "transport.bike_share"
    )
    assert (bike["participants"], bike["entries"]) == (1, 1)


def test_given_a_resident_without_a_regional_consent_then_no_figure_includes_them(
    build_world: Callable[[Plan], World], region_report: Callable[..., dict[str, Any]]
) -> None:
    build_world(ALICE_BOB_CAROL)

    beijing = region_report(BEIJING, "2023-07")

    assert beijing["participants"] == 2
    assert Decimal(beijing["totalReductionKg"]) == Decimal("1.54572")
    chaoyang = next(c for c in beijing["children"] if c["region"]["code"] == "110105")
    assert chaoyang["participants"] == 0
    assert Decimal(chaoyang["totalReductionKg"]) == 0


def test_given_behaviours_only_residents_without_a_regional_consent_did_then_the_report_does_not_mention_them(
    make_person: Callable[..., str],
    post: Callable[..., Any],
    region_report: Callable[..., dict[str, Any]],
) -> None:
    sharing = make_person("110108")
    private = make_person("110108", consents=False)
    post(
        [
            event(sharing, "transport.bike_share", "2023-07-03 00:30", km="4", duration_s=1200),
            event(private, "transport.bus", "2023-07-03 01:30", source="transit", km="4", ride=1),
            event(private, "transport.metro", "2023-07-03 02:30", source="transit", km="9", ride=1),
        ]
    )

    report = region_report("110108", "2023-07", "beijing-handbook-2022", series=False)

    mentioned = {row["behaviour"]["code"]: row["covered"] for row in report["byBehaviour"]}
    assert mentioned == {"transport.bike_share": True}


def test_given_behaviours_a_methodology_does_not_cover_then_they_are_listed_as_not_covered_not_as_zero(
    hub: Hub,
    make_person: Callable[..., str],
    post: Callable[..., Any],
    region_report: Callable[..., dict[str, Any]],
) -> None:
    rider = make_person("110108")
    post(
        [
            event(rider, "transport.bike_share", "2023-07-03 00:30", km="4", duration_s=1200),
            event(rider, "transport.metro", "2023-07-03 02:00", source="transit", km="10", ride=1),
        ]
    )

    report = region_report("110108", "2023-07", "shenzhen-transit-2021")

    shenzhen = hub.registry.resolve("shenzhen-transit-2021")
    not_covered = [r for r in report["byBehaviour"] if not r["covered"]]
    assert_not_covered_rows(not_covered, shenzhen, {"transport.bike_share"}, "shenzhen")


def _entry_ids(hub: Hub, person: str) -> list[int]:
    """The ids of the person's ledger entries, read straight from the table."""
    with hub.engine.connect() as connection:
        return list(
            connection.scalars(
                text("SELECT id FROM ledger_entry WHERE person_id = :p ORDER BY id"), {"p": person}
            )
        )


def test_given_a_one_day_report_then_its_week_and_month_steps_are_that_days_figures(
    make_person: Callable[..., str],
    post: Callable[..., Any],
    region_report: Callable[..., dict[str, Any]],
) -> None:
    rider = make_person("110108")
    post([event(rider, "transport.bike_share", "2023-07-12 00:30", km="4", duration_s=1200)])

    day = region_report("110108", "2023-07-12")

    assert Decimal(day["totalReductionKg"]) == Decimal(1)
    for series in ("days", "weeks", "months"):
        (step,) = day[series]
        assert (step["start"], step["end"]) == ("2023-07-12", "2023-07-12"), series
        assert Decimal(step["reductionKg"]) == Decimal(1), f"{series}: {step}"
        assert step["participants"] == 1, f"{series}: {step}"
