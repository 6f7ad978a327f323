"""The shape every released report shares: a total and breakdowns by category, behaviour and time.

A report reads cells of a grid: a region (or an enterprise), a period and a scope (all
behaviours, one category, one behaviour), split along any of those. It releases each cell under
the privacy rules of :mod:`carbonhub.reports.privacy`, which look at the cell's canonical sibling
groups: the same scope in the sibling regions, the same scope in the sibling periods, the
sibling scopes in the same region and period. Each grid is one aggregate query, memoised for the
report, so callers pay only for what they ask.
"""

from __future__ import annotations

import copy
import threading
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from carbonhub.methodology import Catalogue, Methodology
from carbonhub.periods import Interval, Period
from carbonhub.reports.aggregation import GridSpec, Released, Scope
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
from carbonhub.reports.sums import Key

Memberships = list[tuple[Group, str]]

_memory_only: ContextVar[bool] = ContextVar("carbonhub_report_memory_only", default=False)

# report plans kept per process (see BreakdownReport._plan), least recently used first
PLANS_KEPT = 256
_plans: dict[tuple[Hashable, ...], dict[tuple[Any, ...], GridSpec]] = {}
_plans_lock = threading.Lock()


class WouldRead(Exception):
    """Raised inside :func:`memory_only` where a report would have to read the database."""


@contextmanager
def memory_only() -> Iterator[None]:
    """Produce figures only from what the report has read already; a read raises WouldRead.

    After a report's first read fetched the grids of every part wanted, its figures are
    plain computation: a caller on the event loop can produce them there, without a worker
    thread, and fall back to one if something was not read (a part not declared wanted).
    """
    token = _memory_only.set(True)
    try:
        yield
    finally:
        _memory_only.reset(token)


def check_may_read() -> None:
    """Raise :class:`WouldRead` inside :func:`memory_only`; call before every report read."""
    if _memory_only.get():
        raise WouldRead


class Part(StrEnum):
    """What a caller will ask of a report; the grids of all parts wanted are read at once."""

    TOTAL = "total"
    CATEGORIES = "by_category"
    BEHAVIOURS = "by_behaviour"
    CHILDREN = "children"
    DAYS = "series_day"
    WEEKS = "series_week"
    MONTHS = "series_month"
    SCOPE3 = "scope3"  # an enterprise report's Scope 3 estimates


SERIES = {Part.DAYS: Interval.DAY, Part.WEEKS: Interval.WEEK, Part.MONTHS: Interval.MONTH}


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
        self._wanted: frozenset[Part] = frozenset({Part.TOTAL})
        self._planning: dict[tuple[Any, ...], GridSpec] | None = None
        self._planned = False
        self._reading = threading.Lock()

    def want(self, parts: Iterable[Part]) -> None:
        """Declare what will be asked, so that the first read fetches all of it in one go."""
        self._wanted = frozenset(parts) | {Part.TOTAL}

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

    def active_behaviours(self) -> set[str]:
        """Behaviours with activity in scope under any methodology (non-personal codes)."""
        cells = self.grid(self.unit, self.period, scope=Scope.BEHAVIOUR, any_methodology=True)
        return {key[0] for key in cells}

    # -- the grid -------------------------------------------------------------------------

    def grid(
        self,
        unit: str,
        period: Period,
        *,
        by_child: bool = False,
        steps: Sequence[Period] = (),
        scope: Scope = Scope.ALL,
        any_methodology: bool = False,
        all_time: bool = False,
    ) -> dict[Key, Cell]:
        """Cells of ``unit`` over ``period``, keyed by (child?, step label?, scope key?)."""
        memo = (
            unit,
            period.start,
            period.end,
            by_child,
            tuple(steps),
            scope,
            any_methodology,
            all_time,
        )
        found = self._grids.get(memo)
        if found is not None:
            return found
        children = {c: self.leaves_of(c) for c in self.child_units(unit)} if by_child else None
        spec = GridSpec(
            unit,
            self.leaves_of(unit),
            period,
            children,
            tuple(steps),
            scope,
            any_methodology,
            all_time,
        )
        if self._planning is not None:
            self._planning.setdefault(memo, spec)
            return {}
        check_may_read()
        with self._reading:
            if memo not in self._grids:
                self._read({memo: spec})
        return self._grids[memo]

    def _read(self, specs: dict[tuple[Any, ...], GridSpec]) -> None:
        """Read the grids asked for, and on the first read every grid of the parts wanted."""
        if not self._planned:
            self._planned = True
            specs = self._plan() | specs
        missing = [(memo, spec) for memo, spec in specs.items() if memo not in self._grids]
        grids = self.released.cells_of([spec for _, spec in missing])
        for (memo, _), cells in zip(missing, grids, strict=True):
            self._grids[memo] = cells

    @abstractmethod
    def plan_context(self) -> tuple[Hashable, ...]:
        """What decides the grids a report reads besides its kind, unit, period, methodology,
        threshold and wanted parts (its hierarchy, its season): part of its plan's key."""

    def _plan(self) -> dict[tuple[Any, ...], GridSpec]:
        """The grids the wanted parts read (:meth:`_plan_anew`), kept per process: a dashboard
        asks the same few reports again and again, and planning one costs more Python than
        reading it. Callers must not change the plan (it is shared)."""
        key = (
            type(self),
            self.unit,
            self.period,
            self.methodology.key,
            self.k,
            self._wanted,
            *self.plan_context(),
        )
        with _plans_lock:
            found = _plans.pop(key, None)
            if found is not None:
                _plans[key] = found  # the most recently used goes last
                return found
        found = self._plan_anew()
        with _plans_lock:
            _plans[key] = found
            while len(_plans) > PLANS_KEPT:
                del _plans[next(iter(_plans))]  # the least recently used
        return found

    def _plan_anew(self) -> dict[tuple[Any, ...], GridSpec]:
        """The grids the wanted parts read, found by producing them on a copy whose grids are
        all empty: which grids a part reads depends on its period and units, never on data."""
        probe = copy.copy(self)
        probe._grids = {}
        probe._decisions = Decisions(self.k)
        probe._total = None
        probe._planning = {}
        for part in sorted(self._wanted):
            probe.produce(part)
        return probe._planning

    def produce(self, part: Part) -> object:
        """The released figures of one part."""
        if part is Part.TOTAL:
            return self.total()
        if part is Part.CATEGORIES:
            return self.by_category()
        if part is Part.BEHAVIOURS:
            return self.by_behaviour()
        if part is Part.CHILDREN:
            return self.children()
        if part in SERIES:
            return self.series(SERIES[part])
        return None  # a part of another kind of report

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
