"""Regional reports: totals, participants and breakdowns of a region subtree over a period.

Figures come from the rollups, never from raw entries: totals from the region x day x behaviour
rollup, distinct participants from the person x day x behaviour rollup. When the access policy
narrows the contributing persons (consent), totals are read from the person-level rollup under
that clause instead, so both figures always describe the same persons.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Engine, Table, and_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import True_

from carbonhub.actors import RegionTree
from carbonhub.methodology import Catalogue, Methodology
from carbonhub.models import PersonDailyRollup, RegionDailyRollup, table_of
from carbonhub.periods import Period
from carbonhub.reports.aggregation import Aggregation
from carbonhub.reports.breakdown import BreakdownReport, in_period
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
        self.region_code = self.unit = regions.require(region_code)
        self.contributions = contributions
        self.districts = regions.leaves_under(region_code)

    def aggregation_for(self, unit: str, period: Period) -> Aggregation:
        """Rollup rows of the districts under ``unit``; person-level when consent narrows them."""
        persons_where = and_(self._where(PERSON_ROLLUP, unit, period), self.contributions)
        if isinstance(self.contributions, True_):
            return Aggregation(
                self.engine,
                REGION_ROLLUP,
                self._where(REGION_ROLLUP, unit, period),
                PERSON_ROLLUP,
                persons_where,
            )
        return Aggregation(self.engine, PERSON_ROLLUP, persons_where, PERSON_ROLLUP, persons_where)

    def _where(self, rollup: Table, unit: str, period: Period) -> ColumnElement[bool]:
        return and_(
            in_period(rollup, self.methodology, period),
            rollup.c.region_code.in_(self.regions.leaves_under(unit)),
        )

    def child_units(self, unit: str) -> list[str]:
        return list(self.regions.children(unit))

    def child_key(self, unit: str, table: Table) -> ColumnElement[Any]:
        mapping = {
            leaf: child
            for child in self.regions.children(unit)
            for leaf in self.regions.leaves_under(child)
        }
        return mapped(table.c.region_code, mapping)

    def parent_unit(self) -> str | None:
        return self.regions.parent(self.region_code)

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

    def active_behaviours(self) -> set[str]:
        """Behaviours of the contributing (consenting) residents, under any methodology."""
        rollup = REGION_ROLLUP if isinstance(self.contributions, True_) else PERSON_ROLLUP
        where = and_(
            rollup.c.region_code.in_(self.districts),
            rollup.c.local_date.between(self.period.start, self.period.end),
            self.contributions,
        )
        with Session(self.engine) as session:
            return set(session.scalars(select(rollup.c.behaviour_code).where(where).distinct()))
