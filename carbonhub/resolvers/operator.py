"""Resolvers for operators: the quarantine and ledger corrections."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, select, true

from carbonhub.consent import policy
from carbonhub.db import read_session, write_session
from carbonhub.ledger import reverse_entry
from carbonhub.models import QuarantinedEvent, table_of
from carbonhub.reports import EntryView, view_entry
from carbonhub.resolvers.common import decode_cursor, encode_cursor, page_size
from carbonhub.resolvers.context import Info, in_thread

QUARANTINE = table_of(QuarantinedEvent)
QUARANTINE_CURSOR = "quarantine"


@dataclass(frozen=True, slots=True)
class QuarantinePage:
    """Quarantined events (newest first) with cursors."""

    items: list[tuple[str, QuarantinedEvent]]
    has_next: bool


async def quarantined_events(
    info: Info, first: int, after: str | None, reason: str | None, source: str | None
) -> QuarantinePage:
    """Events the ledger refused, with their reasons; operators only."""
    policy.require_operator(info.context.principal, "reading the quarantine")
    size = page_size(first)
    before = decode_cursor(QUARANTINE_CURSOR, after)
    q = QUARANTINE.c
    where = and_(
        true() if reason is None else q.reason == reason,
        true() if source is None else q.source == source,
        true() if before is None else q.id < before,
    )

    def load() -> list[QuarantinedEvent]:
        with read_session(info.context.hub.engine) as session:
            query = select(QuarantinedEvent).where(where).order_by(q.id.desc()).limit(size + 1)
            return list(session.scalars(query))

    rows = await in_thread(load)
    return QuarantinePage(
        [(encode_cursor(QUARANTINE_CURSOR, r.id or 0), r) for r in rows[:size]], len(rows) > size
    )


async def reverse(info: Info, entry_id: int, reason: str) -> EntryView:
    """Reverse a ledger entry (a correction); operators only."""
    policy.require_operator(info.context.principal, "reversing a ledger entry")

    def run() -> EntryView:
        with write_session(info.context.hub.engine) as session:
            entry = reverse_entry(
                session, entry_id=entry_id, reason=reason, programmes=info.context.hub.programmes
            )
            primary = f"{entry.methodology_id}@{entry.methodology_version}"
            return view_entry(entry.model_dump(), primary)

    return await in_thread(run)
