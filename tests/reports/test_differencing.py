"""Differencing: overlapping queries whose difference would isolate one person reveal nothing.

Two worlds under k = 3. In time: three regulars ride through July and a late joiner rides only
on 2023-07-31, so July minus its other days would be that one person. In space: one district
has a single resident while the city has many, so the city minus its other districts would be
that resident. A third world puts one person on a single day of the programme's season, the
one report period that is no calendar partition. Released figures an attacker can ask for (in
one dimension, then everything the city's agency may ask across districts and days) are fed to
an :class:`Attacker`, which decides exactly whether sums and differences of them give the
person away. Reports accept only predefined periods, so no free range can cut a day off a month.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest

from tests.fixtures.actors import event
from tests.fixtures.graphql import Execute, GraphQLResult, agency
from tests.reports.attacker import Attacker
from tests.reports.conftest import HAIDIAN, LONELY, REGULAR_DAYS
from tests.reports.queries import ask_totals
from tests.reports.worlds import BEIJING, bounds

# the days with rides: every other day is empty, released as 0 in July's series (and a day
# before the ledger's first data is refused as having none)
DAYS_WITH_DATA = [date.fromisoformat(d) for d in (*REGULAR_DAYS, "2023-07-31")]
Q3 = [date(2023, 7, 1) + timedelta(days=i) for i in range(92)]
LAST_DAY = date(2023, 7, 31)


@pytest.fixture
def privacy_k() -> int:
    return 3


def steps(report: dict[str, Any], series: str) -> dict[tuple[date, date], dict[str, Any]]:
    return {
        (date.fromisoformat(s["start"]), date.fromisoformat(s["end"])): s
        for s in report.get(series, [])
    }


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# --- in time: one person active only on the last day of July -----------------------------------


@pytest.fixture
def day_totals(gql: Execute) -> Callable[[str, list[date]], dict[date, dict[str, Any]]]:
    """Each day's own report of a region, asked in one operation."""

    def ask(code: str, days: list[date]) -> dict[date, dict[str, Any]]:
        data = ask_totals(gql, {f"d{d:%m%d}": (code, d.isoformat()) for d in days})
        return {d: data[f"d{d:%m%d}"]["report"] for d in days}

    return ask


def test_given_a_person_active_only_on_july_31_when_that_day_is_reported_then_it_is_suppressed(
    late_joiner: str, region_report: Callable[..., dict[str, Any]]
) -> None:
    day = region_report(HAIDIAN, "2023-07-31", series=False)

    assert day["suppressed"] is True
    assert (day["totalReductionKg"], day["participants"]) == (None, None)


def test_given_a_person_active_only_on_july_31_when_july_is_reported_by_day_then_a_complement_day_is_suppressed_too(
    late_joiner: str, region_report: Callable[..., dict[str, Any]]
) -> None:
    days = steps(region_report(HAIDIAN, "2023-07"), "days")

    assert days[LAST_DAY, LAST_DAY]["suppressed"] is True
    complements = [
        start
        for (start, _), step in days.items()
        if step["suppressed"] and start.isoformat() in REGULAR_DAYS
    ]
    assert complements, "07-31 is the only suppressed day: July minus the other days gives it"


def test_given_a_person_active_only_on_july_31_when_the_complement_day_is_reported_on_its_own_then_it_is_suppressed_too(
    late_joiner: str,
    region_report: Callable[..., dict[str, Any]],
    day_totals: Callable[[str, list[date]], dict[date, dict[str, Any]]],
) -> None:
    series = steps(region_report(HAIDIAN, "2023-07"), "days")
    own = day_totals(HAIDIAN, DAYS_WITH_DATA)

    for day in DAYS_WITH_DATA:
        step = series[day, day]
        assert own[day]["suppressed"] is step["suppressed"], (
            f"{day} is {'withheld' if step['suppressed'] else 'released'} in July's series "
            f"but {'withheld' if own[day]['suppressed'] else 'released'} as its own report"
        )


