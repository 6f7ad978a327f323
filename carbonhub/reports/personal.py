"""A person's own ledger: totals from the person rollup, entries from the ledger itself.

Callers pass the access policy as a function from a person-id column to a clause; a principal who may not read
this person gets empty results, never someone else's rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, func, select

from carbonhub.db import read_session
from carbonhub.methodology import Methodology
from carbonhub.models import LedgerEntry, PersonDailyRollup, table_of
from carbonhub.periods import Period
from carbonhub.reports.figures import grams

PERSON_ROLLUP = table_of(PersonDailyRollup)
ENTRIES = table_of(LedgerEntry)


@dataclass(frozen=True, slots=True)
class BehaviourTotal:
    """A person's totals for one behaviour under one methodology."""

    behaviour: str
    entries: int
    quantity_milli: int
    unit: str | None
    reduction_mg: int


@dataclass(frozen=True, slots=True)
class EntryView:
    """A ledger entry seen under one methodology."""

    id: int
    seq: int
    entry_type: str
    source: str
    external_id: str
    behaviour: str
    quantity_milli: int
    unit: str
    occurred_at: datetime
    local_date: date
    recorded_at: datetime
    methodology_key: str
    status: str
    reduction_mg: int | None
    factor_g: Decimal | None
    note: str | None
    points: int
    hash: str

    @property
    def reduction_g(self) -> Decimal | None:
        """The reduction in grams, None when the methodology gives none."""
        return None if self.reduction_mg is None else grams(self.reduction_mg)


class PersonalLedger:
    """One person's ledger over a period, under one methodology."""

    def __init__(
        self,
        *,
        engine: Engine,
        person_id: str,
        methodology: Methodology,
        period: Period,
        visible: Callable[[ColumnElement[str]], ColumnElement[bool]],
    ) -> None:
        self.engine = engine
        self.person_id = person_id
        self.methodology = methodology
        self.period = period
        self.visible = visible

    def _rollup_where(self) -> ColumnElement[bool]:
        return and_(
            PERSON_ROLLUP.c.person_id == self.person_id,
            PERSON_ROLLUP.c.methodology_key == self.methodology.key,
            PERSON_ROLLUP.c.local_date.between(self.period.start, self.period.end),
            self.visible(PERSON_ROLLUP.c.person_id),
        )

    def total_mg(self) -> int:
        """The person's total reduction in the period."""
        query = select(func.coalesce(func.sum(PERSON_ROLLUP.c.reduction_mg), 0)).where(
            self._rollup_where()
        )
        with read_session(self.engine) as session:
            return int(session.execute(query).scalar_one())

    def by_behaviour(self) -> list[BehaviourTotal]:
        """Totals per behaviour, largest reduction first."""
        r = PERSON_ROLLUP
        query = (
            select(
                r.c.behaviour_code,
                func.sum(r.c.entries),
                func.sum(r.c.quantity_milli),
                func.sum(r.c.reduction_mg),
            )
            .where(self._rollup_where())
            .group_by(r.c.behaviour_code)
        )
        with read_session(self.engine) as session:
            rows = session.execute(query).all()
        totals = []
        for code, entries, quantity, mg in rows:
            factor = self.methodology.factor_for(code)
            totals.append(
                BehaviourTotal(
                    code, int(entries), int(quantity), factor.unit if factor else None, int(mg)
                )
            )
        return sorted(totals, key=lambda t: (-t.reduction_mg, t.behaviour))

    def entries(self, *, first: int, before_seq: int | None) -> tuple[list[EntryView], bool]:
        """Up to ``first`` entries, newest first, older than ``before_seq``; and whether more exist."""
        e = ENTRIES
        where = and_(
            e.c.person_id == self.person_id,
            e.c.local_date.between(self.period.start, self.period.end),
            self.visible(e.c.person_id),
        )
        if before_seq is not None:
            where = and_(where, e.c.seq < before_seq)
        query = select(e).where(where).order_by(e.c.seq.desc()).limit(first + 1)
        with read_session(self.engine) as session:
            rows = [dict(row._mapping) for row in session.execute(query)]
        return [view_entry(row, self.methodology.key) for row in rows[:first]], len(rows) > first


def view_entry(row: dict[str, Any], methodology_key: str) -> EntryView:
    """An entry (a row mapping) as seen under one methodology."""
    reductions = json.loads(str(row["reductions"]))
    mine = reductions.get(methodology_key)
    mg: int | None = None
    factor: Decimal | None = None
    note: str | None = f"{methodology_key} does not cover this behaviour"
    status = "not_covered"
    if mine is not None:
        status = "reversal" if row["entry_type"] == "reversal" else mine["status"]
        credits = mine["status"] in ("credited", "capped")
        mg = int(mine["mg"]) if credits else None
        factor = Decimal(mine["factor"]) if "factor" in mine else None
        note = mine.get("note") or (row["note"] if row["entry_type"] == "reversal" else None)
    return EntryView(
        id=int(row["id"]),
        seq=int(row["seq"]),
        entry_type=str(row["entry_type"]),
        source=str(row["source"]),
        external_id=str(row["external_id"]),
        behaviour=str(row["behaviour_code"]),
        quantity_milli=int(row["quantity_milli"]),
        unit=str(row["unit"]),
        occurred_at=row["occurred_at"],
        local_date=row["local_date"],
        recorded_at=row["recorded_at"],
        methodology_key=methodology_key,
        status=status,
        reduction_mg=mg,
        factor_g=factor,
        note=note,
        points=int(row["points"]),
        hash=str(row["hash"]),
    )
