"""Regional reports: totals, participants and breakdowns of a region subtree over a period.

Figures come from the programme's released aggregates (:mod:`carbonhub.aggregates`): the
consented residents' daily sums per district and the distinct-person counters per region node,
both kept in step with the ledger and the consents, so a report reads a few hundred rows.
"""

from __future__ import annotations

from collections.abc import Hashable

from sqlalchemy import Engine

from carbonhub.actors import RegionTree
from carbonhub.methodology import Catalogue, Methodology
from carbonhub.periods import Period
from carbonhub.reports.aggregation import Released
from carbonhub.reports.breakdown import BreakdownReport


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
        programme_region: str,
        season: Period | None,
    ) -> None:
        super().__init__(catalogue=catalogue, k=k, methodology=methodology, period=period)
        self.engine = engine
        self.regions = regions
        self.region_code = self.unit = regions.require(region_code)
        self.programme_region = programme_region
        self.season = season
        self.districts = regions.leaves_under(region_code)
        self._released = Released(
            engine, ("programme", programme_region), methodology.key, season, catalogue
        )

    @property
    def released(self) -> Released:
        return self._released

    def leaves_of(self, unit: str) -> list[str]:
        return list(self.regions.leaves_under(unit))

    def child_units(self, unit: str) -> list[str]:
        return list(self.regions.children(unit))

    def parent_unit(self) -> str | None:
        return self.regions.parent(self.region_code)

    def plan_context(self) -> tuple[Hashable, ...]:
        return (self.regions, self.programme_region, self.season)

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
            programme_region=self.programme_region,
            season=self.season,
        )