def test_given_a_person_active_only_on_july_31_then_no_sum_or_difference_of_released_figures_gives_their_reduction(
    late_joiner: str,
    region_report: Callable[..., dict[str, Any]],
    day_totals: Callable[[str, list[date]], dict[date, dict[str, Any]]],
    gql: Execute,
) -> None:
    attacker = Attacker(Q3)
    for period in ("2023-Q3", "2023-07"):
        report = region_report(HAIDIAN, period)
        if not report["suppressed"]:
            attacker.learns_sum_of(days_between(*_bounds(report)))
        for series in ("days", "weeks", "months"):
            for (start, end), step in steps(report, series).items():
                if not step["suppressed"]:
                    attacker.learns_sum_of(days_between(start, end))
    months = ("2023-07", "2023-08", "2023-09")
    totals = ask_totals(gql, {f"m{m[-2:]}": (HAIDIAN, m) for m in months})
    for month in months:
        if not totals[f"m{month[-2:]}"]["report"]["suppressed"]:
            attacker.learns_sum_of(days_between(*bounds(month)))
    for day, total in day_totals(HAIDIAN, DAYS_WITH_DATA).items():
        if not total["suppressed"]:
            attacker.learns_sum_of([day])

    assert not attacker.can_compute(LAST_DAY), "July 31 (one person) follows from released figures"


def _bounds(report: dict[str, Any]) -> tuple[date, date]:
    return (
        date.fromisoformat(report["period"]["start"]),
        date.fromisoformat(report["period"]["end"]),
    )


# --- in space: one district with a single resident ---------------------------------------------


def test_given_a_district_with_one_resident_when_the_city_is_reported_then_it_and_a_complement_district_are_suppressed(
    lonely_district: str, region_report: Callable[..., dict[str, Any]]
) -> None:
    children = {
        c["region"]["code"]: c for c in region_report(BEIJING, "2023-07", series=False)["children"]
    }

    assert children[LONELY]["suppressed"] is True
    assert (children[LONELY]["totalReductionKg"], children[LONELY]["participants"]) == (None, None)
    complements = [
        code
        for code, c in children.items()
        if c["suppressed"] and code in {"110101", "110105", HAIDIAN}
    ]
    assert len(complements) >= 1, (
        "the lonely district is the only suppressed one: city minus the rest gives it"
    )


def test_given_a_district_with_one_resident_when_each_district_is_reported_on_its_own_then_it_gets_the_citys_decision(
    lonely_district: str,
    hub: Any,
    region_report: Callable[..., dict[str, Any]],
    gql: Execute,
) -> None:
    children = region_report(BEIJING, "2023-07", series=False)["children"]
    districts = [c["region"]["code"] for c in children]
    own = ask_totals(gql, {f"r{code}": (code, "2023-07") for code in districts})

    for child in children:
        code = child["region"]["code"]
        alone = own[f"r{code}"]["report"]
        assert alone["suppressed"] is child["suppressed"], (
            f"district {code} is {'withheld' if child['suppressed'] else 'released'} among the "
            f"city's children but {'withheld' if alone['suppressed'] else 'released'} on its own"
        )
        if not alone["suppressed"]:
            assert alone["totalReductionKg"] == child["totalReductionKg"]


def test_given_a_district_with_one_resident_then_no_sum_or_difference_of_released_figures_gives_their_reduction(
    lonely_district: str,
    hub: Any,
    region_report: Callable[..., dict[str, Any]],
    gql: Execute,
) -> None:
    districts = list(hub.regions.children(BEIJING))
    attacker = Attacker(districts)
    city = region_report(BEIJING, "2023-07", series=False)
    if not city["suppressed"]:
        attacker.learns_sum_of(districts)
    for child in city["children"]:
        if not child["suppressed"]:
            attacker.learns_sum_of([child["region"]["code"]])
    own = ask_totals(gql, {f"r{code}": (code, "2023-07") for code in districts})
    for code in districts:
        if not own[f"r{code}"]["report"]["suppressed"]:
            attacker.learns_sum_of([code])

    assert not attacker.can_compute(LONELY), "the lonely resident follows from released figures"


