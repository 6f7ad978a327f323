"""Reading the released aggregates: sums and distinct participants of a grid of cells.

A grid is one unit (a region, or the enterprise), optionally split by its children, over one
period, optionally split into steps, for one scope (all behaviours, by category, by behaviour).
Sums come from the recipient's consented daily sums; participants from the distinct-person
counters of the (node, partition, scope) each cell is, both maintained at posting and on every
consent change (:mod:`carbonhub.aggregates`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Engine, func, select
from sqlalchemy.orm import Session

from carbonhub.aggregates import partition_key
from carbonhub.methodology import Catalogue
from carbonhub.models import ReleasedCount, ReleasedDaily, table_of
from carbonhub.periods import Period
from carbonhub.reports.figures import Cell
from carbonhub.reports.scope import category_of, mapped, step_expression

DAILY = table_of(ReleasedDaily)
COUNT = table_of(ReleasedCount)
Key = tuple[str, ...]


class Scope(StrEnum):
    """Which behaviours a cell covers: all of them, one category, or one behaviour."""

    ALL = "all"
    CATEGORY = "category"
    BEHAVIOUR = "behaviour"


@dataclass(frozen=True, slots=True)
class GridSpec:
    """One grid: ``node`` (units ``leaves`` in the sums), split by ``children`` (child node ->
    its leaves) and ``steps`` if given, over ``period``, in ``scope``."""

    node: str
    leaves: Sequence[str]
    period: Period
    children: Mapping[str, Sequence[str]] | None = None
    steps: Sequence[Period] = ()
    scope: Scope = Scope.ALL


@dataclass(frozen=True, slots=True)
class Released:
    """One recipient's released aggregates under one methodology."""

    engine: Engine
    recipient: tuple[str, str]
    methodology_key: str
    season: Period | None
    catalogue: Catalogue

    def cells(self, spec: GridSpec) -> dict[Key, Cell]:
        """Sums and distinct participants per cell of the grid; the one cell of a grid without
        splits is keyed ``()`` and is zero when empty."""
        with Session(self.engine) as session:
            totals = self._totals(session, spec)
            persons = self._participants(session, spec)
        cells: dict[Key, Cell] = {}
        for key in set(totals) | set(persons):
            mg, entries, quantity = totals.get(key, (0, 0, 0))
            label = key[-1] if key else ""
            cells[key] = Cell(label, mg, persons.get(key, 0), entries, quantity)
        if spec.children is None and not spec.steps and spec.scope is Scope.ALL:
            cells.setdefault((), Cell("", 0, 0, 0))
        return cells

    def _totals(self, session: Session, spec: GridSpec) -> dict[Key, tuple[int, int, int]]:
        keys: list[ColumnElement[Any]] = []
        if spec.children is not None:
            leaf_to_child = {leaf: c for c, leaves in spec.children.items() for leaf in leaves}
            keys.append(mapped(DAILY.c.unit, leaf_to_child))
        if spec.steps:
            keys.append(step_expression(DAILY.c.local_date, spec.steps))
        if spec.scope is Scope.CATEGORY:
            keys.append(category_of(DAILY.c.behaviour_code, self.catalogue))
        elif spec.scope is Scope.BEHAVIOUR:
            keys.append(DAILY.c.behaviour_code)
        labelled = [k.label(f"k{i}") for i, k in enumerate(keys)]
        query = select(
            *labelled,
            func.coalesce(func.sum(DAILY.c.reduction_mg), 0),
            func.coalesce(func.sum(DAILY.c.entries), 0),
            func.coalesce(func.sum(DAILY.c.quantity_milli), 0),
        ).where(
            DAILY.c.recipient_kind == self.recipient[0],
            DAILY.c.recipient_id == self.recipient[1],
            DAILY.c.methodology_key == self.methodology_key,
            DAILY.c.local_date.between(spec.period.start, spec.period.end),
            DAILY.c.unit.in_(list(spec.leaves)),
        )
        if keys:
            query = query.group_by(*labelled)
        result: dict[Key, tuple[int, int, int]] = {}
        for row in session.execute(query):
            mg, n, q = row[len(keys) :]
            if keys or n:
                result[_key(row[: len(keys)])] = (int(mg), int(n), int(q))
        return result

    def _participants(self, session: Session, spec: GridSpec) -> dict[Key, int]:
        nodes = list(spec.children) if spec.children is not None else [spec.node]
        if spec.steps:
            labels = {self._partition(step): step.label for step in spec.steps}
        else:
            labels = {self._partition(spec.period): ""}
        query = select(COUNT.c.node, COUNT.c.partition, COUNT.c.scope, COUNT.c.persons).where(
            COUNT.c.recipient_kind == self.recipient[0],
            COUNT.c.recipient_id == self.recipient[1],
            COUNT.c.methodology_key == self.methodology_key,
            COUNT.c.node.in_(nodes),
            COUNT.c.partition.in_(list(labels)),
            COUNT.c.persons > 0,
        )
        if spec.scope is Scope.ALL:
            query = query.where(COUNT.c.scope == "all")
        else:
            query = query.where(
                COUNT.c.scope.like("c:%" if spec.scope is Scope.CATEGORY else "b:%")
            )
        result: dict[Key, int] = {}
        for node, partition, scope, persons in session.execute(query):
            key: list[str] = []
            if spec.children is not None:
                key.append(node)
            if spec.steps:
                key.append(labels[partition])
            if spec.scope is not Scope.ALL:
                key.append(scope[2:])
            result[tuple(key)] = int(persons)
        return result

    def _partition(self, period: Period) -> str:
        key = partition_key(period, self.season)
        if key is None:
            # reports release predefined partitions only; any other range is a programming error
            raise RuntimeError(f"no distinct-person counter for {period.label!r}")
        return key


def _key(values: Sequence[object]) -> Key:
    return tuple(v.isoformat() if isinstance(v, date) else str(v) for v in values)
