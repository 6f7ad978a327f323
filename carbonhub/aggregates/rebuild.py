"""Recomputing every released aggregate from the rollups and the counted consents.

The repair tool behind ``carbonhub ledger rebuild-rollups``, and how a database filled by other
means (a benchmark's generated season) gets its aggregates: one ordered pass over each
person-level rollup, a person at a time, with set-based writes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from datetime import date
from itertools import groupby
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carbonhub.aggregates.maintenance import ENTERPRISE, PERSON
from carbonhub.aggregates.presence import CounterKey, Days, base_of, counter_changes, day_bit
from carbonhub.aggregates.rules import Coverage, ReleaseRules
from carbonhub.aggregates.store import (
    PRESENCE,
    PRESENCE_COLUMNS,
    DailyKey,
    PresenceKey,
    add_counts,
    add_daily,
    clear_all,
    counted_coverage,
    year_rows,
)
from carbonhub.bulk import BulkWriter

FLUSH_ROWS = 20_000
# (recipient, unit, day, behaviour, methodology, amounts)
Contribution = tuple[tuple[str, str], str, date, str, str, tuple[int, ...]]


def rebuild_released(session: Session, rules: ReleaseRules) -> None:
    """Empty the released aggregates and recompute them (in the caller's transaction)."""
    clear_all(session)
    coverage = counted_coverage(session, None)
    first = session.scalar(select(func.min(PERSON.c.local_date)))
    if not coverage or first is None:
        return
    base = base_of([first.year])
    sums: defaultdict[DailyKey, list[int]] = defaultdict(lambda: [0] * 6)
    counts: Counter[tuple[str, str, str, CounterKey]] = Counter()
    presence: list[tuple[object, ...]] = []
    writer = BulkWriter(session)
    seasons: dict[tuple[str, str], Any] = {}
    for person_id, contributions in _by_person(session, coverage):
        days: dict[PresenceKey, Days] = defaultdict(dict)
        for recipient, unit, day, behaviour, methodology, amounts in contributions:
            category = rules.category(behaviour)
            if not _covered(coverage[person_id], recipient, day, category):
                continue
            row = sums[(*recipient, unit, day, behaviour, methodology)]
            for i, amount in enumerate(amounts):
                row[i] += amount
            if amounts[0] > 0:
                held = days[(*recipient, person_id, methodology)]
                held[(unit, behaviour)] = held.get((unit, behaviour), 0) | day_bit(day, base)
        for key, held in days.items():
            recipient = (key[0], key[1])
            if recipient not in seasons:
                seasons[recipient] = rules.season(session, recipient)
            for counter_key, change in counter_changes(
                {},
                held,
                base,
                nodes_of=rules.nodes(session, key[0]),
                category_of=rules.category_of,
                season=seasons[recipient],
            ).items():
                counts[(key[0], key[1], key[3], counter_key)] += change
            presence.extend(year_rows(key, held, base)[0])
        if len(presence) >= FLUSH_ROWS:
            writer.insert(PRESENCE, PRESENCE_COLUMNS, presence)
            presence = []
    writer.insert(PRESENCE, PRESENCE_COLUMNS, presence)
    add_daily(session, sums)
    add_counts(session, counts)


def _covered(
    coverage: Sequence[Coverage], recipient: tuple[str, str], day: date, category: str
) -> bool:
    return any(c.recipient == recipient and c.covers(day, category) for c in coverage)


def _by_person(
    session: Session, coverage: dict[str, list[Coverage]]
) -> Iterator[tuple[str, list[Contribution]]]:
    """Each consenting person's rollup rows as contributions to every recipient they could be
    released to, in person order (programme rows first, then enterprise rows)."""
    programmes = {
        person_id: {c.recipient for c in counted if c.recipient[0] == "programme"}
        for person_id, counted in coverage.items()
    }
    for rows in (_programme_rows(session, programmes), _enterprise_rows(session, set(coverage))):
        for person_id, grouped in groupby(rows, key=lambda r: r[0]):
            yield person_id, [r[1] for r in grouped]


def _programme_rows(
    session: Session, recipients: dict[str, set[tuple[str, str]]]
) -> Iterator[tuple[str, Contribution]]:
    query = (
        select(
            PERSON.c.person_id,
            PERSON.c.region_code,
            PERSON.c.local_date,
            PERSON.c.behaviour_code,
            PERSON.c.methodology_key,
            PERSON.c.entries,
            PERSON.c.quantity_milli,
            PERSON.c.reduction_mg,
        )
        .order_by(PERSON.c.person_id)
        .execution_options(yield_per=FLUSH_ROWS)
    )
    for person_id, region, day, behaviour, methodology, entries, quantity, mg in session.execute(
        query
    ):
        for recipient in recipients.get(person_id, ()):
            yield (
                person_id,
                (recipient, region, day, behaviour, methodology, (entries, quantity, mg, 0, 0, 0)),
            )


def _enterprise_rows(session: Session, persons: set[str]) -> Iterator[tuple[str, Contribution]]:
    query = (
        select(
            ENTERPRISE.c.person_id,
            ENTERPRISE.c.enterprise_id,
            ENTERPRISE.c.local_date,
            ENTERPRISE.c.behaviour_code,
            ENTERPRISE.c.methodology_key,
            ENTERPRISE.c.entries,
            ENTERPRISE.c.quantity_milli,
            ENTERPRISE.c.reduction_mg,
            ENTERPRISE.c.project_emission_mg,
            ENTERPRISE.c.business_entries,
            ENTERPRISE.c.business_project_emission_mg,
        )
        .order_by(ENTERPRISE.c.person_id)
        .execution_options(yield_per=FLUSH_ROWS)
    )
    for row in session.execute(query):
        person_id: str = row[0]
        if person_id in persons:
            enterprise: str = row[1]
            yield (
                person_id,
                (("enterprise", enterprise), enterprise, row[2], row[3], row[4], tuple(row[5:])),
            )
