"""Ledger verification: recompute every person's hash chain and compare it with what is stored.

Finds an edited row (its hash no longer matches its content), a deleted row (a gap in ``seq``
or a broken ``prev_hash`` link, or a chain shorter than its head records), and reordered rows
(entries whose insertion order disagrees with their position in the chain).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.db import is_sqlite
from carbonhub.ledger.chain import GENESIS, HASHED_FIELDS, entry_hash
from carbonhub.models import LedgerEntry, LedgerHead, table_of


@dataclass(frozen=True, slots=True)
class ChainProblem:
    """The first place where a person's chain does not hold."""

    person_id: str
    seq: int | None
    entry_id: int | None
    kind: str
    detail: str

    def describe(self) -> str:
        """One line naming the bad row."""
        where = f"entry {self.entry_id} (person {self.person_id}, seq {self.seq})"
        if self.entry_id is None:
            where = f"person {self.person_id}"
        return f"{where}: {self.kind}: {self.detail}"


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """How many entries and persons were checked, and the first problem found (if any)."""

    entries: int
    persons: int
    problem: ChainProblem | None

    @property
    def ok(self) -> bool:
        """Whether every chain holds."""
        return self.problem is None


_COLUMNS = [
    table_of(LedgerEntry).c[name] for name in ("id", *HASHED_FIELDS, "business_travel", "hash")
]


def verify_ledger(
    engine: Engine, on_entries: Callable[[int], None] | None = None
) -> VerificationReport:
    """Walk every chain in (person, seq) order; stop at the first problem.

    Heads and entries are read in one snapshot, so entries posted while the walk runs are
    neither half-seen nor mistaken for a truncated chain.
    """
    with engine.connect() as connection:
        if not is_sqlite(connection):
            # SQLite's read transaction is a snapshot already (WAL); PostgreSQL's default
            # READ COMMITTED would give each query its own.
            connection.execution_options(isolation_level="REPEATABLE READ")
        with Session(bind=connection) as session:
            return _verify(session, on_entries)


def _verify(session: Session, on_entries: Callable[[int], None] | None) -> VerificationReport:
    heads = {h.person_id: (h.last_seq, h.last_hash) for h in session.scalars(select(LedgerHead))}
    checked = 0
    persons = 0
    walker = _ChainWalker()
    query = (
        select(*_COLUMNS)
        .order_by(col(LedgerEntry.person_id), col(LedgerEntry.seq))
        .execution_options(yield_per=5000)
    )
    # closed even when the walk stops early (on PostgreSQL it is a server-side cursor)
    with closing(session.execute(query)) as result:
        for raw in result:
            row: dict[str, Any] = dict(raw._mapping)
            if row["person_id"] != walker.person_id:
                problem = walker.close(heads)
                if problem is not None:
                    return VerificationReport(checked, persons, problem)
                walker.open(row["person_id"])
                persons += 1
            problem = walker.step(row)
            if problem is not None:
                return VerificationReport(checked, persons, problem)
            checked += 1
            if on_entries is not None and checked % 5000 == 0:
                on_entries(5000)
    problem = walker.close(heads)
    if problem is None:
        problem = _heads_without_entries(heads, walker.seen)
    return VerificationReport(checked, persons, problem)


class _ChainWalker:
    def __init__(self) -> None:
        self.person_id: str | None = None
        self.seen: set[str] = set()
        self.expected_seq = 1
        self.prev_hash = GENESIS
        self.prev_id = 0

    def open(self, person_id: str) -> None:
        self.person_id = person_id
        self.seen.add(person_id)
        self.expected_seq, self.prev_hash, self.prev_id = 1, GENESIS, 0

    def step(self, row: dict[str, Any]) -> ChainProblem | None:
        def problem(kind: str, detail: str) -> ChainProblem:
            return ChainProblem(row["person_id"], row["seq"], row["id"], kind, detail)

        if row["seq"] != self.expected_seq:
            return problem(
                "deleted", f"expected seq {self.expected_seq}; entries before this one are missing"
            )
        if row["id"] < self.prev_id:
            return problem(
                "reordered", f"inserted before entry {self.prev_id}, which precedes it in the chain"
            )
        if entry_hash(row) != row["hash"]:
            return problem("edited", "the stored hash does not match the entry's content")
        if row["prev_hash"] != self.prev_hash:
            return problem(
                "broken link", "prev_hash does not match the hash of the entry before it"
            )
        self.expected_seq += 1
        self.prev_hash = row["hash"]
        self.prev_id = row["id"]
        return None

    def close(self, heads: dict[str, tuple[int, str]]) -> ChainProblem | None:
        if self.person_id is None:
            return None
        last_seq = self.expected_seq - 1
        head = heads.get(self.person_id)
        if head is None:
            return ChainProblem(
                self.person_id, None, None, "missing head", "the chain head row is missing"
            )
        if head != (last_seq, self.prev_hash):
            return ChainProblem(
                self.person_id,
                last_seq,
                None,
                "deleted",
                f"the chain ends at seq {last_seq} but its head records seq {head[0]}; "
                "the last entries were deleted or the head was altered",
            )
        return None


def _heads_without_entries(
    heads: dict[str, tuple[int, str]], seen: set[str]
) -> ChainProblem | None:
    for person_id, (last_seq, _) in sorted(heads.items()):
        if person_id not in seen and last_seq > 0:
            return ChainProblem(
                person_id,
                None,
                None,
                "deleted",
                f"the head records {last_seq} entries; none remain",
            )
    return None
