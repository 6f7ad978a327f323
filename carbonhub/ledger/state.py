"""What posting a batch needs to know from the database, fetched in a few set-based queries.

Each loader takes the whole batch's keys at once (chunked to stay under driver parameter
limits), so posting costs a constant number of queries per batch, not per event.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ARRAY, ColumnElement, and_, any_, bindparam, exists, select
from sqlalchemy.orm import Session, aliased
from sqlmodel import col

from carbonhub.bulk import BulkWriter
from carbonhub.db import is_sqlite
from carbonhub.ledger.chain import GENESIS
from carbonhub.models import (
    Employment,
    LedgerEntry,
    LedgerHead,
    Person,
    PersonDailyRollup,
    Residence,
    table_of,
)

CHUNK = 900
T = TypeVar("T")


def one_of(session: Session, column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN (...)`` on SQLite; ``column = ANY(array)`` on PostgreSQL.

    One array parameter keeps the statement text the same whatever the number of keys, so
    PostgreSQL neither re-parses a statement of thousands of parameters nor needs chunking.
    """
    if is_sqlite(session.get_bind()):
        result: ColumnElement[bool] = column.in_(values)
        return result
    return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))  # type: ignore[no-any-return]


def key_chunks(session: Session, items: Sequence[T]) -> Iterator[Sequence[T]]:
    """Keys split into lookups: SQLite's parameter limit bounds IN lists; arrays need no split."""
    return chunks(items) if is_sqlite(session.get_bind()) else iter([items] if items else [])


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(slots=True)
class PersonFacts:
    """A person's home district, residence history and employment history."""

    person_id: str
    home_region: str
    residences: list[tuple[date, date | None, str]] = field(default_factory=list)
    employments: list[tuple[date, date | None, str]] = field(default_factory=list)

    def region_on(self, day: date) -> str:
        """The district the person lived in on ``day`` (the home district if unrecorded)."""
        for start, end, region in self.residences:
            if start <= day and (end is None or day <= end):
                return region
        return self.home_region

    def employers_on(self, day: date) -> tuple[str, ...]:
        """The enterprises employing the person on ``day``, sorted."""
        return tuple(
            sorted(
                {
                    ent
                    for start, end, ent in self.employments
                    if start <= day and (end is None or day <= end)
                }
            )
        )


def load_persons(session: Session, person_ids: Iterable[str]) -> dict[str, PersonFacts]:
    """Facts about the given persons; unknown ids are absent from the result."""
    ids = sorted(set(person_ids))
    facts: dict[str, PersonFacts] = {}
    for part in key_chunks(session, ids):
        for pid, home in session.execute(
            select(col(Person.id), col(Person.home_region_code)).where(
                one_of(session, col(Person.id), part)
            )
        ):
            facts[pid] = PersonFacts(pid, home)
        residences = select(
            col(Residence.person_id),
            col(Residence.valid_from),
            col(Residence.valid_to),
            col(Residence.region_code),
        )
        for pid, start, end, region in session.execute(
            residences.where(one_of(session, col(Residence.person_id), part))
        ):
            facts[pid].residences.append((start, end, region))
        jobs = select(
            col(Employment.person_id),
            col(Employment.valid_from),
            col(Employment.valid_to),
            col(Employment.enterprise_id),
        )
        for pid, start, end, enterprise in session.execute(
            jobs.where(one_of(session, col(Employment.person_id), part))
        ):
            facts[pid].employments.append((start, end, enterprise))
    return facts


@dataclass(slots=True)
class HeadState:
    """The end of one person's chain and points account, updated in memory during a batch."""

    person_id: str
    last_seq: int
    last_hash: str
    points_remainder_mg: int
    points_earned: int
    points_redeemed: int
    changed: bool = False

    def row(self) -> tuple[int, str, int, int, int, str]:
        """The values to write back (``HEAD_COLUMNS`` after the key, then the key)."""
        return (
            self.last_seq,
            self.last_hash,
            self.points_remainder_mg,
            self.points_earned,
            self.points_redeemed,
            self.person_id,
        )


HEAD_COLUMNS = (
    "person_id",
    "last_seq",
    "last_hash",
    "points_remainder_mg",
    "points_earned",
    "points_redeemed",
)


