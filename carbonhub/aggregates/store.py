"""Reading and writing the released aggregates: counted consents, presence, sums and counters."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from carbonhub.aggregates.presence import (
    CounterKey,
    Days,
    base_of,
    counter_changes,
    from_year,
    year_slice,
)
from carbonhub.aggregates.rules import Coverage, ReleaseRules
from carbonhub.bulk import BulkWriter
from carbonhub.models import (
    ConsentGrant,
    ConsentGrantCategory,
    ReleasedCount,
    ReleasedDaily,
    ReleasedPending,
    ReleasedPresence,
    table_of,
)

GRANT = table_of(ConsentGrant)
COVERED = table_of(ConsentGrantCategory)
DAILY = table_of(ReleasedDaily)
PRESENCE = table_of(ReleasedPresence)
COUNT = table_of(ReleasedCount)
COUNTED = 1
PRESENCE_COLUMNS = (
    "person_id",
    "recipient_kind",
    "recipient_id",
    "methodology_key",
    "year",
    "days",
)

# (recipient kind, recipient id, person, methodology)
PresenceKey = tuple[str, str, str, str]
DailyKey = tuple[str, str, str, date, str, str]
AMOUNTS = (
    "entries",
    "quantity_milli",
    "reduction_mg",
    "project_emission_mg",
    "business_entries",
    "business_project_emission_mg",
)


def counted_coverage(
    session: Session, persons: Collection[str] | None
) -> dict[str, list[Coverage]]:
    """The counted share consents (``release_state`` 1) of ``persons`` (None: everyone)."""
    if persons is not None and not persons:
        return {}
    # the grant's own list of categories (written with its consent_grant_category rows, in
    # the same transaction, and never changed): one row per consent instead of one per category
    query = select(
        GRANT.c.person_id,
        GRANT.c.recipient_kind,
        GRANT.c.recipient_id,
        GRANT.c.data_from,
        GRANT.c.data_to,
        GRANT.c.categories,
    ).where(GRANT.c.release_state == COUNTED)
    if persons is not None:
        query = query.where(GRANT.c.person_id.in_(list(persons)))
    result: dict[str, list[Coverage]] = defaultdict(list)
    for person, kind, recipient_id, first, last, categories in session.execute(query):
        result[person].append(
            Coverage((kind, recipient_id), frozenset(categories.split()), first, last)
        )
    return dict(result)


class PresenceBatch:
    """Presence bitmaps of some (recipient, person, methodology) keys, changed then saved.

    ``save`` writes the changed bitmaps and adds the resulting changes to the counters.
    """

    def __init__(
        self,
        session: Session,
        rules: ReleaseRules,
        keys: Iterable[PresenceKey],
        years: Iterable[int],
    ) -> None:
        self.session = session
        self.rules = rules
        self.keys = set(keys)
        stored = self._load()
        all_years = set(years) | {y for by_year in stored.values() for y in by_year}
        # bit 0 is the earliest year held (any year when nothing is: no bit is set then)
        self.base = base_of(sorted(all_years) or [2000])
        self.before: dict[PresenceKey, Days] = {}
        for key in self.keys:
            days: Days = {}
            for year, by_unit in stored.get(key, {}).items():
                for unit_behaviour, bits in by_unit.items():
                    days[unit_behaviour] = days.get(unit_behaviour, 0) | from_year(
                        bits, year, self.base
                    )
            self.before[key] = days
        self.after: dict[PresenceKey, Days] = {k: dict(v) for k, v in self.before.items()}
        self._stored_years = {k: set(v) for k, v in stored.items()}

    def _load(self) -> dict[PresenceKey, dict[int, dict[tuple[str, str], int]]]:
        persons = {k[2] for k in self.keys}
        stored: dict[PresenceKey, dict[int, dict[tuple[str, str], int]]] = {}
        if not persons:
            return stored
        query = select(
            PRESENCE.c.recipient_kind,
            PRESENCE.c.recipient_id,
            PRESENCE.c.person_id,
            PRESENCE.c.methodology_key,
            PRESENCE.c.year,
            PRESENCE.c.days,
        ).where(PRESENCE.c.person_id.in_(list(persons)))
        for kind, recipient_id, person, methodology, year, days in self.session.execute(query):
            key = (kind, recipient_id, person, methodology)
            if key in self.keys:
                stored.setdefault(key, {})[year] = {
                    _unit_behaviour(k): int(v, 16) for k, v in json.loads(days).items()
                }
        return stored

    def save(self) -> None:
        """Write changed bitmaps and add the counters' changes."""
        counts: Counter[tuple[str, str, str, CounterKey]] = Counter()
        rows: list[tuple[object, ...]] = []
        emptied: list[tuple[PresenceKey, int]] = []
        # a person's days are mostly the same under every methodology: compute each change once
        computed: dict[tuple[object, ...], Counter[CounterKey]] = {}
        for key in self.keys:
            before, after = self.before[key], self.after[key]
            if before == after:
                continue
            kind, recipient_id, person, methodology = key
            signature = (
                kind,
                recipient_id,
                person,
                frozenset(before.items()),
                frozenset(after.items()),
            )
            changes = computed.get(signature)
            if changes is None:
                changes = computed[signature] = counter_changes(
                    before,
                    after,
                    self.base,
                    nodes_of=self.rules.nodes(self.session, kind),
                    category_of=self.rules.category_of,
                    season=self.rules.season(self.session, (kind, recipient_id)),
                )
            for counter_key, change in changes.items():
                counts[(kind, recipient_id, methodology, counter_key)] += change
            rows_of_key, years = year_rows(key, after, self.base)
            rows.extend(rows_of_key)
            emptied.extend((key, y) for y in self._stored_years.get(key, set()) - years)
        writer = BulkWriter(self.session)
        writer.upsert_replacing(
            PRESENCE,
            PRESENCE_COLUMNS,
            ("person_id", "recipient_kind", "recipient_id", "methodology_key", "year"),
            ("days",),
            rows,
        )
        for (kind, recipient_id, person, methodology), year in emptied:
            self.session.execute(
                delete(PRESENCE).where(
                    PRESENCE.c.recipient_kind == kind,
                    PRESENCE.c.recipient_id == recipient_id,
                    PRESENCE.c.person_id == person,
                    PRESENCE.c.methodology_key == methodology,
                    PRESENCE.c.year == year,
                )
            )
        add_counts(self.session, counts)


