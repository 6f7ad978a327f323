"""Disputes: a citizen contests a credit on their own ledger; an operator decides.

A dispute is the citizen's right to correction (PIPL Art. 46) for ledger data. The ledger is
append-only, so upholding a dispute never edits the entry: it appends a reversal entry through
:func:`carbonhub.ledger.reversal.reverse_entry` and records which entry that was. Rejecting it
leaves the ledger untouched and keeps the operator's note for the citizen.

A citizen may dispute only a credit of their own that is not reversed and has no open dispute;
an entry of anyone else is answered exactly like an entry that does not exist, so a dispute can
never be used to probe other persons' ledgers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.db import is_sqlite
from carbonhub.errors import Conflict, InvalidInput, NotFound
from carbonhub.ledger.reversal import reverse_entry
from carbonhub.ledger.state import lock_heads
from carbonhub.methodology import ProgrammeDirectory
from carbonhub.models import EntryDispute, LedgerEntry

Decision = Literal["reverse", "reject"]
DECISIONS: tuple[Decision, ...] = ("reverse", "reject")
RESOLUTIONS = {"reverse": "reversed", "reject": "rejected"}
MAX_TEXT = 1000


@dataclass(frozen=True, slots=True)
class DisputePage:
    """A page of the operators' queue (oldest open dispute first) and whether more follow."""

    items: list[EntryDispute]
    has_next: bool


def _text(value: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidInput(f"say {what}")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"{what} is limited to {MAX_TEXT} characters, not {len(text)}")
    return text


def open_dispute(
    session: Session, *, person_id: str, entry_id: int, reason: str, now: datetime
) -> EntryDispute:
    """Open a dispute of ``person_id`` about their own credit ``entry_id``.

    Raises NotFound when the entry does not exist or is someone else's (indistinguishably),
    InvalidInput when it is not a credit, is reversed already or is disputed already.
    """
    text = _text(reason, "why the entry is wrong")
    entry = session.get(LedgerEntry, entry_id)
    if entry is None or entry.person_id != person_id:
        raise NotFound(f"unknown ledger entry {entry_id}")
    if entry.entry_type != "credit":
        raise InvalidInput(
            f"entry {entry_id} is a {entry.entry_type}; only credits can be disputed"
        )
    # the chain head's row lock serialises this person's disputes and reversals
    lock_heads(session, [person_id])
    reversed_by = session.scalars(
        select(col(LedgerEntry.id)).where(col(LedgerEntry.reverses_entry_id) == entry_id)
    ).first()
    if reversed_by is not None:
        raise InvalidInput(f"entry {entry_id} was reversed already by entry {reversed_by}")
    pending = session.scalars(
        select(col(EntryDispute.id)).where(
            col(EntryDispute.entry_id) == entry_id, col(EntryDispute.resolution).is_(None)
        )
    ).first()
    if pending is not None:
        raise InvalidInput(f"entry {entry_id} is disputed already (dispute {pending})")
    dispute = EntryDispute(person_id=person_id, entry_id=entry_id, reason=text, opened_at=now)
    session.add(dispute)
    session.flush()
    return dispute


def resolve_dispute(
    session: Session,
    *,
    dispute_id: int,
    decision: str,
    note: str,
    now: datetime,
    programmes: ProgrammeDirectory,
) -> EntryDispute:
    """Decide an open dispute: ``reverse`` the entry (a reversal entry) or ``reject`` it.

    If the entry was reversed meanwhile (an operator's correction), ``reverse`` records that
    reversal instead of failing: the citizen got what they asked for. A dispute is decided once;
    deciding it again is a Conflict.
    """
    if decision not in DECISIONS:
        raise InvalidInput(f"decide a dispute with 'reverse' or 'reject', not {decision!r}")
    text = _text(note, "why the dispute is decided this way")
    query = select(EntryDispute).where(col(EntryDispute.id) == dispute_id)
    if not is_sqlite(session.get_bind()):
        query = query.with_for_update()
    dispute = session.scalars(query.execution_options(populate_existing=True)).first()
    if dispute is None:
        raise NotFound(f"unknown dispute {dispute_id}")
    if dispute.resolution is not None:
        raise Conflict(f"dispute {dispute_id} was {dispute.resolution} already")
    if decision == "reverse":
        dispute.reversal_entry_id = _reverse(session, dispute, text, programmes)
    dispute.resolution = RESOLUTIONS[decision]
    dispute.resolution_note = text
    dispute.resolved_at = now
    session.add(dispute)
    session.flush()
    return dispute


def _reverse(
    session: Session, dispute: EntryDispute, note: str, programmes: ProgrammeDirectory
) -> int | None:
    existing = session.scalars(
        select(col(LedgerEntry.id)).where(col(LedgerEntry.reverses_entry_id) == dispute.entry_id)
    ).first()
    if existing is not None:
        return existing
    reversal = reverse_entry(
        session,
        entry_id=dispute.entry_id,
        reason=f"dispute {dispute.id} upheld: {note}",
        programmes=programmes,
    )
    return reversal.id


def open_disputes(session: Session, first: int, after: int | None = None) -> DisputePage:
    """The operators' queue: open disputes, oldest first, ``first`` after dispute id ``after``."""
    query = select(EntryDispute).where(col(EntryDispute.resolution).is_(None))
    if after is not None:
        query = query.where(col(EntryDispute.id) > after)
    rows = list(session.scalars(query.order_by(col(EntryDispute.id)).limit(first + 1)))
    return DisputePage(rows[:first], len(rows) > first)
