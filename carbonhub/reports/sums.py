"""Reading the consented daily sums of many grids in one statement.

A report needs a dozen grids (its cells, and the canonical sibling groups that decide their
suppression), most of them different cuts of the same rows: the month by category, the quarter
split by month, the month by child region. Instead of one aggregate query per grid, the grids
are served from a few *bases*: the daily sums grouped by (unit?, step, behaviour?) over a run
of contiguous steps. A base serves every grid whose period and steps are unions of its steps
over the same units; each grid is then summed from the base's few hundred rows in Python.
All bases are read in one ``UNION ALL`` statement.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    String,
    Table,
    cast,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import CompoundSelect, Select

from carbonhub.methodology import Catalogue
from carbonhub.periods import Period
from carbonhub.reports.scope import step_expression

Key = tuple[str, ...]
# reduction mg, entries, quantity (milli-units), project emissions mg, business-travel entries
# and their project emissions mg
Sums = tuple[int, int, int, int, int, int]
MEASURES = (
    "reduction_mg",
    "entries",
    "quantity_milli",
    "project_emission_mg",
    "business_entries",
    "business_project_emission_mg",
)


@dataclass(frozen=True, slots=True)
class SumsRequest:
    """The sums one grid needs: ``leaves`` over ``period`` split by ``steps`` (none: the period
    itself), by child unit when ``children`` maps leaves to children, by ``scope`` (``all``,
    ``category`` or ``behaviour``), under the report's methodology or, with ``any_methodology``,
    under every methodology (for which behaviours have rows at all)."""

    leaves: tuple[str, ...]
    period: Period
    steps: tuple[Period, ...]
    children: Mapping[str, str] | None
    scope: str
    any_methodology: bool = False

    @property
    def atoms(self) -> tuple[Period, ...]:
        return self.steps or (self.period,)


@dataclass(frozen=True, slots=True)
class Base:
    """Daily sums over ``atoms`` (contiguous disjoint steps) of ``leaves``, grouped by step
    and, where a served grid needs them, by unit and by behaviour."""

    leaves: tuple[str, ...]
    atoms: tuple[Period, ...]
    any_methodology: bool
    by_unit: bool
    by_behaviour: bool


def contiguous(atoms: Sequence[Period]) -> bool:
    """Whether sorted steps follow one another without a gap or an overlap."""
    return all(b.start == a.end + timedelta(days=1) for a, b in pairwise(atoms))


def serves(base: tuple[Period, ...], request: SumsRequest) -> bool:
    """Whether the request's period and each of its steps are unions of the (contiguous,
    sorted) ``base`` steps: then its grid can be summed from the base's rows."""
    if request.atoms == base:
        return True
    if not contiguous(base):
        return False
    starts = {a.start for a in base}
    ends = {a.end for a in base}
    return all(p.start in starts and p.end in ends for p in (request.period, *request.atoms))


def plan(requests: Sequence[SumsRequest]) -> tuple[list[Base], list[int]]:
    """Few bases serving every request, and which base serves each (greedy set cover)."""
    candidates: dict[tuple[tuple[str, ...], bool, tuple[Period, ...]], None] = {}
    for r in requests:
        atoms = tuple(sorted(r.atoms, key=lambda p: p.start))
        candidates.setdefault((r.leaves, r.any_methodology, atoms))
    served_by = {
        key: [
            i
            for i, r in enumerate(requests)
            if (r.leaves, r.any_methodology) == key[:2] and serves(key[2], r)
        ]
        for key in candidates
    }
    chosen = [-1] * len(requests)
    bases: list[Base] = []
    while any(c < 0 for c in chosen):
        key = max(served_by, key=lambda k: (sum(chosen[i] < 0 for i in served_by[k]), -len(k[2])))
        mine = [i for i in served_by.pop(key) if chosen[i] < 0]
        for i in mine:
            chosen[i] = len(bases)
        bases.append(
            Base(
                leaves=key[0],
                atoms=key[2],
                any_methodology=key[1],
                by_unit=any(requests[i].children is not None for i in mine),
                by_behaviour=any(requests[i].scope != "all" for i in mine),
            )
        )
    return bases, chosen


