"""The shape every released report shares: a total and breakdowns by category, behaviour and time.

A report is an :class:`Aggregation` (which rollup rows count, under which methodology) plus
privacy rules. Each breakdown runs one aggregate query, so callers pay only for what they ask.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Engine, Table, and_, func, select
from sqlalchemy.orm import Session

from carbonhub.methodology import Catalogue, Methodology
from carbonhub.periods import Interval, Period
from carbonhub.reports.figures import Cell, Figure
from carbonhub.reports.privacy import release, suppress_group
from carbonhub.reports.scope import bucket_expression, category_of

KeyOf = Callable[[Table], ColumnElement[Any] | None]


@dataclass(frozen=True, slots=True)
class BehaviourFigure:
    """A behaviour row: its figure, unit, and whether the methodology covers it at all."""

    behaviour: str
    covered: bool
    unit: str | None
    figure: Figure


@dataclass(frozen=True, slots=True)
class SeriesFigure:
    """One step of a time series."""

    start: date
    end: date
    figure: Figure


@dataclass(frozen=True, slots=True)
class Aggregation:
    """Which rollup rows a report sums (totals) and counts distinct persons over (participants)."""

    engine: Engine
    totals_table: Table
    totals_where: ColumnElement[bool]
    persons_table: Table
    persons_where: ColumnElement[bool]

    def cells(self, key_of: KeyOf) -> dict[Any, Cell]:
        """Totals and distinct participants per group key (``key_of(table)`` builds the key)."""
        with Session(self.engine) as session:
            totals = self._totals(session, key_of(self.totals_table))
            persons = self._participants(session, key_of(self.persons_table))
        cells = {}
        for key in set(totals) | set(persons):
            mg, entries, quantity = totals.get(key, (0, 0, 0))
            cells[key] = Cell(_label(key), mg, persons.get(key, 0), entries, quantity)
        return cells

    def _totals(
        self, session: Session, key: ColumnElement[Any] | None
    ) -> dict[Any, tuple[int, int, int]]:
        t = self.totals_table
        sums = (
            func.coalesce(func.sum(t.c.reduction_mg), 0),
            func.coalesce(func.sum(t.c.entries), 0),
            func.coalesce(func.sum(t.c.quantity_milli), 0),
        )
        if key is None:
            mg, entries, quantity = session.execute(select(*sums).where(self.totals_where)).one()
            return {"": (int(mg), int(entries), int(quantity))} if entries else {}
        query = select(key.label("k"), *sums).where(self.totals_where).group_by(key)
        return {k: (int(mg), int(n), int(q)) for k, mg, n, q in session.execute(query)}

    def _participants(self, session: Session, key: ColumnElement[Any] | None) -> dict[Any, int]:
        persons = func.count(func.distinct(self.persons_table.c.person_id))
        if key is None:
            count = session.execute(select(persons).where(self.persons_where)).scalar_one()
            return {"": int(count)} if count else {}
        query = select(key.label("k"), persons).where(self.persons_where).group_by(key)
        return {k: int(n) for k, n in session.execute(query)}


def _label(key: object) -> str:
    return key.isoformat() if isinstance(key, date) else str(key)


def in_period(table: Table, methodology: Methodology, period: Period) -> ColumnElement[bool]:
    """Rollup rows of the methodology within the period."""
    return and_(
        table.c.methodology_key == methodology.key,
        table.c.local_date.between(period.start, period.end),
    )


class BreakdownReport(ABC):
    """Total, categories, behaviours and series of one aggregation, with suppression applied."""

    def __init__(
        self, *, catalogue: Catalogue, k: int, methodology: Methodology, period: Period
    ) -> None:
        self.catalogue = catalogue
        self.k = k
        self.methodology = methodology
        self.period = period
        self._total: Figure | None = None

    @property
    @abstractmethod
    def aggregation(self) -> Aggregation:
        """The rollup rows this report releases."""

    @abstractmethod
    def active_behaviours(self) -> set[str]:
        """Behaviours with activity in scope under any methodology (non-personal codes)."""

    def total(self) -> Figure:
        """The total reduction and participants (suppressed when fewer than k persons)."""
        if self._total is None:
            cells = self.aggregation.cells(lambda _table: None)
            self._total = release(cells.get("", Cell("", 0, 0, 0)), self.k)
        return self._total

    def by_category(self) -> list[Figure]:
        """Reductions by T/ACEF category, in catalogue order."""
        cells = self.aggregation.cells(lambda t: category_of(t.c.behaviour_code, self.catalogue))
        rows = [cells[c.code] for c in self.catalogue.categories if c.code in cells]
        return suppress_group(rows, self.k, parent_released=not self.total().suppressed)

    def by_behaviour(self) -> list[BehaviourFigure]:
        """Reductions by behaviour; those the methodology does not cover are shown as such."""
        cells = self.aggregation.cells(lambda t: t.c.behaviour_code)
        categories = {f.key: f for f in self.by_category()}
        released: dict[str, Figure] = {}
        for category in self.catalogue.categories:
            group = [
                cells[b.code]
                for b in self.catalogue.behaviours
                if b.category == category.code and b.code in cells
            ]
            parent = categories.get(category.code)
            released_parent = parent is not None and not parent.suppressed
            released.update(
                {f.key: f for f in suppress_group(group, self.k, parent_released=released_parent)}
            )
        active = self.active_behaviours()
        rows = []
        for behaviour in self.catalogue.behaviours:
            factor = self.methodology.factor_for(behaviour.code)
            if behaviour.code in released:
                unit = factor.unit if factor else None
                rows.append(BehaviourFigure(behaviour.code, True, unit, released[behaviour.code]))
            elif behaviour.code in active:
                rows.append(
                    BehaviourFigure(behaviour.code, False, None, Figure.withheld(behaviour.code))
                )
        return rows

    def series(self, interval: Interval) -> list[SeriesFigure]:
        """Reductions per day, ISO week or month of the period (empty steps included)."""
        steps = list(self.period.buckets(interval))
        cells = self.aggregation.cells(lambda t: bucket_expression(t.c.local_date, steps, interval))
        by_label = {cell.key: cell for cell in cells.values()}
        rows = [by_label.get(step.label, Cell(step.label, 0, 0, 0)) for step in steps]
        figures = suppress_group(rows, self.k, parent_released=not self.total().suppressed)
        return [
            SeriesFigure(step.start, step.end, f) for step, f in zip(steps, figures, strict=True)
        ]