def lock_heads(session: Session, person_ids: Iterable[str]) -> dict[str, HeadState]:
    """Create missing chain heads and lock all of them for this transaction.

    On PostgreSQL the rows are locked ``FOR UPDATE`` in person order (no deadlocks between
    concurrent batches); SQLite's write transaction already excludes other writers. Heads are
    read as plain rows, straight from the database, so nothing the session holds can be stale.
    """
    ids = sorted(set(person_ids))
    heads = _select_heads(session, ids)
    missing = [pid for pid in ids if pid not in heads]
    if missing:
        BulkWriter(session).insert_ignoring_conflicts(
            table_of(LedgerHead),
            HEAD_COLUMNS,
            ["person_id"],
            [(pid, 0, GENESIS, 0, 0, 0) for pid in missing],
        )
        heads.update(_select_heads(session, missing))
    return heads


def _select_heads(session: Session, ids: Sequence[str]) -> dict[str, HeadState]:
    table = table_of(LedgerHead)
    lock = not is_sqlite(session.get_bind())
    heads: dict[str, HeadState] = {}
    for part in key_chunks(session, ids):
        query = select(*(table.c[name] for name in HEAD_COLUMNS)).where(
            one_of(session, table.c.person_id, part)
        )
        query = query.order_by(table.c.person_id)
        if lock:
            query = query.with_for_update()
        for row in session.execute(query):
            heads[row[0]] = HeadState(*row)
    return heads


@dataclass(frozen=True, slots=True)
class PostedEvent:
    """An event already in the ledger: who it belongs to and what it said."""

    person_id: str
    seq: int
    event_digest: str


def posted_events(
    session: Session, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], PostedEvent]:
    """Which of the (source, external id) pairs are already ledger entries."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, external_id in set(keys):
        by_source[source].append(external_id)
    found: dict[tuple[str, str], PostedEvent] = {}
    for source, external_ids in by_source.items():
        for part in key_chunks(session, sorted(external_ids)):
            query = select(
                col(LedgerEntry.external_id),
                col(LedgerEntry.person_id),
                col(LedgerEntry.seq),
                col(LedgerEntry.event_digest),
            ).where(
                col(LedgerEntry.source) == source,
                one_of(session, col(LedgerEntry.external_id), part),
            )
            for external_id, person_id, seq, digest in session.execute(query):
                found[(source, external_id)] = PostedEvent(person_id, seq, digest)
    return found


@dataclass(frozen=True, slots=True)
class Claim:
    """A credited behaviour instance, against which another connector's claim is checked."""

    occurred_at: datetime
    source: str
    external_id: str
    local_date: date | None = None


class ClaimIndex:
    """Credited behaviours by (person, behaviour): by time (window rule) and by reference."""

    def __init__(self) -> None:
        self._by_time: dict[tuple[str, str], list[tuple[datetime, Claim]]] = defaultdict(list)
        self._by_reference: dict[tuple[str, str, str], Claim] = {}

    def add(self, person_id: str, behaviour: str, claim: Claim, reference: str | None) -> None:
        """Remember a credited behaviour."""
        bisect.insort(
            self._by_time[(person_id, behaviour)], (claim.occurred_at, claim), key=lambda t: t[0]
        )
        if reference is not None:
            self._by_reference.setdefault((person_id, behaviour, reference), claim)

    def within(
        self,
        person_id: str,
        behaviour: str,
        moment: datetime,
        window: timedelta,
        source: str,
        *,
        day: date | None = None,
    ) -> Claim | None:
        """A claim by another source of the same behaviour within ``window`` of ``moment``.

        With ``day`` (behaviours counted by the day), only a claim on that local day matches:
        two days' step counts are two claims however close their timestamps.
        """
        claims = self._by_time.get((person_id, behaviour), [])
        start = bisect.bisect_left(claims, moment - window, key=lambda t: t[0])
        for occurred, claim in claims[start:]:
            if occurred > moment + window:
                break
            if claim.source != source and (day is None or claim.local_date == day):
                return claim
        return None

    def by_reference(self, person_id: str, behaviour: str, reference: str) -> Claim | None:
        """An earlier claim of the same behaviour with the same reference, from any source.

        A reference (waybill or order number) names one behaviour instance, so it counts once
        even when one provider sends it again under a new id.
        """
        return self._by_reference.get((person_id, behaviour, reference))


