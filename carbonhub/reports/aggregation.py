"""Aggregate queries over rollups: totals and distinct participants per group of keys."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Engine, Table, and_, func, select
from sqlalchemy.orm import Session

from carbonhub.reports.figures import Cell

KeysOf = Callable[[Table], Sequence[ColumnElement[Any]]]
Key = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Aggregation:
    """Which rollup rows a cell sums (totals) and counts distinct persons over (participants)."""

    engine: Engine
    totals_table: Table
    totals_where: ColumnElement[bool]
    persons_table: Table
    persons_where: ColumnElement[bool]

    def cells(self, keys_of: KeysOf) -> dict[Key, Cell]:
        """Totals and distinct participants per group (``keys_of(table)`` builds the group keys).

        With no keys, the one cell of the whole aggregation is keyed ``()``, zero when empty.
        """
        with Session(self.engine) as session:
            totals = self._totals(session, keys_of(self.totals_table))
            persons = self._participants(session, keys_of(self.persons_table))
        cells: dict[Key, Cell] = {}
        for key in set(totals) | set(persons):
            mg, entries, quantity = totals.get(key, (0, 0, 0))
            label = key[-1] if key else ""
            cells[key] = Cell(label, mg, persons.get(key, 0), entries, quantity)
        if not keys_of(self.totals_table):
            cells.setdefault((), Cell("", 0, 0, 0))
        return cells

    def _totals(
        self, session: Session, keys: Sequence[ColumnElement[Any]]
    ) -> dict[Key, tuple[int, int, int]]:
        t = self.totals_table
        sums = (
            func.coalesce(func.sum(t.c.reduction_mg), 0),
            func.coalesce(func.sum(t.c.entries), 0),
            func.coalesce(func.sum(t.c.quantity_milli), 0),
        )
        labelled = [k.label(f"k{i}") for i, k in enumerate(keys)]
        query = select(*labelled, *sums).where(self.totals_where)
        if keys:
            query = query.group_by(*labelled)
        result: dict[Key, tuple[int, int, int]] = {}
        for row in session.execute(query):
            mg, n, q = row[len(keys) :]
            if keys or n:
                result[_key(row[: len(keys)])] = (int(mg), int(n), int(q))
        return result

    def _participants(self, session: Session, keys: Sequence[ColumnElement[Any]]) -> dict[Key, int]:
        persons = func.count(func.distinct(self.persons_table.c.person_id))
        labelled = [k.label(f"k{i}") for i, k in enumerate(keys)]
        # a person whose entries in the cell were all reversed no longer takes part
        taking_part = and_(self.persons_where, self.persons_table.c.entries > 0)
        query = select(*labelled, persons).where(taking_part)
        if keys:
            query = query.group_by(*labelled)
        result: dict[Key, int] = {}
        for row in session.execute(query):
            if keys or row[-1]:
                result[_key(row[: len(keys)])] = int(row[-1])
        return result


def _key(values: Sequence[object]) -> Key:
    return tuple(v.isoformat() if isinstance(v, date) else str(v) for v in values)
