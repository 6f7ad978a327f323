"""Regional reports: totals, participants and breakdowns of a region subtree over a period.

Figures come from the rollups, never from raw entries: totals from the region x day x behaviour
rollup, distinct participants from the person x day x behaviour rollup. When the access policy
narrows the contributing persons (consent), totals are read from the person-level rollup under
that clause instead, so both figures always describe the same persons.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Engine, Table, and_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import True_

from carbonhub.actors import RegionTree
from carbonhub.methodology import Catalogue, Methodology
from carbonhub.models import PersonDailyRollup, RegionDailyRollup, table_of
from carbonhub.periods import Period
from carbonhub.reports.breakdown import Aggregation, BreakdownReport, in_period
from carbonhub.reports.figures import Cell, Figure
from carbonhub.reports.privacy import suppress_group
from carbonhub.reports.scope import mapped

REGION_ROLLUP = table_of(RegionDailyRollup)
PERSON_ROLLUP = table_of(PersonDailyRollup)


class RegionReport(BreakdownReport):
    """The report of one region subtree under one methodology and period."""

    def __init__(
        self,
        *,
        engine: Engine,
        catalogue: Catalogue,
        regions: RegionTree,
        k: int,
        region_code: str,
        methodology: Methodology,
        period: Period,
        contributions: ColumnElement[bool],
    ) -> None:
        super().__init__(catalogue=catalogue, k=k, methodology=methodology, period=period)
        self.engine = engine
        self.regions = regions
        self.region_code = regions.require(region_code)
        self.contributions = contributions
        self.districts = regions.leaves_under(region_code)
        persons_where = and_(self._where(PERSON_ROLLUP), contributions)
        if isinstance(contributions, True_):
            totals = (REGION_ROLLUP, self._where(REGION_ROLLUP))
        else:
            totals = (PERSON_ROLLUP, persons_where)
        self._aggregation = Aggregation(engine, totals[0], totals[1], PERSON_ROLLUP, persons_where)

    @property
    def aggregation(self) -> Aggregation:
        return self._aggregation

    def _where(self, rollup: Table) -> ColumnElement[bool]:
        return and_(
            in_period(rollup, self.methodology, self.period),
            rollup.c.region_code.in_(self.districts),
        )

    def under(self, methodology: Methodology) -> RegionReport:
        """The same report under another methodology."""
        return RegionReport(
            engine=self.engine,
            catalogue=self.catalogue,
            regions=self.regions,
            k=self.k,
            region_code=self.region_code,
            methodology=methodology,
            period=self.period,
            contributions=self.contributions,
        )

    def children(self) -> list[Figure]:
        """Reductions by each region directly below this one (every child, zero or not)."""
        children = self.regions.children(self.region_code)
        mapping = {leaf: child for child in children for leaf in self.regions.leaves_under(child)}
        cells = self.aggregation.cells(lambda t: mapped(t.c.region_code, mapping))
        rows = [cells.get(child, Cell(child, 0, 0, 0)) for child in children]
        return suppress_group(rows, self.k, parent_released=not self.total().suppressed)

    def active_behaviours(self) -> set[str]:
        where = and_(
            REGION_ROLLUP.c.region_code.in_(self.districts),
            REGION_ROLLUP.c.local_date.between(self.period.start, self.period.end),
        )
        with Session(self.engine) as session:
            return set(
                session.scalars(select(REGION_ROLLUP.c.behaviour_code).where(where).distinct())
            )