def load_claims(
    session: Session,
    *,
    window_requests: Sequence[tuple[str, str]],
    lo: datetime,
    hi: datetime,
    reference_requests: Sequence[tuple[str, str, str]],
) -> ClaimIndex:
    """Credited, unreversed entries that later claims must be checked against.

    ``window_requests`` are (person, behaviour) pairs whose entries between ``lo`` and ``hi``
    matter; ``reference_requests`` are (person, behaviour, reference) triples.
    """
    index = ClaimIndex()
    reversal = aliased(LedgerEntry)
    unreversed = ~exists().where(col(reversal.reverses_entry_id) == col(LedgerEntry.id))
    columns = (
        col(LedgerEntry.person_id),
        col(LedgerEntry.behaviour_code),
        col(LedgerEntry.occurred_at),
        col(LedgerEntry.source),
        col(LedgerEntry.external_id),
        col(LedgerEntry.claim_reference),
        col(LedgerEntry.local_date),
    )
    credit = col(LedgerEntry.entry_type) == "credit"
    # Plain IN lists on indexed columns (SQLite cannot index row-value IN); exact pairs are
    # checked below.
    wanted_pairs = set(window_requests)
    persons = sorted({p for p, _ in wanted_pairs})
    behaviours = sorted({b for _, b in wanted_pairs})
    for part in key_chunks(session, persons):
        query = select(*columns).where(
            one_of(session, col(LedgerEntry.person_id), part),
            one_of(session, col(LedgerEntry.behaviour_code), behaviours),
            and_(col(LedgerEntry.occurred_at) >= lo, col(LedgerEntry.occurred_at) <= hi),
            credit,
            unreversed,
        )
        for pid, behaviour, occurred, source, external_id, reference, day in session.execute(query):
            if (pid, behaviour) in wanted_pairs:
                index.add(pid, behaviour, Claim(occurred, source, external_id, day), reference)
    wanted_triples = set(reference_requests)
    references = sorted({r for _, _, r in wanted_triples})
    referenced = sorted({b for _, b, _ in wanted_triples})
    for part in key_chunks(session, references):
        query = select(*columns).where(
            one_of(session, col(LedgerEntry.behaviour_code), referenced),
            one_of(session, col(LedgerEntry.claim_reference), part),
            credit,
            unreversed,
        )
        for pid, behaviour, occurred, source, external_id, reference, day in session.execute(query):
            if (pid, behaviour, reference) in wanted_triples:
                index.add(pid, behaviour, Claim(occurred, source, external_id, day), reference)
    return index


@dataclass(slots=True)
class DayUsage:
    """Events counted and milligrams credited on one local day (one person, behaviour, methodology)."""

    counted: int = 0
    mg: int = 0


def load_cap_usage(
    session: Session,
    *,
    requests: Sequence[tuple[str, str]],
    first_day: date,
    last_day: date,
) -> dict[tuple[str, str, str], dict[date, DayUsage]]:
    """Per (person, behaviour, methodology), what was credited on each day in the range.

    ``requests`` are the (person, capped behaviour) pairs of the batch.
    """
    usage: dict[tuple[str, str, str], dict[date, DayUsage]] = defaultdict(dict)
    rollup = PersonDailyRollup
    wanted = set(requests)
    behaviours = sorted({b for _, b in wanted})
    for part in key_chunks(session, sorted({p for p, _ in wanted})):
        query = select(
            col(rollup.person_id),
            col(rollup.behaviour_code),
            col(rollup.methodology_key),
            col(rollup.local_date),
            col(rollup.counted),
            col(rollup.reduction_mg),
        ).where(
            one_of(session, col(rollup.person_id), part),
            col(rollup.local_date) >= first_day,
            col(rollup.local_date) <= last_day,
            one_of(session, col(rollup.behaviour_code), behaviours),
        )
        for pid, behaviour, key, day, counted, mg in session.execute(query):
            if (pid, behaviour) in wanted:
                usage[(pid, behaviour, key)][day] = DayUsage(counted, mg)
    return usage
