"""Enterprise ESG reports: reductions from employees' green behaviours, and Scope 3 estimates.

The GRI 305-5 figure ("reductions of GHG emissions") is the sum of credited reductions under a
named methodology and version. Scope 3 category 7 (employee commuting) is estimated gross, by
the distance-based method, from project-emission factors where the methodology gives them;
it is never netted against reductions. Enterprises with fewer than k contributing employees get
nothing but that fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, Engine, and_, func, or_, select
from sqlalchemy.orm import Session

from carbonhub.methodology import Catalogue, Methodology
from carbonhub.models import Employment, EnterpriseDailyRollup, table_of
from carbonhub.periods import Interval, Period
from carbonhub.reports.breakdown import (
    Aggregation,
    BehaviourFigure,
    BreakdownReport,
    SeriesFigure,
    in_period,
)
from carbonhub.reports.figures import Figure

ENTERPRISE_ROLLUP = table_of(EnterpriseDailyRollup)
EMPLOYMENT = table_of(Employment)


@dataclass(frozen=True, slots=True)
class Scope3Estimate:
    """GHG Protocol Scope 3 estimates the data supports, with their coverage and method."""

    category6_mg: int | None
    category7_mg: int | None
    coverage: Decimal
    method: str


class EsgReport(BreakdownReport):
    """The ESG report of one enterprise under one methodology and period."""

    def __init__(
        self,
        *,
        engine: Engine,
        catalogue: Catalogue,
        k: int,
        enterprise_id: str,
        methodology: Methodology,
        period: Period,
        contributions: ColumnElement[bool],
    ) -> None:
        super().__init__(catalogue=catalogue, k=k, methodology=methodology, period=period)
        self.engine = engine
        self.enterprise_id = enterprise_id
        self.contributions = contributions
        where = and_(in_period(ENTERPRISE_ROLLUP, methodology, period), contributions)
        self._aggregation = Aggregation(engine, ENTERPRISE_ROLLUP, where, ENTERPRISE_ROLLUP, where)

    @property
    def aggregation(self) -> Aggregation:
        return self._aggregation

    def under(self, methodology: Methodology) -> EsgReport:
        """The same report under another methodology."""
        return EsgReport(
            engine=self.engine,
            catalogue=self.catalogue,
            k=self.k,
            enterprise_id=self.enterprise_id,
            methodology=methodology,
            period=self.period,
            contributions=self.contributions,
        )

    @property
    def releases_nothing(self) -> bool:
        """True when fewer than k employees contribute: only that fact is released."""
        return self.total().suppressed

    def by_category(self) -> list[Figure]:
        return [] if self.releases_nothing else super().by_category()

    def by_behaviour(self) -> list[BehaviourFigure]:
        return [] if self.releases_nothing else super().by_behaviour()

    def series(self, interval: Interval) -> list[SeriesFigure]:
        return [] if self.releases_nothing else super().series(interval)

    def employees(self) -> int:
        """Persons employed by the enterprise at any time in the period."""
        overlaps = and_(
            EMPLOYMENT.c.enterprise_id == self.enterprise_id,
            EMPLOYMENT.c.valid_from <= self.period.end,
            or_(EMPLOYMENT.c.valid_to.is_(None), EMPLOYMENT.c.valid_to >= self.period.start),
        )
        query = select(func.count(func.distinct(EMPLOYMENT.c.person_id))).where(overlaps)
        with Session(self.engine) as session:
            return int(session.execute(query).scalar_one())

    def active_behaviours(self) -> set[str]:
        where = and_(
            ENTERPRISE_ROLLUP.c.local_date.between(self.period.start, self.period.end),
            self.contributions,
        )
        with Session(self.engine) as session:
            return set(
                session.scalars(select(ENTERPRISE_ROLLUP.c.behaviour_code).where(where).distinct())
            )

    def scope3(self) -> Scope3Estimate | None:
        """Category 7 (commuting) from project-emission factors; None when nothing is released."""
        if self.releases_nothing:
            return None
        commute = [b.code for b in self.catalogue.behaviours if b.commute_mode]
        with_factor = [
            code
            for code in commute
            if (f := self.methodology.factor_for(code)) is not None
            and f.project_grams_per_unit is not None
        ]
        where = and_(self.aggregation.totals_where, ENTERPRISE_ROLLUP.c.behaviour_code.in_(commute))
        trips = func.coalesce(func.sum(ENTERPRISE_ROLLUP.c.entries), 0)
        emissions = func.coalesce(func.sum(ENTERPRISE_ROLLUP.c.project_emission_mg), 0)
        with Session(self.engine) as session:
            all_trips = int(session.execute(select(trips).where(where)).scalar_one())
            covered_trips, covered_mg = session.execute(
                select(trips, emissions).where(
                    and_(where, ENTERPRISE_ROLLUP.c.behaviour_code.in_(with_factor))
                )
            ).one()
        coverage = Decimal(int(covered_trips)) / all_trips if all_trips else Decimal(0)
        business = "category 6 (business travel) is not estimated: connectors do not yet mark business trips"
        if not with_factor:
            method = (
                f"category 7 not estimable: {self.methodology.key} gives no project-emission factors for "
                f"commuting modes (the distance-based method needs them); {business}"
            )
            return Scope3Estimate(None, None, Decimal(0), method)
        method = (
            f"category 7 distance-based: distance x project-emission factor of {self.methodology.key} "
            f"for {', '.join(with_factor)}; gross emissions, not netted against reductions; {business}"
        )
        return Scope3Estimate(None, int(covered_mg), coverage.quantize(Decimal("0.0001")), method)
