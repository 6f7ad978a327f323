"""Rollup deltas gathered while posting a batch, written in the batch's own transaction.

Every entry adds to three rollups, per methodology that quantified it: region x day x behaviour,
person x day x behaviour, and enterprise x person x day x behaviour (one row per employer).
A reversal adds the negation, so rollups always equal the sum of their entries.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.aggregates import ReleaseRules
from carbonhub.aggregates.maintenance import on_posted
from carbonhub.aggregates.rebuild import rebuild_released
from carbonhub.bulk import BulkWriter
from carbonhub.models import (
    EnterpriseDailyRollup,
    LedgerEntry,
    PersonDailyRollup,
    RegionDailyRollup,
    table_of,
)

REGION = table_of(RegionDailyRollup)
PERSON = table_of(PersonDailyRollup)
ENTERPRISE = table_of(EnterpriseDailyRollup)
CREDITING_STATUSES = frozenset({"credited", "capped"})


@dataclass(frozen=True, slots=True)
class Contribution:
    """One entry's amounts under one methodology (negative for a reversal)."""

    methodology_key: str
    entries: int
    counted: int
    quantity_milli: int
    reduction_mg: int
    project_emission_mg: int


class RollupDeltas:
    """Sums of contributions keyed like the rollup tables, flushed with one upsert per table."""

    def __init__(self) -> None:
        self.region: defaultdict[tuple[str, date, str, str], list[int]] = defaultdict(
            lambda: [0, 0, 0]
        )
        self.person: dict[tuple[str, date, str, str], list[int | str]] = {}
        self.enterprise: defaultdict[tuple[str, str, date, str, str], list[int]] = defaultdict(
            lambda: [0, 0, 0, 0, 0, 0]
        )

    def add(
        self,
        *,
        person_id: str,
        day: date,
        behaviour: str,
        region: str,
        employers: Iterable[str],
        contributions: Iterable[Contribution],
        business_travel: bool = False,
    ) -> None:
        """Add one entry's contributions to every rollup it belongs to."""
        employers = tuple(employers)
        for c in contributions:
            r = self.region[(region, day, behaviour, c.methodology_key)]
            r[0] += c.entries
            r[1] += c.quantity_milli
            r[2] += c.reduction_mg
            p = self.person.setdefault(
                (person_id, day, behaviour, c.methodology_key), [region, 0, 0, 0, 0]
            )
            p[1] = int(p[1]) + c.entries
            p[2] = int(p[2]) + c.counted
            p[3] = int(p[3]) + c.quantity_milli
            p[4] = int(p[4]) + c.reduction_mg
            for enterprise in employers:
                e = self.enterprise[(enterprise, person_id, day, behaviour, c.methodology_key)]
                e[0] += c.entries
                e[1] += c.quantity_milli
                e[2] += c.reduction_mg
                e[3] += c.project_emission_mg
                if business_travel:
                    e[4] += c.entries
                    e[5] += c.project_emission_mg

    def flush(self, session: Session, rules: ReleaseRules | None) -> None:
        """Write the sums into the rollup tables (insert, or add to the existing row), and into
        the released aggregates under ``rules`` (None only while everything is rebuilt)."""
        writer = BulkWriter(session)
        writer.upsert_adding(
            REGION,
            (
                "region_code",
                "local_date",
                "behaviour_code",
                "methodology_key",
                "entries",
                "quantity_milli",
                "reduction_mg",
            ),
            ("region_code", "local_date", "behaviour_code", "methodology_key"),
            ("entries", "quantity_milli", "reduction_mg"),
            [(*k, *v) for k, v in self.region.items()],
        )
        writer.upsert_adding(
            PERSON,
            (
                "person_id",
                "local_date",
                "behaviour_code",
                "methodology_key",
                "region_code",
                "entries",
                "counted",
                "quantity_milli",
                "reduction_mg",
            ),
            ("person_id", "local_date", "behaviour_code", "methodology_key"),
            ("entries", "counted", "quantity_milli", "reduction_mg"),
            [(*k, *v) for k, v in self.person.items()],
        )
        writer.upsert_adding(
            ENTERPRISE,
            (
                "enterprise_id",
                "person_id",
                "local_date",
                "behaviour_code",
                "methodology_key",
                "entries",
                "quantity_milli",
                "reduction_mg",
                "project_emission_mg",
                "business_entries",
                "business_project_emission_mg",
            ),
            ("enterprise_id", "person_id", "local_date", "behaviour_code", "methodology_key"),
            (
                "entries",
                "quantity_milli",
                "reduction_mg",
                "project_emission_mg",
                "business_entries",
                "business_project_emission_mg",
            ),
            [(*k, *v) for k, v in self.enterprise.items()],
        )
        if rules is not None:
            on_posted(session, rules, self.person, self.enterprise)


def contributions_of(reductions: Mapping[str, Mapping[str, Any]], sign: int) -> list[Contribution]:
    """The rollup contributions of an entry from its stored ``reductions`` JSON.

    Amounts are taken as stored (a reversal stores them negated); ``sign`` (+1 credit,
    -1 reversal) sets the entry and counted-event counts.
    """
    result = []
    for key, r in sorted(reductions.items()):
        if r.get("status") not in CREDITING_STATUSES:
            continue
        mg = int(r.get("mg", 0))
        result.append(
            Contribution(
                methodology_key=key,
                entries=sign,
                counted=sign if mg != 0 else 0,
                quantity_milli=int(r.get("qty", 0)),
                reduction_mg=mg,
                project_emission_mg=int(r.get("pe_mg") or 0),
            )
        )
    return result


def rebuild_rollups(session: Session, rules: ReleaseRules) -> None:
    """Recompute every rollup, and the released aggregates, from the ledger entries and the
    counted consents, in the caller's transaction.

    An operator's repair tool; the ledger is the source of truth.
    """
    for table in (REGION, PERSON, ENTERPRISE):
        session.execute(delete(table))
    deltas = RollupDeltas()
    query = select(
        col(LedgerEntry.person_id),
        col(LedgerEntry.local_date),
        col(LedgerEntry.behaviour_code),
        col(LedgerEntry.region_code),
        col(LedgerEntry.employers),
        col(LedgerEntry.entry_type),
        col(LedgerEntry.reductions),
        col(LedgerEntry.business_travel),
    ).execution_options(yield_per=5000)
    for (
        person_id,
        day,
        behaviour,
        region,
        employers,
        entry_type,
        reductions,
        business,
    ) in session.execute(query):
        deltas.add(
            person_id=person_id,
            day=day,
            behaviour=behaviour,
            region=region,
            employers=json.loads(employers),
            contributions=contributions_of(
                json.loads(reductions), -1 if entry_type == "reversal" else 1
            ),
            business_travel=bool(business),
        )
    deltas.flush(session, None)
    rebuild_released(session, rules)
