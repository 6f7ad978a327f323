"""A report reads all the grids it will show in two statements, and each grid read in that batch
equals the grid read the plain way (``grid_reference``: its own aggregate over the daily sums,
grouped by the database, and its own counters)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event

from carbonhub.hub import Hub
from carbonhub.models import utcnow
from carbonhub.periods import Period
from carbonhub.reports import EsgReport, RegionReport
from carbonhub.reports.aggregation import GridSpec
from carbonhub.reports.breakdown import BreakdownReport, Part, WouldRead, memory_only
from carbonhub.reports.figures import Cell
from carbonhub.reports.partitions import day, days_of, month, quarter, year
from carbonhub.reports.sums import SumsRequest, plan, serves
from carbonhub.resolvers.common import catch_up_consents, caught_up, season_of
from carbonhub.schema.reports import figures_of
from tests.reports.conftest import EXAMPLES
from tests.reports.grid_reference import grid_alone
from tests.reports.worlds import (
    BEIJING,
    DISTRICTS,
    METHODOLOGIES,
    EventPlan,
    PersonPlan,
    Plan,
    World,
    plans,
)

EVERY_PART = frozenset(Part)
PERIODS = (month(2023, 7), quarter(2023, 3), year(2023), day(date(2023, 7, 14)))


@contextmanager
def counted_statements(hub: Hub) -> Iterator[list[str]]:
    """Every statement the hub's engine executes inside the block (not transaction control)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's transaction start is a statement too
            seen.append(statement)

    event.listen(hub.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(hub.engine, "before_cursor_execute", record)


def region_report(hub: Hub, code: str, period: Period, methodology: str) -> RegionReport:
    return RegionReport(
        engine=hub.engine,
        catalogue=hub.registry.catalogue,
        regions=hub.regions,
        k=hub.settings.privacy_k,
        region_code=code,
        methodology=hub.registry.resolve(methodology),
        period=period,
        programme_region=BEIJING,
        season=season_of(hub, code),
    )


def esg_report(hub: Hub, enterprise: str, period: Period, methodology: str) -> EsgReport:
    return EsgReport(
        engine=hub.engine,
        catalogue=hub.registry.catalogue,
        k=hub.settings.privacy_k,
        enterprise_id=enterprise,
        methodology=hub.registry.resolve(methodology),
        period=period,
        season=season_of(hub, BEIJING),
    )


def _plain(cell: Cell) -> Cell:
    """The cell without its travel figures (the reference reads reductions only)."""
    return Cell(cell.key, cell.reduction_mg, cell.participants, cell.entries, cell.quantity_milli)


def produce_all(report: BreakdownReport) -> None:
    for part in sorted(EVERY_PART):
        report.produce(part)


def assert_each_grid_as_read_alone(report: BreakdownReport) -> None:
    grids = report._grids
    assert grids, "the report read no grid"
    for memo, cells in grids.items():
        unit, start, end, by_child, steps, scope, any_methodology, all_time = memo
        children = {c: report.leaves_of(c) for c in report.child_units(unit)} if by_child else None
        spec = GridSpec(
            unit,
            report.leaves_of(unit),
            Period(start, end, "grid"),
            children,
            steps,
            scope,
            any_methodology,
            all_time,
        )
        alone = grid_alone(report.released, spec)
        assert {k: _plain(c) for k, c in cells.items()} == alone, memo


@pytest.fixture
def world(
    hub: Hub, reset: Callable[[], None], build_world: Callable[[Plan], World]
) -> Callable[[Plan], World]:
    def build(plan_: Plan) -> World:
        reset()
        built = build_world(plan_)
        catch_up_consents(hub, utcnow())
        return built

    return build


@EXAMPLES
@given(
    plan_=plans(),
    code=st.sampled_from((BEIJING, *DISTRICTS)),
    period=st.sampled_from(PERIODS),
    methodology=st.sampled_from(METHODOLOGIES),
)
def test_given_random_ledgers_when_a_region_report_is_produced_then_each_grid_equals_its_own_read(
    hub: Hub,
    world: Callable[[Plan], World],
    plan_: Plan,
    code: str,
    period: Period,
    methodology: str,
) -> None:
    world(plan_)
    report = region_report(hub, code, period, methodology)
    report.want(EVERY_PART)

    produce_all(report)

    assert_each_grid_as_read_alone(report)


@EXAMPLES
@given(
    plan_=plans(),
    period=st.sampled_from(PERIODS),
    methodology=st.sampled_from(METHODOLOGIES),
)
def test_given_random_ledgers_when_an_esg_report_is_produced_then_each_grid_equals_its_own_read(
    hub: Hub, world: Callable[[Plan], World], plan_: Plan, period: Period, methodology: str
) -> None:
    built = world(plan_)
    report = esg_report(hub, built.employer, period, methodology)
    report.want(EVERY_PART)

    produce_all(report)

    assert_each_grid_as_read_alone(report)


@pytest.mark.parametrize("period", PERIODS, ids=lambda p: p.label)
def test_given_every_part_wanted_when_a_district_report_is_produced_then_it_reads_in_two_statements(
    hub: Hub, period: Period
) -> None:
    report = region_report(hub, DISTRICTS[0], period, METHODOLOGIES[0])
    report.want(EVERY_PART)

    with counted_statements(hub) as statements:
        produce_all(report)

    assert len(statements) == 2, statements


@pytest.fixture
def twelve_riders(world: Callable[[Plan], World]) -> World:
    """An enterprise whose 12 consenting employees each rode a shared bike in July 2023."""
    employees = tuple(PersonPlan(DISTRICTS[0], True, True) for _ in range(12))
    bike = tuple(
        EventPlan(i, "transport.bike_share", date(2023, 7, 1 + i), 5, 4) for i in range(12)
    )
    return world(Plan(employees, bike))


@pytest.fixture
def july_esg(hub: Hub, twelve_riders: World) -> Callable[..., EsgReport]:
    """The twelve riders' employer's ESG report of July 2023, wanting ``parts``."""

    def report(
        parts: Iterable[Part] = EVERY_PART, methodology: str = METHODOLOGIES[0]
    ) -> EsgReport:
        made = esg_report(hub, twelve_riders.employer, month(2023, 7), methodology)
        made.want(parts)
        return made

    return report


def test_given_an_enterprise_with_enough_contributors_when_every_part_is_produced_then_it_reads_in_two_statements(
    hub: Hub, july_esg: Callable[..., EsgReport]
) -> None:
    report = july_esg()

    with counted_statements(hub) as statements:
        produce_all(report)

    # the sums, and the counters (the all-time one that says "enough contributors" among them)
    assert len(statements) == 2, statements
    assert report.total().participants == 12


def test_given_contributors_under_another_methodology_only_then_the_report_still_shows_what_it_does_not_cover(
    hub: Hub, july_esg: Callable[..., EsgReport]
) -> None:
    # ant-forest has no bike-share factor: its own all-time counter is empty, the others' not
    report = july_esg(methodology="ant-forest-2023@1.0")

    with counted_statements(hub) as statements:
        rows = report.by_behaviour()

    # the sums and the counters (its own all-time counter among them), then every methodology's
    assert len(statements) == 3, statements
    assert not report.few_contributors()
    assert [(r.behaviour, r.covered) for r in rows] == [("transport.bike_share", False)]


def test_given_nothing_due_when_a_report_is_read_caught_up_then_one_connection_serves_the_probe_and_the_reads(
    hub: Hub, july_esg: Callable[..., EsgReport]
) -> None:
    report = july_esg()
    checkouts: list[object] = []

    def checkout(*args: object) -> None:
        checkouts.append(args)

    event.listen(hub.engine, "checkout", checkout)
    try:
        with counted_statements(hub) as statements:
            caught_up(hub, utcnow(), lambda: produce_all(report))
    finally:
        event.remove(hub.engine, "checkout", checkout)

    # the catch-up probe (nothing due: no write transaction), the sums and the counters
    assert len(checkouts) == 1
    assert len(statements) == 3, statements
    assert all(s.lstrip().upper().startswith("SELECT") for s in statements), statements


def test_given_the_first_read_done_when_the_wanted_parts_are_produced_memory_only_then_nothing_is_read(
    hub: Hub, july_esg: Callable[..., EsgReport]
) -> None:
    report = july_esg()
    report.total()

    with counted_statements(hub) as statements, memory_only():
        produce_all(report)

    assert statements == []


def test_given_a_part_not_wanted_when_it_is_produced_memory_only_then_it_would_read(
    hub: Hub, july_esg: Callable[..., EsgReport]
) -> None:
    report = july_esg({Part.TOTAL})
    report.total()

    with counted_statements(hub) as statements, memory_only(), pytest.raises(WouldRead):
        report.by_category()

    assert statements == []


def test_given_a_part_not_wanted_when_a_field_asks_for_it_then_it_is_read_in_a_thread(
    july_esg: Callable[..., EsgReport],
) -> None:
    report = july_esg({Part.TOTAL})
    report.total()
    expected = july_esg()

    figures = asyncio.run(figures_of(report.by_category))

    assert figures == expected.by_category()
    assert [f.participants for f in figures] == [12]


def test_given_a_month_split_by_quarter_then_one_base_serves_the_month_the_quarter_and_its_months() -> (
    None
):
    q3 = quarter(2023, 3)
    months = tuple(month(2023, m) for m in (7, 8, 9))
    requests = [
        SumsRequest(("a",), month(2023, 7), (), None, "all"),
        SumsRequest(("a",), q3, months, None, "category"),
        SumsRequest(("a",), q3, (), {"a": "x"}, "all"),
    ]

    bases, served_by = plan(requests)

    assert [b.atoms for b in bases] == [months]
    assert served_by == [0, 0, 0]
    assert bases[0].by_unit
    assert bases[0].by_behaviour


def test_given_a_day_series_and_a_month_then_the_days_need_their_own_base() -> None:
    july = month(2023, 7)
    requests = [
        SumsRequest(
            ("a",), quarter(2023, 3), tuple(month(2023, m) for m in (7, 8, 9)), None, "all"
        ),
        SumsRequest(("a",), july, tuple(days_of(july)), None, "all"),
    ]

    bases, served_by = plan(requests)

    assert len(bases) == 2
    assert served_by == [0, 1]


def test_given_steps_that_straddle_a_period_then_they_do_not_serve_it() -> None:
    weeks = (
        Period(date(2023, 6, 26), date(2023, 7, 2), "w26"),
        Period(date(2023, 7, 3), date(2023, 7, 9), "w27"),
    )

    assert not serves(weeks, SumsRequest(("a",), month(2023, 7), (), None, "all"))
    assert serves(weeks, SumsRequest(("a",), weeks[1], (), None, "all"))


def test_given_a_report_planned_when_the_same_report_is_made_again_then_it_takes_the_kept_plan(
    july_esg: Callable[..., EsgReport],
) -> None:
    planned = july_esg()._plan()

    again = july_esg()._plan()

    assert again is planned


def test_given_a_report_planned_when_other_parts_are_wanted_then_it_is_planned_anew(
    july_esg: Callable[..., EsgReport],
) -> None:
    everything = july_esg()._plan()

    total_only = july_esg({Part.TOTAL})._plan()

    assert total_only is not everything
    assert set(total_only) < set(everything)
