"""A grid read the plain way, as the reference for the batched reads: one aggregate query over
``released_daily`` grouped in SQL, and one query of its counters, per grid."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from carbonhub.aggregates import ALL_TIME, partition_key
from carbonhub.reports.aggregation import COUNT, DAILY, GridSpec, Released, Scope
from carbonhub.reports.figures import Cell
from carbonhub.reports.scope import category_of, mapped, step_expression

Key = tuple[str, ...]


def grid_alone(released: Released, spec: GridSpec) -> dict[Key, Cell]:
    """The cells of one grid, each figure aggregated by the database."""
    with Session(released.engine) as session:
        # an all-time grid holds the all-time counter only (no sums)
        totals = {} if spec.all_time else _totals(session, released, spec)
        persons = {} if spec.any_methodology else _participants(session, released, spec)
    cells: dict[Key, Cell] = {}
    for key in set(totals) | set(persons):
        mg, entries, quantity = totals.get(key, (0, 0, 0))
        cells[key] = Cell(key[-1] if key else "", mg, persons.get(key, 0), entries, quantity)
    if spec.children is None and not spec.steps and spec.scope is Scope.ALL:
        cells.setdefault((), Cell("", 0, 0, 0))
    return cells


def _totals(session: Session, released: Released, spec: GridSpec) -> dict[Key, tuple[int, ...]]:
    keys: list[ColumnElement[Any]] = []
    if spec.children is not None:
        leaf_to_child = {leaf: c for c, leaves in spec.children.items() for leaf in leaves}
        keys.append(mapped(DAILY.c.unit, leaf_to_child))
    if spec.steps:
        keys.append(step_expression(DAILY.c.local_date, spec.steps))
    if spec.scope is Scope.CATEGORY:
        keys.append(category_of(DAILY.c.behaviour_code, released.catalogue))
    elif spec.scope is Scope.BEHAVIOUR:
        keys.append(DAILY.c.behaviour_code)
    labelled = [k.label(f"k{i}") for i, k in enumerate(keys)]
    query = select(
        *labelled,
        func.coalesce(func.sum(DAILY.c.reduction_mg), 0),
        func.coalesce(func.sum(DAILY.c.entries), 0),
        func.coalesce(func.sum(DAILY.c.quantity_milli), 0),
    ).where(
        DAILY.c.recipient_kind == released.recipient[0],
        DAILY.c.recipient_id == released.recipient[1],
        DAILY.c.local_date.between(spec.period.start, spec.period.end),
        DAILY.c.unit.in_(list(spec.leaves)),
    )
    if not spec.any_methodology:
        query = query.where(DAILY.c.methodology_key == released.methodology_key)
    if keys:
        query = query.group_by(*labelled)
    result: dict[Key, tuple[int, ...]] = {}
    for row in session.execute(query):
        mg, n, q = row[len(keys) :]
        if keys or n:
            key = tuple(v.isoformat() if isinstance(v, date) else str(v) for v in row[: len(keys)])
            result[key] = (int(mg), int(n), int(q))
    return result


def _participants(session: Session, released: Released, spec: GridSpec) -> dict[Key, int]:
    nodes = list(spec.children) if spec.children is not None else [spec.node]
    steps = spec.steps or (spec.period,)
    labels = (
        {ALL_TIME: ""}
        if spec.all_time
        else {partition_key(s, released.season): s.label if spec.steps else "" for s in steps}
    )
    query = select(COUNT.c.node, COUNT.c.partition, COUNT.c.scope, COUNT.c.persons).where(
        COUNT.c.recipient_kind == released.recipient[0],
        COUNT.c.recipient_id == released.recipient[1],
        COUNT.c.methodology_key == released.methodology_key,
        COUNT.c.node.in_(nodes),
        COUNT.c.partition.in_(list(labels)),
        COUNT.c.persons > 0,
    )
    if spec.scope is Scope.ALL:
        query = query.where(COUNT.c.scope == "all")
    else:
        query = query.where(COUNT.c.scope.like("c:%" if spec.scope is Scope.CATEGORY else "b:%"))
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
