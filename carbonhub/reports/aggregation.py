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
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select
from sqlalchemy.sql import Select

from carbonhub.aggregates import ALL_TIME, partition_key
from carbonhub.db import reading
from carbonhub.methodology import Catalogue
from carbonhub.models import ReleasedCount, ReleasedDaily, table_of
from carbonhub.periods import Period
from carbonhub.reports.figures import Cell, Travel
from carbonhub.reports.sums import Key, Sums, SumsRequest, derive, plan, read_bases

DAILY = table_of(ReleasedDaily)
COUNT = table_of(ReleasedCount)


class Scope(StrEnum):
    """Which behaviours a cell covers: all of them, one category, or one behaviour."""

    ALL = "all"
    CATEGORY = "category"
    BEHAVIOUR = "behaviour"


@dataclass(frozen=True, slots=True)
class GridSpec:
    """One grid: ``node`` (units ``leaves`` in the sums), split by ``children`` (child node ->
    its leaves) and ``steps`` if given, over ``period``, in ``scope``. With ``any_methodology``
    the grid only says which cells have rows under any methodology (its participants are 0);
    with ``all_time`` it holds only the distinct persons of every day there is (the all-time
    counter, whatever ``period`` says) and no sums: what an ESG report checks first."""

    node: str
    leaves: Sequence[str]
    period: Period
    children: Mapping[str, Sequence[str]] | None = None
    steps: Sequence[Period] = ()
    scope: Scope = Scope.ALL
    any_methodology: bool = False
    all_time: bool = False

    def sums_request(self) -> SumsRequest:
        """What the grid needs of the daily sums."""
        leaf_to_child = (
            None
            if self.children is None
            else {leaf: c for c, leaves in self.children.items() for leaf in leaves}
        )
        return SumsRequest(
            tuple(sorted(self.leaves)),
            self.period,
            tuple(self.steps),
            leaf_to_child,
            self.scope.value,
            self.any_methodology,
        )


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
        return self.cells_of([spec])[0]

    def cells_of(self, specs: Sequence[GridSpec]) -> list[dict[Key, Cell]]:
        """The cells of every grid, read in two statements: the sums (:mod:`.sums`) and the
        distinct-person counters."""
        requests = [spec.sums_request() for spec in specs if not spec.all_time]
        bases, served_by = plan(requests)
        with reading(self.engine) as connection:
            rows = read_bases(connection, DAILY, self.recipient, self.methodology_key, bases)
            persons = self._participants(connection, specs)
        summed = iter(zip(requests, served_by, strict=True))
        grids = []
        for spec, counted in zip(specs, persons, strict=True):
            totals: dict[Key, Sums] = {}
            if not spec.all_time:
                request, base = next(summed)
                totals = derive(request, bases[base], rows[base], self.catalogue)
            cells: dict[Key, Cell] = {}
            for key in set(totals) | set(counted):
                mg, entries, quantity, project, business, business_project = totals.get(
                    key, (0, 0, 0, 0, 0, 0)
                )
                label = key[-1] if key else ""
                cells[key] = Cell(
                    label,
                    mg,
                    counted.get(key, 0),
                    entries,
                    quantity,
                    Travel(project, business, business_project),
                )
            if spec.children is None and not spec.steps and spec.scope is Scope.ALL:
                cells.setdefault((), Cell("", 0, 0, 0))
            grids.append(cells)
        return grids

    def _participants(
        self, connection: Connection, specs: Sequence[GridSpec]
    ) -> list[dict[Key, int]]:
        """Distinct persons per cell of each grid, from the counters, in one statement: the
        grids' (nodes, scope kind) pairs each with the partitions they read."""
        labels: list[dict[str, str]] = []
        wanted: dict[tuple[tuple[str, ...], Scope], set[str]] = {}
        for spec in specs:
            steps = spec.steps or (spec.period,)
            labels.append(
                {ALL_TIME: ""}
                if spec.all_time
                else {self._partition(step): step.label if spec.steps else "" for step in steps}
            )
            if not spec.any_methodology:
                wanted.setdefault((_nodes(spec), spec.scope), set()).update(labels[-1])
        result: list[dict[Key, int]] = [{} for _ in specs]
        if not wanted:
            return result
        found: dict[tuple[str, str], list[tuple[str, int]]] = {}
        for node, partition, scope, persons in connection.execute(self._counters(wanted)):
            found.setdefault((node, partition), []).append((scope, int(persons)))
        for index, spec in enumerate(specs):
            if spec.any_methodology:
                continue
            for node in _nodes(spec):
                for partition, label in labels[index].items():
                    for scope, persons in found.get((node, partition), ()):
                        if _scope_kind(scope) is not spec.scope:
                            continue
                        key: list[str] = []
                        if spec.children is not None:
                            key.append(node)
                        if spec.steps:
                            key.append(label)
                        if spec.scope is not Scope.ALL:
                            key.append(scope[2:])
                        result[index][tuple(key)] = persons
        return result

    def _counters(self, wanted: Mapping[tuple[tuple[str, ...], Scope], set[str]]) -> Select[Any]:
        groups = tuple(
            (nodes, scope, tuple(sorted(partitions)))
            for (nodes, scope), partitions in sorted(wanted.items())
        )
        return _counters_statement(self.recipient, self.methodology_key, groups)

    def _partition(self, period: Period) -> str:
        key = partition_key(period, self.season)
        if key is None:
            # reports release predefined partitions only; any other range is a programming error
            raise RuntimeError(f"no distinct-person counter for {period.label!r}")
        return key


@lru_cache(maxsize=512)
def _counters_statement(
    recipient: tuple[str, str],
    methodology_key: str,
    groups: tuple[tuple[tuple[str, ...], Scope, tuple[str, ...]], ...],
) -> Select[Any]:
    # built once per shape and reused: constructing the OR of groups cost more Python than the
    # index reads it asks for
    c = COUNT.c
    kinds = {Scope.ALL: c.scope == "all", Scope.CATEGORY: c.scope.like("c:%")}
    return select(c.node, c.partition, c.scope, c.persons).where(
        c.recipient_kind == recipient[0],
        c.recipient_id == recipient[1],
        c.methodology_key == methodology_key,
        c.persons > 0,
        or_(
            *(
                and_(
                    c.node.in_(nodes),
                    c.partition.in_(partitions),
                    kinds.get(scope, c.scope.like("b:%")),
                )
                for nodes, scope, partitions in groups
            )
        ),
    )


def _nodes(spec: GridSpec) -> tuple[str, ...]:
    return tuple(spec.children) if spec.children is not None else (spec.node,)


def _scope_kind(scope: str) -> Scope:
    if scope == "all":
        return Scope.ALL
    return Scope.CATEGORY if scope.startswith("c:") else Scope.BEHAVIOUR