def year_rows(key: PresenceKey, days: Days, base: int) -> tuple[list[tuple[object, ...]], set[int]]:
    """``released_presence`` rows (one per year with a day set) of one key, and their years."""
    by_year: dict[int, dict[str, str]] = defaultdict(dict)
    for (unit, behaviour), bits in days.items():
        for year in _years_of(bits, base):
            part = year_slice(bits, year, base)
            if part:
                by_year[year][f"{unit}|{behaviour}"] = format(part, "x")
    rows: list[tuple[object, ...]] = [
        (key[2], key[0], key[1], key[3], year, json.dumps(v, sort_keys=True))
        for year, v in sorted(by_year.items())
    ]
    return rows, set(by_year)


def _unit_behaviour(text: str) -> tuple[str, str]:
    unit, behaviour = text.split("|", 1)
    return unit, behaviour


def _years_of(bits: int, base: int) -> list[int]:
    if bits <= 0:
        return []
    first = date.fromordinal(base + ((bits & -bits).bit_length() - 1)).year
    last = date.fromordinal(base + bits.bit_length() - 1).year
    return list(range(first, last + 1))


def add_counts(session: Session, counts: Mapping[tuple[str, str, str, CounterKey], int]) -> None:
    """Add changes to the distinct-person counters."""
    rows = [
        (kind, recipient_id, methodology, node, partition, scope, change)
        for (kind, recipient_id, methodology, (node, partition, scope)), change in counts.items()
        if change
    ]
    BulkWriter(session).upsert_adding(
        COUNT,
        (
            "recipient_kind",
            "recipient_id",
            "methodology_key",
            "node",
            "partition",
            "scope",
            "persons",
        ),
        ("recipient_kind", "recipient_id", "methodology_key", "node", "partition", "scope"),
        ("persons",),
        rows,
    )


def add_daily(session: Session, sums: Mapping[DailyKey, Sequence[int]]) -> None:
    """Add amounts to the released daily sums."""
    rows = [(*key, *amounts) for key, amounts in sums.items() if any(amounts)]
    BulkWriter(session).upsert_adding(
        DAILY,
        (
            "recipient_kind",
            "recipient_id",
            "unit",
            "local_date",
            "behaviour_code",
            "methodology_key",
            *AMOUNTS,
        ),
        (
            "recipient_kind",
            "recipient_id",
            "unit",
            "local_date",
            "behaviour_code",
            "methodology_key",
        ),
        AMOUNTS,
        rows,
    )


def clear_all(session: Session) -> None:
    """Empty the released aggregates (before a rebuild)."""
    for table in (DAILY, PRESENCE, COUNT, table_of(ReleasedPending)):
        session.execute(delete(table))


__all__ = ["COUNTED", "PresenceBatch", "add_counts", "add_daily", "clear_all", "counted_coverage"]