# --- everything a city's agency may ask, in both dimensions at once -----------------------------

AUGUST_SEPTEMBER = ("2023-08", "2023-09")


@pytest.fixture
def agency_view(
    hub: Any, region_report: Callable[..., dict[str, Any]], gql: Execute
) -> Callable[[list[str], list[date]], Attacker]:
    """What Beijing's agency learns from July and the third quarter: the city's and the given
    districts' reports (totals, child regions, days and weeks of July, months of the quarter)
    and the given days' reports, all fed to an attacker whose unknowns are each district's
    figure on each day of July (and in August and September, which nothing asked splits)."""

    def view(districts_with_data: list[str], days_with_data: list[date]) -> Attacker:
        districts = list(hub.regions.children(BEIJING))
        july = days_between(*bounds("2023-07"))
        spans: list[Any] = [*july, *AUGUST_SEPTEMBER]
        attacker = Attacker([(d, span) for d in districts for span in spans])

        def learn(region: str, start: date, end: date, figure: dict[str, Any]) -> None:
            if figure["suppressed"]:
                return
            covered = [d for d in july if start <= d <= end] + [
                m for m in AUGUST_SEPTEMBER if start <= bounds(m)[0] and bounds(m)[1] <= end
            ]
            attacker.learns_sum_of(
                (district, span)
                for district in hub.regions.leaves_under(region)
                for span in covered
            )

        as_agency = agency(BEIJING)
        for region in (BEIJING, *districts_with_data):
            for period, series in (("2023-07", ("days", "weeks")), ("2023-Q3", ("months",))):
                report = region_report(region, period, series=series, principal=as_agency)
                start, end = bounds(period)
                learn(region, start, end, report)
                for child in report["children"]:
                    learn(child["region"]["code"], start, end, child)
                for name in series:
                    for step in report[name]:
                        first, last = (
                            date.fromisoformat(step["start"]),
                            date.fromisoformat(step["end"]),
                        )
                        learn(region, first, last, step)
        asked = {
            f"r{region}d{day:%m%d}": (region, day.isoformat())
            for region in (BEIJING, *districts_with_data)
            for day in days_with_data
        }
        found = ask_totals(gql, asked, children=True, principal=as_agency)
        for alias, (region, day) in asked.items():
            report = found[alias]["report"]
            when = date.fromisoformat(day)
            learn(region, when, when, report)
            for child in report["children"]:
                learn(child["region"]["code"], when, when, child)
        return attacker

    return view


def test_given_a_person_active_only_on_july_31_then_nothing_the_citys_agency_may_ask_gives_their_reduction(
    late_joiner: str, agency_view: Callable[[list[str], list[date]], Attacker]
) -> None:
    attacker = agency_view([HAIDIAN], DAYS_WITH_DATA)

    assert not attacker.can_compute((HAIDIAN, LAST_DAY)), (
        "Haidian on July 31 (one person) follows from the city's and Haidian's released figures"
    )


def test_given_a_district_with_one_resident_then_nothing_the_citys_agency_may_ask_gives_their_reduction(
    lonely_district: str, agency_view: Callable[[list[str], list[date]], Attacker]
) -> None:
    attacker = agency_view([LONELY, "110101", "110105", HAIDIAN], [date(2023, 7, 5)])

    assert not attacker.can_compute((LONELY, date(2023, 7, 5))), (
        "Yanqing on July 5 (one person) follows from the city's and districts' released figures"
    )


# --- the programme's season: a report period that is no calendar partition ---------------------


@pytest.fixture
def early_bird(make_person: Callable[..., str], post: Callable[..., Any]) -> str:
    """Three regulars of Haidian ride once a month through the season (June 15 to October 31,
    outside it the methodology quarantines rides); the early bird rides only on June 20."""
    regulars = [make_person(HAIDIAN) for _ in range(3)]
    bird = make_person(HAIDIAN)
    rides = [
        event(person, "transport.bike_share", f"{day} 00:30", km=str(2 + i), duration_s=1200)
        for day in ("2023-06-16", "2023-07-03", "2023-08-07", "2023-09-04", "2023-10-09")
        for i, person in enumerate(regulars)
    ]
    rides.append(event(bird, "transport.bike_share", "2023-06-20 00:30", km="7", duration_s=2400))
    post(rides)
    return bird


