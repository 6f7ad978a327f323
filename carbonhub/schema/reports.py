"""Released aggregates: regional and enterprise ESG reports, their breakdowns and comparisons.

Every breakdown row carries ``participants`` and ``suppressed``; a suppressed row carries no
figures (null), and parents still include it in their totals.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Generic, TypeVar

import strawberry
from strawberry.federation.schema_directives import Cost

from carbonhub import reports as domain
from carbonhub.periods import Interval as DomainInterval
from carbonhub.reports import Figure, kg
from carbonhub.reports.breakdown import WouldRead, memory_only
from carbonhub.reports.scope import MAX_COMPARED
from carbonhub.resolvers import region as region_resolvers
from carbonhub.resolvers.common import fields_wanted
from carbonhub.resolvers.context import Info, in_thread
from carbonhub.schema.cost import (
    BEHAVIOURS,
    CATEGORIES,
    CHILD_REGIONS,
    MONTHS,
    REPORT_WEIGHT,
    SERIES_BY_INTERVAL,
    SERIES_POINTS,
    list_size,
    one_per,
    page,
    sized_by,
)
from carbonhub.schema.reference import BehaviourCategory, BehaviourType, Methodology, behaviour_type
from carbonhub.schema.region import Region

T = TypeVar("T")
Interval = strawberry.enum(DomainInterval, name="Interval", description="Step of a time series.")


async def figures_of(compute: Callable[[], T]) -> T:
    """``compute()`` of a report's figures: at once on the event loop when the report holds
    every grid it needs (its first read fetched those of all the parts the query asks for),
    in a worker thread when it would have to read. A thread hop per field costs more than
    the computation."""
    try:
        with memory_only():
            return compute()
    except WouldRead:
        return await in_thread(compute)


class Once(Generic[T]):
    """Compute a report's value once per request, however many fields await it."""

    def __init__(self, compute: Callable[[], T]) -> None:
        self._compute = compute
        self._task: asyncio.Task[T] | None = None

    async def get(self) -> T:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        return await self._task

    async def _run(self) -> T:
        # The coroutine is made inside the task: a task cancelled before it starts (a sibling
        # field failed) then leaves no coroutine never awaited.
        return await figures_of(self._compute)


@strawberry.federation.type(
    shareable=True, description="The local dates a report covers (both included)."
)
class PeriodInfo:
    label: str
    start: date
    end: date
    days: int


@strawberry.type(description="Reductions of one T/ACEF category.")
class CategoryRow:
    category: BehaviourCategory
    reduction_kg: Decimal | None
    participants: int | None
    entries: int | None
    suppressed: bool


@strawberry.type(
    description="Reductions of one behaviour; `covered: false` when the methodology has no factor for it."
)
class BehaviourRow:
    behaviour: BehaviourType
    covered: bool
    unit: str | None
    quantity: Decimal | None = strawberry.field(description="Activity in `unit`, summed.")
    reduction_kg: Decimal | None
    participants: int | None
    entries: int | None
    suppressed: bool


@strawberry.type(description="Reductions of one region directly below the report's region.")
class ChildRegionRow:
    region: Region
    total_reduction_kg: Decimal | None
    participants: int | None
    entries: int | None
    suppressed: bool


@strawberry.type(description="One step of a time series.")
class SeriesPoint:
    label: str
    start: date
    end: date
    reduction_kg: Decimal | None
    participants: int | None
    suppressed: bool


def _category_rows(info: Info, figures: list[Figure]) -> list[CategoryRow]:
    catalogue = info.context.hub.registry.catalogue
    rows = []
    for f in figures:
        category = catalogue.category(f.key)
        if category is not None:
            rows.append(
                CategoryRow(
                    category=BehaviourCategory.of(category),
                    reduction_kg=f.reduction_kg,
                    participants=f.participants,
                    entries=f.entries,
                    suppressed=f.suppressed,
                )
            )
    return rows


def _behaviour_rows(info: Info, figures: list[domain.BehaviourFigure]) -> list[BehaviourRow]:
    return [
        BehaviourRow(
            behaviour=behaviour_type(info, b.behaviour),
            covered=b.covered,
            unit=b.unit,
            quantity=None
            if b.figure.quantity_milli is None
            else Decimal(b.figure.quantity_milli) / 1000,
            reduction_kg=b.figure.reduction_kg,
            participants=b.figure.participants,
            entries=b.figure.entries,
            suppressed=b.figure.suppressed,
        )
        for b in figures
    ]


