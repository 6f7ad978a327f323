"""The access log: every read of personal data and every aggregate release, hash-chained.

One global chain (append order = ``id``). A read of one citizen's data names them
(``subject_person_id``); an aggregate release names its recipient, purpose, scope, period and
how many persons it covered, and a citizen finds the releases that involved them through their
own consents (same recipient and purpose, in force at the time, scope and period overlapping).
The chain covers a digest of the subject rather than their id, so erasing a citizen removes
the id and leaves the chain verifiable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

import orjson
from sqlalchemy import Connection, Engine, and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Insert, Update
from sqlmodel import col

from carbonhub.bulk import BulkWriter
from carbonhub.db import is_sqlite, reader, write_session
from carbonhub.models import AccessLogEntry, AccessLogHead, ConsentGrant, Person, table_of

GENESIS = "0" * 64
LOG = table_of(AccessLogEntry)
HEAD = table_of(AccessLogHead)
HEAD_ID = 1  # the head is one row
PAGE = 5000  # entries read at a time when the chain is walked
HEAD_HASH = select(HEAD.c.last_hash).where(HEAD.c.id == HEAD_ID)


@dataclass(frozen=True, slots=True)
class Access:
    """What one read released, to whom, and why."""

    recipient_kind: str  # enterprise, agency, citizen, operator, developer, app
    recipient_id: str
    client_id: str | None
    purpose: str  # esg_reporting, regional_statistics, own_ledger, operations
    what: str  # e.g. esg_report, region_report, person_ledger
    categories: tuple[str, ...]
    period_from: date
    period_to: date
    persons: int
    scope_code: str | None = None  # the region or enterprise reported on
    scope_prefix: str | None = None  # regional releases: see region_prefix
    subject_person_id: str | None = None
    consent_ids: tuple[str, ...] = ()
    trace_id: str | None = None


def subject_digest(person_id: str | None) -> str | None:
    """The digest the chain keeps of a subject (erasable id, verifiable chain)."""
    return None if person_id is None else hashlib.sha256(person_id.encode()).hexdigest()


HASHED = (
    "at",
    "recipient_kind",
    "recipient_id",
    "client_id",
    "purpose",
    "what",
    "subject_digest",
    "scope_code",
    "scope_prefix",
    "categories",
    "period_from",
    "period_to",
    "persons",
    "consent_ids",
    "trace_id",
    "prev_hash",
)
# an entry's columns as appended: the hashed ones, the erasable subject, and the hash
COLUMNS = ("subject_person_id", *HASHED, "hash")


def row_hash(row: Mapping[Any, Any]) -> str:
    """The chain hash of an access log row: its HASHED columns in that order, the moment in
    UTC and dates in ISO form."""
    return hashlib.sha256(orjson.dumps([_hashed(row[name]) for name in HASHED])).hexdigest()


def _hashed(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def record_access(session: Session, access: Access, *, at: datetime) -> None:
    """Append ``access`` to the log (in the caller's write transaction)."""
    record_accesses(session, [access], at=at)


def record_accesses(session: Session, accesses: Sequence[Access], *, at: datetime) -> None:
    """Append ``accesses`` to the log in order (in the caller's write transaction).

    The entries chain to the hash the head row holds, and the head moves to the last of them
    only if it still holds that hash (compare and set; the update locks the row until the
    transaction ends). When another writer moved it first, the entries chain again to the new
    hash. The entries go in as one statement, however many: a federation batch of 500 persons
    is one log write, not 500.
    """
    if not accesses:
        return
    connection = session.connection()

    def move_and_insert(rows: list[dict[str, Any]]) -> bool:
        span = {"prev_hash": rows[0]["prev_hash"], "hash": rows[-1]["hash"]}
        if connection.execute(_move_head(), span).rowcount != 1:
            return False
        # executemany keeps the given order, and the chain's order is the id order
        connection.execute(insert(LOG), rows)
        return True

    _append(connection, accesses, at, move_and_insert)


def log_accesses(engine: Engine, accesses: Sequence[Access], *, at: datetime) -> None:
    """Append ``accesses`` to the log on their own, as soon as they are logged.

    On PostgreSQL one entry (what a report or a person read logs) goes in with one statement
    in autocommit, moving the head and inserting the entry together: no BEGIN, no read of the
    head (this process remembers where it left the chain; when another process moved it since,
    nothing is written and the entry chains again) and no COMMIT round trip. Anything else
    takes a short write transaction of its own.
    """
    if len(accesses) != 1 or is_sqlite(engine):
        with write_session(engine) as session:
            record_accesses(session, accesses, at=at)
        return
    with reader(engine).connect() as connection:  # autocommit: the statement is atomic
        _append(
            connection,
            accesses,
            at,
            lambda rows: connection.execute(_append_one(), rows[0]).first() is not None,
        )


# where this process last left each database's chain (a hint: every append checks it)
_tips: WeakKeyDictionary[Engine, str] = WeakKeyDictionary()


def _append(
    connection: Connection,
    accesses: Sequence[Access],
    at: datetime,
    write: Callable[[list[dict[str, Any]]], bool],
) -> None:
    """Chain ``accesses`` to where this process left the chain (else to the head row's hash)
    and ``write`` them; when ``write`` finds the head moved, chain them again to its hash."""
    previous = _tips.get(connection.engine) or _tip(connection)
    while True:
        rows = _chained(accesses, at, previous)
        if write(rows):
            _tips[connection.engine] = rows[-1]["hash"]
            return
        previous = _tip(connection)


def _tip(connection: Connection) -> str:
    """The hash the chain ends with, from the head row (made from the log if it is missing)."""
    found = connection.execute(HEAD_HASH).scalar()
    if found is not None:
        return str(found)
    last = connection.execute(select(LOG.c.hash).order_by(LOG.c.id.desc()).limit(1)).scalar()
    BulkWriter(connection).insert_ignoring_conflicts(
        HEAD, ("id", "last_hash"), ["id"], [(HEAD_ID, last or GENESIS)]
    )
    return str(connection.execute(HEAD_HASH).scalar_one())


def _chained(accesses: Sequence[Access], at: datetime, previous: str) -> list[dict[str, Any]]:
    rows = []
    for access in accesses:
        row = _row(access, at, previous)
        previous = row["hash"] = row_hash(row)
        rows.append(row)
    return rows


@lru_cache(maxsize=1)
def _move_head() -> Update:
    """Move the head from ``prev_hash`` (the first entry's) to ``hash`` (the last entry's);
    it matches no row when the head was elsewhere."""
    return (
        update(HEAD)
        .where(HEAD.c.id == HEAD_ID, HEAD.c.last_hash == bindparam("prev_hash"))
        .values(last_hash=bindparam("hash"))
    )


@lru_cache(maxsize=1)
def _append_one() -> Insert:
    """PostgreSQL: move the head from the entry's ``prev_hash`` to its ``hash`` and insert the
    entry, in one statement (nothing is inserted when the head was elsewhere)."""
    moved = _move_head().returning(HEAD.c.id).cte("moved")
    entry = select(*(bindparam(name, type_=LOG.c[name].type) for name in COLUMNS))
    return (
        insert(LOG)
        .from_select(COLUMNS, entry.select_from(moved))
        .add_cte(moved)
        .returning(LOG.c.id)
    )


def _row(access: Access, at: datetime, prev_hash: str) -> dict[str, Any]:
    return {
        "at": at,
        "recipient_kind": access.recipient_kind,
        "recipient_id": access.recipient_id[:64],
        "client_id": access.client_id,
        "purpose": access.purpose,
        "what": access.what,
        "subject_person_id": access.subject_person_id,
        "subject_digest": subject_digest(access.subject_person_id),
        "scope_code": access.scope_code,
        "scope_prefix": access.scope_prefix,
        "categories": " ".join(sorted(access.categories)),
        "period_from": access.period_from,
        "period_to": access.period_to,
        "persons": access.persons,
        "consent_ids": " ".join(access.consent_ids),
        "trace_id": access.trace_id,
        "prev_hash": prev_hash,
    }


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """What walking the access log found: entries checked, and the first that does not verify
    (edited, deleted, reordered, or a second successor of one entry), if any."""

    entries: int
    first_broken: int | None


def check_chain(session: Session) -> ChainCheck:
    """Walk the access log in id order, recomputing every hash; stop at the first bad entry.

    An entry is bad when its ``prev_hash`` is not its predecessor's hash or its own hash does
    not match its columns. The head row must hold the last entry's hash too; when it does not,
    the last entry is reported (the chain was cut there, or the head moved without it).
    """
    previous = GENESIS
    checked = 0
    last: int | None = None
    query = select(*(LOG.c[name] for name in ("id", *COLUMNS))).order_by(LOG.c.id).limit(PAGE)
    while True:
        page = session.execute(query.where(LOG.c.id > (last or 0))).mappings().all()
        for row in page:
            if row["prev_hash"] != previous or row_hash(row) != row["hash"]:
                return ChainCheck(checked, int(row["id"]))
            previous, last = row["hash"], int(row["id"])
            checked += 1
        if len(page) < PAGE:
            break
    head = session.execute(HEAD_HASH).scalar()
    if head is not None and head != previous:
        return ChainCheck(checked, last)
    return ChainCheck(checked, None)


def verify_access_log(engine: Engine) -> ChainCheck:
    """:func:`check_chain` over one snapshot of the log and its head, so that entries appended
    while the walk runs are neither half-seen nor taken for a head that moved without them."""
    with engine.connect() as connection:
        if not is_sqlite(connection):
            # SQLite's read transaction is a snapshot already (WAL); PostgreSQL's default
            # READ COMMITTED would give each query its own
            connection.execution_options(isolation_level="REPEATABLE READ")
        with Session(bind=connection) as session:
            return check_chain(session)


def first_broken_entry(session: Session) -> int | None:
    """The id of the first access log entry whose chain does not verify, or None."""
    return check_chain(session).first_broken


def entries_for_person(
    session: Session, person_id: str, *, first: int = 50, before_id: int | None = None
) -> list[AccessLogEntry]:
    """Reads that involved the citizen, newest first: reads of their own data, and releases
    their consents let them into (same recipient and purpose, in force at the time, data
    window overlapping the period; for regional releases, a home district in scope)."""
    grant, person = ConsentGrant, Person
    recipient = or_(
        and_(
            col(grant.recipient_kind) == "enterprise",
            col(grant.recipient_id) == col(AccessLogEntry.scope_code),
        ),
        and_(
            col(grant.recipient_kind) == "programme",
            col(person.home_region_code).startswith(col(AccessLogEntry.scope_prefix)),
        ),
    )
    involved = (
        select(col(AccessLogEntry.id))
        .join(grant, col(grant.purpose) == col(AccessLogEntry.purpose))
        .join(person, col(person.id) == col(grant.person_id))
        .where(
            col(grant.person_id) == person_id,
            col(grant.kind) == "share",
            recipient,
            col(grant.granted_at) <= col(AccessLogEntry.at),
            col(grant.expires_at) > col(AccessLogEntry.at),
            col(grant.data_from) <= col(AccessLogEntry.period_to),
            col(grant.data_to) >= col(AccessLogEntry.period_from),
            col(AccessLogEntry.persons) > 0,
        )
    )
    query = select(AccessLogEntry).where(
        or_(
            col(AccessLogEntry.subject_person_id) == person_id,
            col(AccessLogEntry.id).in_(involved),
        )
    )
    if before_id is not None:
        query = query.where(col(AccessLogEntry.id) < before_id)
    return list(session.scalars(query.order_by(col(AccessLogEntry.id).desc()).limit(first)))


def region_prefix(code: str) -> str:
    """The code prefix shared by every region below ``code`` (GB/T 2260: 110000 -> 11)."""
    trimmed = code
    while trimmed.endswith("00") and len(trimmed) > 2:
        trimmed = trimmed[:-2]
    return trimmed
