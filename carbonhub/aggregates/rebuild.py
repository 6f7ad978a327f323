"""Recomputing every released aggregate from the rollups and the counted consents.

The repair tool behind ``carbonhub ledger rebuild-rollups``, and how a database filled by other
means (a benchmark's generated season) gets its aggregates: one ordered pass over each
person-level rollup, a person at a time, with set-based writes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date
from itertools import groupby
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from carbonhub.aggregates.maintenance import PERSON, contributions
from carbonhub.aggregates.presence import CounterKey, Days, base_of, counter_changes, day_bit
from carbonhub.aggregates.rules import Coverage, Recipient, ReleaseRules, covered
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
# (recipient, unit, day, behaviour, methodology, amounts): a contribution without its person
PersonRow = tuple[Recipient, str, date, str, str, tuple[int, ...]]


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
    for person_id, rows in _by_person(session, coverage):
        days: dict[PresenceKey, Days] = defaultdict(dict)
        for recipient, unit, day, behaviour, methodology, amounts in rows:
            category = rules.category(behaviour)
            if not covered(coverage[person_id], recipient, day, category):
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


def _by_person(
    session: Session, coverage: dict[str, list[Coverage]]
) -> Iterator[tuple[str, list[PersonRow]]]:
    """Each consenting person's contributions, a person at a time (a person can come twice:
    once with their programme rows, once with their enterprise rows)."""
    recipients_of = {p: {c.recipient for c in counted} for p, counted in coverage.items()}
    rows = contributions(session, recipients_of, None)
    for person_id, grouped in groupby(rows, key=lambda r: r[0]):
        yield person_id, [r[1:] for r in grouped]