def _series_points(points: list[domain.SeriesFigure]) -> list[SeriesPoint]:
    return [
        SeriesPoint(
            label=p.figure.key,
            start=p.start,
            end=p.end,
            reduction_kg=p.figure.reduction_kg,
            participants=p.figure.participants,
            suppressed=p.figure.suppressed,
        )
        for p in points
    ]


@strawberry.interface(description="What every released report answers.")
class ReductionReport:
    breakdown: strawberry.Private[domain.BreakdownReport]
    totals: strawberry.Private[Once[Figure]]

    @strawberry.field
    def period(self) -> PeriodInfo:
        p = self.breakdown.period
        return PeriodInfo(label=p.label, start=p.start, end=p.end, days=p.days)

    @strawberry.field(description="The methodology (and version) the figures are computed under.")
    def methodology(self) -> Methodology:
        return Methodology.of(self.breakdown.methodology)

    @strawberry.field(description="Cells with fewer distinct persons than this are suppressed.")
    def privacy_threshold(self) -> int:
        return self.breakdown.k

    @strawberry.field(description="True when fewer than the threshold of persons contribute.")
    async def suppressed(self) -> bool:
        return (await self.totals.get()).suppressed

    @strawberry.field
    async def total_reduction_kg(self) -> Decimal | None:
        return (await self.totals.get()).reduction_kg

    @strawberry.field(description="Distinct persons with a reduction under the methodology.")
    async def participants(self) -> int | None:
        return (await self.totals.get()).participants

    @strawberry.field
    async def entries(self) -> int | None:
        return (await self.totals.get()).entries

    @strawberry.field(directives=[list_size(CATEGORIES)])
    async def by_category(self, info: Info) -> list[CategoryRow]:
        return _category_rows(info, await figures_of(self.breakdown.by_category))

    @strawberry.field(directives=[list_size(BEHAVIOURS)])
    async def by_behaviour(self, info: Info) -> list[BehaviourRow]:
        return _behaviour_rows(info, await figures_of(self.breakdown.by_behaviour))

    @strawberry.field(
        description="Released behaviours with the largest reductions.", directives=[page(5)]
    )
    async def top_behaviours(self, info: Info, first: int = 5) -> list[BehaviourRow]:
        rows = [
            b
            for b in await figures_of(self.breakdown.by_behaviour)
            if b.figure.reduction_mg is not None
        ]
        rows.sort(key=lambda b: -(b.figure.reduction_mg or 0))
        return _behaviour_rows(info, rows[: max(0, min(first, 50))])

    @strawberry.field(
        directives=[list_size(SERIES_POINTS)], metadata=sized_by("interval", SERIES_BY_INTERVAL)
    )
    async def series(self, interval: Interval = DomainInterval.MONTH) -> list[SeriesPoint]:  # type: ignore[valid-type]
        return _series_points(
            await figures_of(partial(self.breakdown.series, DomainInterval(interval)))
        )


# each methodology compared is a report computed again
COMPARE_DIRECTIVES = [Cost(weight=REPORT_WEIGHT), list_size(MAX_COMPARED)]


@strawberry.type(description="The same figures under one of several compared methodologies.")
class MethodologyComparison:
    report: strawberry.Private[domain.BreakdownReport]
    totals: strawberry.Private[Once[Figure]]

    @strawberry.field
    def methodology(self) -> Methodology:
        return Methodology.of(self.report.methodology)

    @strawberry.field
    async def suppressed(self) -> bool:
        return (await self.totals.get()).suppressed

    @strawberry.field
    async def total_reduction_kg(self) -> Decimal | None:
        return (await self.totals.get()).reduction_kg

    @strawberry.field
    async def participants(self) -> int | None:
        return (await self.totals.get()).participants

    @strawberry.field(
        description="Every active behaviour; those this methodology does not cover say so.",
        directives=[list_size(BEHAVIOURS)],
    )
    async def by_behaviour(self, info: Info) -> list[BehaviourRow]:
        return _behaviour_rows(info, await figures_of(self.report.by_behaviour))

    @strawberry.field(
        description="Active behaviours this methodology gives no reduction for.",
        directives=[list_size(BEHAVIOURS)],
    )
    async def not_covered(self, info: Info) -> list[BehaviourType]:
        rows = await figures_of(self.report.by_behaviour)
        return [behaviour_type(info, b.behaviour) for b in rows if not b.covered]