def read_bases(
    connection: Connection | Session,
    daily: Table,
    recipient: tuple[str, str],
    methodology_key: str,
    bases: Sequence[Base],
) -> list[list[tuple[str, str, str, Sums]]]:
    """Rows (unit or "", step label, behaviour or "", sums) of every base, in one statement."""
    if not bases:
        return []
    statement = _bases_statement(daily, recipient, methodology_key, tuple(bases))
    rows: list[list[tuple[str, str, str, Sums]]] = [[] for _ in bases]
    for index, unit, step, behaviour, *sums in connection.execute(statement):
        label = step.isoformat() if isinstance(step, date) else str(step)
        measured = (
            int(sums[0]),
            int(sums[1]),
            int(sums[2]),
            int(sums[3]),
            int(sums[4]),
            int(sums[5]),
        )
        rows[index].append((unit or "", label, behaviour or "", measured))
    return rows


@lru_cache(maxsize=512)
def _bases_statement(
    daily: Table, recipient: tuple[str, str], methodology_key: str, bases: tuple[Base, ...]
) -> CompoundSelect[Any]:
    # building the statement costs more Python than running it; dashboards ask the same
    # report again and again, so the construct (and SQLAlchemy's compiled form) is reused
    return union_all(
        *(_base_query(daily, recipient, methodology_key, i, b) for i, b in enumerate(bases))
    )


def _base_query(
    daily: Table, recipient: tuple[str, str], methodology_key: str, index: int, base: Base
) -> Select[Any]:
    d = daily.c
    unit = d.unit if base.by_unit else null()
    step = cast(step_expression(d.local_date, base.atoms), String)
    behaviour = d.behaviour_code if base.by_behaviour else null()
    query = select(
        literal(index, Integer).label("b"),
        unit.label("u"),
        step.label("s"),
        behaviour.label("h"),
        *(func.coalesce(func.sum(d[measure]), 0) for measure in MEASURES),
    ).where(
        d.recipient_kind == recipient[0],
        d.recipient_id == recipient[1],
        d.local_date.between(base.atoms[0].start, base.atoms[-1].end),
        d.unit.in_(list(base.leaves)),
    )
    if not base.any_methodology:
        query = query.where(d.methodology_key == methodology_key)
    groups = [
        c for c, wanted in ((d.unit, base.by_unit), (d.behaviour_code, base.by_behaviour)) if wanted
    ]
    return query.group_by(*groups, step)


def derive(
    request: SumsRequest,
    base: Base,
    rows: Iterable[tuple[str, str, str, Sums]],
    catalogue: Catalogue,
) -> dict[Key, Sums]:
    """The request's grid, summed from its base's rows: keyed (child?, step label?, scope?)."""
    step_of = _step_labels(request, base)
    category = {b.code: b.category for b in catalogue.behaviours}
    result: dict[Key, list[int]] = {}
    for unit, atom, behaviour, measured in rows:
        step = step_of.get(atom)
        if step is None:
            continue
        key: list[str] = []
        if request.children is not None:
            key.append(request.children.get(unit, ""))
        if request.steps:
            key.append(step)
        if request.scope == "category":
            key.append(category.get(behaviour, "unknown"))
        elif request.scope == "behaviour":
            key.append(behaviour)
        sums = result.setdefault(tuple(key), [0, 0, 0, 0, 0, 0])
        for i, value in enumerate(measured):
            sums[i] += value
    return {key: (s[0], s[1], s[2], s[3], s[4], s[5]) for key, s in result.items() if key or s[1]}


def _step_labels(request: SumsRequest, base: Base) -> dict[str, str]:
    """Each base step inside the request's period -> the request step holding it ("" if none)."""
    steps = sorted(request.steps, key=lambda p: p.start)
    starts = [s.start for s in steps]
    labels: dict[str, str] = {}
    for atom in base.atoms:
        if atom.start < request.period.start or atom.end > request.period.end:
            continue
        at = bisect_right(starts, atom.start) - 1
        holder = steps[at] if at >= 0 and atom.end <= steps[at].end else None
        labels[atom.label] = holder.label if holder is not None else ""
    return labels
