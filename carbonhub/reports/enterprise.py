"""Enterprise ESG reports: reductions from employees' green behaviours, and Scope 3 estimates.

The GRI 305-5 figure ("reductions of GHG emissions") is the sum of credited reductions under a
named methodology and version. Scope 3 category 7 (employee commuting) is estimated gross, by
the distance-based method, from project-emission factors where the methodology gives them;
it is never netted against reductions. Enterprises with fewer than k contributing employees get
nothing but that fact.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, Engine, and_, func, or_, select

from carbonhub.aggregates import ALL_TIME
from carbonhub.db import reading
from carbonhub.methodology import Catalogue, Methodology
from carbonhub.models import Employment, ReleasedPresence, table_of
from carbonhub.periods import Interval, Period
from carbonhub.reports.aggregation import COUNT, Released, Scope
from carbonhub.reports.breakdown import (
    BehaviourFigure,
    BreakdownReport,
    Part,
    SeriesFigure,
    check_may_read,
)
from carbonhub.reports.figures import Figure
from carbonhub.reports.privacy import EMPTY

EMPLOYMENT = table_of(Employment)
PRESENCE = table_of(ReleasedPresence)


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
        season: Period | None,
    ) -> None:
        super().__init__(catalogue=catalogue, k=k, methodology=methodology, period=period)
        self.engine = engine
        self.enterprise_id = enterprise_id
        self.season = season
        self.unit = enterprise_id
        # shared with the copy that plans the report's reads (a dict is copied by reference)
        self._counted: dict[str, int] = {}
        self._released = Released(
            engine, ("enterprise", enterprise_id), methodology.key, season, catalogue
        )

    @property
    def released(self) -> Released:
        return self._released

    def leaves_of(self, unit: str) -> list[str]:
        return [self.enterprise_id]

    def child_units(self, unit: str) -> list[str]:
        return []

    def parent_unit(self) -> str | None:
        return None

    def plan_context(self) -> tuple[Hashable, ...]:
        return (self.season,)

    def under(self, methodology: Methodology) -> EsgReport:
        """The same report under another methodology."""
        return EsgReport(
            engine=self.engine,
            catalogue=self.catalogue,
            k=self.k,
            enterprise_id=self.enterprise_id,
            methodology=methodology,
            period=self.period,
            season=self.season,
        )

    @property
    def releases_nothing(self) -> bool:
        """True when fewer than k employees contribute: only that fact is released."""
        return self.few_contributors() or self.total().suppressed

    def few_contributors(self) -> bool:
        """Whether fewer than k employees ever contributed (any period, any methodology).

        Counted over every period and methodology, so that no choice of either releases
        anything about a small enterprise's few consenting employees.

        First the all-time counter under the report's own methodology, read with the report's
        other grids (one more counter row in the same statement; the grids are planned and read
        whatever the count turns out to be); when it reaches k, so does the number of distinct
        persons. Else :meth:`_contributors` counts further.
        """
        if "contributors" not in self._counted:
            counted = self.grid(self.enterprise_id, self.period, all_time=True)
            if self._planning is not None:
                return False  # planning the reads: the count is not read yet
            own = counted.get((), EMPTY).participants
            if own < self.k:
                check_may_read()
                with reading(self.engine) as connection:
                    own = self._contributors(connection)
            self._counted["contributors"] = own
        return self._counted["contributors"] < self.k

    def _contributors(self, connection: Connection) -> int:
        """Enough of a count of the persons who ever contributed to decide "fewer than k",
        when the report's own methodology counts fewer than k of them.

        The most persons any methodology counts (the all-time counters of every methodology of
        the enterprise), and only when that is under k too, the exact number of distinct
        persons with presence under any methodology (a small enterprise's few rows).
        """
        counted = select(func.max(COUNT.c.persons)).where(
            COUNT.c.recipient_kind == "enterprise",
            COUNT.c.recipient_id == self.enterprise_id,
            COUNT.c.node == self.enterprise_id,
            COUNT.c.partition == ALL_TIME,
            COUNT.c.scope == "all",
        )
        most = int(connection.execute(counted).scalar_one() or 0)
        if most >= self.k:
            return most  # at least that many distinct persons: enough to decide
        # a person has presence rows only while some consented day of theirs has entries
        exact = select(func.count(func.distinct(PRESENCE.c.person_id))).where(
            PRESENCE.c.recipient_kind == "enterprise",
            PRESENCE.c.recipient_id == self.enterprise_id,
        )
        return int(connection.execute(exact).scalar_one())

    def total(self) -> Figure:
        return Figure.withheld("") if self.few_contributors() else super().total()

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
        check_may_read()
        with reading(self.engine) as connection:
            return int(connection.execute(query).scalar_one())

    def scope3(self) -> Scope3Estimate | None:
        """Categories 6 and 7, gross, from project-emission factors; None when nothing is released.

        Category 7 (employee commuting) sums the project emissions of commuting-mode trips not
        marked business travel; category 6 (business travel) those of trips marked so, any
        transport mode. Both need the methodology's project-emission factor of the mode
        (distance-based method); trips without one are outside the estimate, and ``coverage``
        is the share of trips with one.
        """
        if self.releases_nothing:
            return None
        travel = [b.code for b in self.catalogue.behaviours if b.category == "transport"]
        with_factor = [
            code
            for code in travel
            if (f := self.methodology.factor_for(code)) is not None
            and f.project_grams_per_unit is not None
        ]
        commute = {b.code for b in self.catalogue.behaviours if b.commute_mode}
        trips = self._travel_sums(travel)
        all_trips = sum(t[0] for t in trips.values())
        covered = {code: trips.get(code, (0, 0, 0, 0)) for code in with_factor}
        covered_trips = sum(t[0] for t in covered.values())
        category7 = sum(t[1] - t[3] for code, t in covered.items() if code in commute)
        category6 = sum(t[3] for t in covered.values())
        coverage = Decimal(covered_trips) / all_trips if all_trips else Decimal(0)
        if not with_factor:
            method = (
                f"not estimable: {self.methodology.key} gives no project-emission factors for "
                "transport modes, and the distance-based method needs them"
            )
            return Scope3Estimate(None, None, Decimal(0), method)
        method = (
            f"distance-based: distance x project-emission factor of {self.methodology.key} for "
            f"{', '.join(with_factor)}; category 7 = commuting trips, category 6 = trips the "
            "provider marked business travel; gross emissions, never netted against reductions"
        )
        return Scope3Estimate(
            int(category6), int(category7), coverage.quantize(Decimal("0.0001")), method
        )

    def _travel_sums(self, travel: list[str]) -> dict[str, tuple[int, int, int, int]]:
        """Per transport behaviour: trips, project emissions, business trips and their emissions."""
        cells = self.grid(self.unit, self.period, scope=Scope.BEHAVIOUR)
        return {
            code: (
                cell.entries,
                cell.travel.project_emission_mg,
                cell.travel.business_entries,
                cell.travel.business_project_emission_mg,
            )
            for (code,), cell in cells.items()
            if code in travel
        }

    def produce(self, part: Part) -> object:
        if part is Part.SCOPE3:
            return self.scope3()
        return super().produce(part)