def test_given_a_person_active_only_on_one_day_of_the_season_then_no_sum_or_difference_with_the_calendar_gives_their_reduction(
    early_bird: str, region_report: Callable[..., dict[str, Any]]
) -> None:
    year = days_between(*bounds("2023"))
    attacker = Attacker(year)
    periods = [None, "2023", "2023-Q2", "2023-Q3", "2023-Q4"]
    periods += [f"2023-{m:02d}" for m in range(6, 11)]
    for period in periods:
        report = region_report(HAIDIAN, period)
        if not report["suppressed"]:
            attacker.learns_sum_of(days_between(*_bounds(report)))
        for series in ("days", "weeks", "months"):
            for (start, end), step in steps(report, series).items():
                if not step["suppressed"]:
                    attacker.learns_sum_of(days_between(start, end))

    for day in ("2023-06-16", "2023-06-20"):  # the days' own totals (their one-step series are
        report = region_report(HAIDIAN, day, series=False)  # tests/reports/test_exactness.py's)
        if not report["suppressed"]:
            attacker.learns_sum_of([date.fromisoformat(day)])

    assert not attacker.can_compute(date(2023, 6, 20)), (
        "June 20 (one person) follows from the season's and the calendar's released figures"
    )


# --- periods: only predefined partitions ---------------------------------------------------------

NOT_PARTITIONS = [
    pytest.param(
        {"period": None, "start": "2023-07-01", "end": "2023-07-30"}, id="from-to 07-01..07-30"
    ),
    pytest.param(
        {"period": None, "start": "2023-07-02", "end": "2023-07-31"}, id="from-to 07-02..07-31"
    ),
    pytest.param(
        {"period": None, "start": "2023-07-01", "end": "2023-08-31"}, id="from-to two months"
    ),
    pytest.param({"period": "2023-07-01..2023-07-30"}, id="range text"),
    pytest.param({"period": "2023-W27"}, id="ISO week"),
]


@pytest.mark.parametrize("asked", NOT_PARTITIONS)
def test_given_a_range_that_is_no_calendar_partition_when_a_region_report_is_asked_then_it_is_refused(
    late_joiner: str, ask_region: Callable[..., GraphQLResult], asked: dict[str, Any]
) -> None:
    result = ask_region(HAIDIAN, **asked)

    assert result.codes == ["BAD_USER_INPUT"], result.errors
    assert result.data is None or result.data["region"] is None


@pytest.mark.parametrize("asked", NOT_PARTITIONS)
def test_given_a_range_that_is_no_calendar_partition_when_an_esg_report_is_asked_then_it_is_refused(
    make_enterprise: Callable[..., str],
    ask_esg: Callable[..., GraphQLResult],
    asked: dict[str, Any],
) -> None:
    result = ask_esg(make_enterprise(), **asked)

    assert result.codes == ["BAD_USER_INPUT"], result.errors


@pytest.mark.parametrize(
    ("start", "end", "period"),
    [
        ("2023-07-01", "2023-07-31", "2023-07"),
        ("2023-07-01", "2023-09-30", "2023-Q3"),
        ("2023-01-01", "2023-12-31", "2023"),
        ("2023-07-31", "2023-07-31", "2023-07-31"),
    ],
)
def test_given_from_and_to_that_are_exactly_a_predefined_period_then_the_report_is_that_periods(
    late_joiner: str,
    region_report: Callable[..., dict[str, Any]],
    start: str,
    end: str,
    period: str,
) -> None:
    by_dates = region_report(HAIDIAN, None, start=start, end=end)
    by_name = region_report(HAIDIAN, period)

    assert {k: v for k, v in by_dates.items() if k != "period"} == {
        k: v for k, v in by_name.items() if k != "period"
    }
    assert (by_dates["period"]["start"], by_dates["period"]["end"]) == (start, end)
