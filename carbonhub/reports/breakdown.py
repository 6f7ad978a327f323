"""The shape every released report shares: a total and breakdowns by category, behaviour and time.

A report reads cells of a grid: a region (or an enterprise), a period and a scope (all
behaviours, one category, one behaviour), split along any of those. It releases each cell under
the privacy rules of :mod:`carbonhub.reports.privacy`, which look at the cell's canonical sibling
groups: the same scope in the sibling regions, the same scope in the sibling periods, the
sibling scopes in the same region and period. Each grid is one aggregate query, memoised for the
report, so callers pay only for what they ask.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from carbonhub.methodology import Catalogue, Methodology
from carbonhub.periods import Interval, Period
from carbonhub.reports.aggregation import GridSpec, Key, Released, Scope
from carbonhub.reports.figures import Cell, Figure
from carbonhub.reports.partitions import (
    Partition,
    canonical,
    children_of,
    days_of,
    parent_of,
    partition_of,
)
from carbonhub.reports.privacy import EMPTY, Decisions, Group, protect_group, union_withheld

Memberships = list[tuple[Group, str]]


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


class BreakdownReport(ABC):
    """Total, categories, behaviours and series of one unit (region or enterprise), released."""

    def __init__(
        self, *, catalogue: Catalogue, k: int, methodology: Methodology, period: Period
    ) -> None:
        self.catalogue = catalogue
        self.k = k
        self.methodology = methodology
        self.period = period
        self.unit = ""
        self._grids: dict[tuple[Any, ...], dict[Key, Cell]] = {}
        self._decisions = Decisions(k)
        self._total: Figure | None = None

    @property
    @abstractmethod
    def released(self) -> Released:
        """The recipient's released aggregates under the report's methodology."""

    @abstractmethod
    def leaves_of(self, unit: str) -> list[str]:
        """The units whose daily sums make up ``unit`` (its districts, or the enterprise)."""

    @abstractmethod
    def child_units(self, unit: str) -> list[str]:
        """The units directly below ``unit`` (child regions); [] where there are none."""

    @abstractmethod
    def parent_unit(self) -> str | None:
        """The unit directly above this report's (its parent region), if any."""

    @abstractmethod
    def active_behaviours(self) -> set[str]:
        """Behaviours with activity in scope under any methodology (non-personal codes)."""

    # -- the grid -------------------------------------------------------------------------

    def grid(
        self,
        unit: str,
        period: Period,
        *,
        by_child: bool = False,
        steps: Sequence[Period] = (),
        scope: Scope = Scope.ALL,
    ) -> dict[Key, Cell]:
        """Cells of ``unit`` over ``period``, keyed by (child?, step label?, scope key?)."""
        memo = (unit, period.start, period.end, by_child, tuple(steps), scope)
        found = self._grids.get(memo)
        if found is None:
            children = {c: self.leaves_of(c) for c in self.child_units(unit)} if by_child else None
            spec = GridSpec(unit, self.leaves_of(unit), period, children, tuple(steps), scope)
            found = self._grids[memo] = self.released.cells(spec)
        return found

    def raw_total(self) -> Cell:
        """The report's total before privacy rules."""
        return self.grid(self.unit, self.period).get((), EMPTY)

    # -- canonical groups -------------------------------------------------------------------

    def cross_groups(self, scope: Scope, period: Period | None = None) -> dict[Key, Memberships]:
        """For each scope key of (unit, period): its groups among sibling units and periods."""
        period = period or self.period
        result: dict[Key, Memberships] = {}
        parent = self.parent_unit()
        if parent is not None:
            siblings = self.grid(parent, period, by_child=True, scope=scope)
            totals = self.grid(parent, period, scope=scope)
            children = self.child_units(parent)
            for key, cell in totals.items():
                members = {c: siblings.get((c, *key), EMPTY) for c in children}
                result.setdefault(key, []).append((Group(cell, members), self.unit))
        above = parent_of(period)
        if above is not None:
            parts = children_of(above)
            siblings = self.grid(self.unit, above, steps=parts, scope=scope)
            totals = self.grid(self.unit, above, scope=scope)
            for key, cell in totals.items():
                members = {p.label: siblings.get((p.label, *key), EMPTY) for p in parts}
                result.setdefault(key, []).append((Group(cell, members), period.label))
        return result

    # -- released figures ------------------------------------------------------------------

    def total(self) -> Figure:
        """The total reduction and participants, withheld when the privacy rules say so."""
        if self._total is None:
            cell = self.raw_total()
            if partition_of(self.period) is None:
                days = [f.suppressed for f in self._canonical_series(days_of(self.period))]
                withheld = union_withheld(cell, days, self.k)
                self._total = Figure.withheld("") if withheld else Figure.released(cell)
            else:
                self._total = self._decisions.figure(cell, self.cross_groups(Scope.ALL).get((), []))
        return self._total

    def by_category(self) -> list[Figure]:
        """Reductions by T/ACEF category, in catalogue order."""
        cells = self.grid(self.unit, self.period, scope=Scope.CATEGORY)
        present = [c.code for c in self.catalogue.categories if (c.code,) in cells]
        own = Group(self.raw_total(), {code: cells[(code,)] for code in present})
        cross = self.cross_groups(Scope.CATEGORY)
        return [
            self._decisions.figure(cells[(code,)], [(own, code), *cross.get((code,), [])])
            for code in present
        ]

    def by_behaviour(self) -> list[BehaviourFigure]:
        """Reductions by behaviour; those the methodology does not cover are shown as such."""
        cells = self.grid(self.unit, self.period, scope=Scope.BEHAVIOUR)
        categories = self.grid(self.unit, self.period, scope=Scope.CATEGORY)
        cross = self.cross_groups(Scope.BEHAVIOUR)
        released: dict[str, Figure] = {}
        for category in self.catalogue.categories:
            codes = [
                b.code
                for b in self.catalogue.behaviours
                if b.category == category.code and (b.code,) in cells
            ]
            own = Group(categories.get((category.code,), EMPTY), {c: cells[(c,)] for c in codes})
            for code in codes:
                memberships = [(own, code), *cross.get((code,), [])]
                released[code] = self._decisions.figure(cells[(code,)], memberships)
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

    def children(self) -> list[Figure]:
        """Reductions of every unit directly below this one (zero or not)."""
        children = self.child_units(self.unit)
        cells = self.grid(self.unit, self.period, by_child=True)
        row_cells = {c: cells.get((c,), Cell(c, 0, 0, 0)) for c in children}
        own = Group(self.raw_total(), row_cells)
        over_time: dict[str, Memberships] = {c: [] for c in children}
        above = parent_of(self.period)
        if above is not None:
            parts = children_of(above)
            split = self.grid(self.unit, above, by_child=True, steps=parts)
            totals = self.grid(self.unit, above, by_child=True)
            for c in children:
                members = {p.label: split.get((c, p.label), EMPTY) for p in parts}
                over_time[c].append((Group(totals.get((c,), EMPTY), members), self.period.label))
        return [
            _keyed(self._decisions.figure(row_cells[c], [(own, c), *over_time[c]]), c)
            for c in children
        ]

    def series(self, interval: Interval) -> list[SeriesFigure]:
        """Reductions per day, ISO week or month of the period (empty steps included)."""
        steps = list(self.period.buckets(interval))
        if all(_is_canonical_step(s) for s in steps):
            # a step that is a whole day or month (a one-day period's week) is that partition
            canonical_steps = [canonical(s) for s in steps]
            figures = [
                _keyed(f, s.label)
                for f, s in zip(self._canonical_series(canonical_steps), steps, strict=True)
            ]
        else:
            figures = self._union_series(steps)
        return [SeriesFigure(s.start, s.end, f) for s, f in zip(steps, figures, strict=True)]

    def _canonical_series(self, steps: Sequence[Period]) -> list[Figure]:
        """Steps that are days or whole months, each decided in its canonical groups."""
        cells = self.grid(self.unit, self.period, steps=steps)
        memberships: dict[str, Memberships] = {s.label: [] for s in steps}
        parents = {p.label: p for s in steps if (p := parent_of(s)) is not None}
        if parents:
            hull = Period(
                min(p.start for p in parents.values()), max(p.end for p in parents.values()), "hull"
            )
            parts = [part for p in parents.values() for part in children_of(p)]
            split = self.grid(self.unit, hull, steps=parts)
            totals = self.grid(self.unit, hull, steps=list(parents.values()))
            groups = {
                label: Group(
                    totals.get((label,), EMPTY),
                    {part.label: split.get((part.label,), EMPTY) for part in children_of(p)},
                )
                for label, p in parents.items()
            }
            for s in steps:
                parent = parent_of(s)
                if parent is not None:
                    memberships[s.label].append((groups[parent.label], s.label))
        region_parent = self.parent_unit()
        if region_parent is not None:
            siblings = self.grid(region_parent, self.period, by_child=True, steps=steps)
            totals = self.grid(region_parent, self.period, steps=steps)
            for s in steps:
                members = {
                    c: siblings.get((c, s.label), EMPTY) for c in self.child_units(region_parent)
                }
                group = Group(totals.get((s.label,), EMPTY), members)
                memberships[s.label].append((group, self.unit))
        return [
            _keyed(
                self._decisions.figure(cells.get((s.label,), EMPTY), memberships[s.label]),
                s.label,
            )
            for s in steps
        ]

    def _union_series(self, steps: Sequence[Period]) -> list[Figure]:
        """Steps that are no canonical partition (weeks, clipped months): unions of days."""
        cells = [
            self.grid(self.unit, self.period, steps=steps).get((s.label,), EMPTY) for s in steps
        ]
        days = dict(
            zip(
                [d.start for d in days_of(self.period)],
                [f.suppressed for f in self._canonical_series(days_of(self.period))],
                strict=True,
            )
        )
        figures = []
        for step, cell in zip(steps, cells, strict=True):
            parts = [withheld for day, withheld in days.items() if step.contains(day)]
            withheld = union_withheld(cell, parts, self.k)
            figures.append(
                Figure.withheld(step.label)
                if withheld
                else _keyed(Figure.released(cell), step.label)
            )
        labelled = [
            Cell(s.label, c.reduction_mg, c.participants, c.entries, c.quantity_milli)
            for s, c in zip(steps, cells, strict=True)
        ]
        return protect_group(figures, labelled, parent_released=not self.total().suppressed)


def _is_canonical_step(step: Period) -> bool:
    return partition_of(step) in (Partition.DAY, Partition.MONTH)


def _keyed(figure: Figure, key: str) -> Figure:
    if figure.key == key:
        return figure
    return Figure(
        key,
        figure.suppressed,
        figure.reduction_mg,
        figure.participants,
        figure.entries,
        figure.quantity_milli,
    )