def comparisons(
    info: Info, report: domain.RegionReport | domain.EsgReport, methodologies: list[strawberry.ID]
) -> list[MethodologyComparison]:
    """The report under each methodology asked for."""
    chosen = domain.resolve_compared(info.context.hub.registry, [str(m) for m in methodologies])
    result = []
    wanted = fields_wanted(info)
    for m in chosen:
        other = report.under(m)
        other.want(wanted)
        result.append(MethodologyComparison(report=other, totals=Once(other.total)))
    return result


@strawberry.type(description="A region's reductions over a period, under one methodology.")
class RegionReport(ReductionReport):
    def __init__(self, report: domain.RegionReport) -> None:
        self.breakdown = report
        self.totals = Once(report.total)

    @property
    def region_report(self) -> domain.RegionReport:
        assert isinstance(self.breakdown, domain.RegionReport)
        return self.breakdown

    @strawberry.field
    async def region(self, info: Info) -> Region:
        return Region.of(await region_resolvers.region(info, self.region_report.region_code))

    @strawberry.field(
        description="Every region directly below this one.", directives=[list_size(CHILD_REGIONS)]
    )
    async def children(self, info: Info) -> list[ChildRegionRow]:
        figures = await figures_of(self.region_report.children)
        regions = {
            r.code: r for r in await region_resolvers.regions(info, [f.key for f in figures])
        }
        return [
            ChildRegionRow(
                region=Region.of(regions[f.key]),
                total_reduction_kg=f.reduction_kg,
                participants=f.participants,
                entries=f.entries,
                suppressed=f.suppressed,
            )
            for f in figures
        ]

    @strawberry.field(
        description="The same report under several methodologies, side by side.",
        directives=COMPARE_DIRECTIVES,
        metadata=one_per("methodologies"),
    )
    def compare(
        self, info: Info, methodologies: list[strawberry.ID]
    ) -> list[MethodologyComparison]:
        return comparisons(info, self.region_report, methodologies)


@strawberry.type(
    description="Scope 3 estimates (GHG Protocol) the data supports, gross, with coverage and method."
)
class Scope3:
    category6_emissions_kg: Decimal | None
    category7_emissions_kg: Decimal | None
    coverage: Decimal = strawberry.field(
        description="Share of transport trips with a project-emission factor (the rest are outside the estimates)."
    )
    method: str


@strawberry.type(
    description="An enterprise's GRI 305-5 reductions from consenting employees' green behaviours."
)
class EsgReport(ReductionReport):
    def __init__(self, report: domain.EsgReport) -> None:
        self.breakdown = report
        self.totals = Once(report.total)

    @property
    def esg_report(self) -> domain.EsgReport:
        assert isinstance(self.breakdown, domain.EsgReport)
        return self.breakdown

    @strawberry.field(description="Persons employed by the enterprise at any time in the period.")
    async def employees(self) -> int:
        return await in_thread(self.esg_report.employees)

    @strawberry.field(description="Participants as a share of employees (null when suppressed).")
    async def coverage(self) -> Decimal | None:
        participants = (await self.totals.get()).participants
        employees = await in_thread(self.esg_report.employees)
        if participants is None or employees == 0:
            return None
        return (Decimal(participants) / employees).quantize(Decimal("0.0001"))

    @strawberry.field(directives=[list_size(MONTHS)])
    async def by_month(self) -> list[SeriesPoint]:
        return _series_points(
            await figures_of(partial(self.esg_report.series, DomainInterval.MONTH))
        )

    @strawberry.field
    async def scope3(self) -> Scope3 | None:
        estimate = await figures_of(self.esg_report.scope3)
        if estimate is None:
            return None
        return Scope3(
            category6_emissions_kg=None
            if estimate.category6_mg is None
            else kg(estimate.category6_mg),
            category7_emissions_kg=None
            if estimate.category7_mg is None
            else kg(estimate.category7_mg),
            coverage=estimate.coverage,
            method=estimate.method,
        )

    @strawberry.field(
        description="The same report under several methodologies, side by side.",
        directives=COMPARE_DIRECTIVES,
        metadata=one_per("methodologies"),
    )
    def compare(
        self, info: Info, methodologies: list[strawberry.ID]
    ) -> list[MethodologyComparison]:
        return comparisons(info, self.esg_report, methodologies)
