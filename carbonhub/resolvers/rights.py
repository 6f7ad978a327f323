"""Resolvers for the citizen's rights: a copy of their data, erasure, and ledger disputes.

Export, erasure and opening a dispute act on the signed-in citizen only; no argument names a
person, so no request can reach anyone else's data. An entry of another person is answered
"not found". Deciding disputes is for operators.
"""

from __future__ import annotations

from typing import Any

from carbonhub.auth import Scope
from carbonhub.consent import policy
from carbonhub.consent.rights import ErasureReport, erase_person, export_person
from carbonhub.db import read_session, write_session
from carbonhub.errors import InvalidInput, NotFound
from carbonhub.ledger.disputes import DisputePage, open_dispute, open_disputes, resolve_dispute
from carbonhub.models import EntryDispute, LedgerEntry
from carbonhub.reports import EntryView, view_entry
from carbonhub.resolvers.access import log_person_read
from carbonhub.resolvers.common import decode_cursor, encode_cursor, page_size
from carbonhub.resolvers.context import Info, in_thread

DISPUTE_CURSOR = "dispute"


def numeric_id(value: str, what: str) -> int:
    """An integer id from a GraphQL ID; InvalidInput for anything else."""
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{what} ids are numbers, not {value!r}") from None


async def export_my_data(info: Info) -> dict[str, Any]:
    """Everything held about the signed-in citizen (PIPL Art. 45: access and copy); the copy is
    logged like any read of personal data."""
    person_id = policy.require_own_person(
        info.context.principal, Scope.LEDGER_READ, "exporting your data"
    )

    def run() -> dict[str, Any]:
        with read_session(info.context.hub.engine) as session:
            return export_person(session, person_id, now=info.context.now)

    data = await in_thread(run)
    await log_person_read(info, person_id, "export")
    return data


async def erase_my_data(info: Info, confirm: str) -> ErasureReport:
    """Erase the signed-in citizen (PIPL Art. 47); ``confirm`` must repeat their person id."""
    person_id = policy.require_own_person(
        info.context.principal, Scope.CONSENT_MANAGE, "erasing your data"
    )
    if confirm != person_id:
        raise InvalidInput("to erase your data, confirm with your own person id")

    def run() -> ErasureReport:
        with write_session(info.context.hub.engine) as session:
            return erase_person(
                session, person_id, now=info.context.now, rules=info.context.hub.release_rules()
            )

    return await in_thread(run)


async def dispute_entry(info: Info, entry_id: str, reason: str) -> EntryDispute:
    """Open a dispute about one of the signed-in citizen's own credits."""
    person_id = policy.require_own_person(
        info.context.principal, Scope.LEDGER_READ, "disputing a ledger entry"
    )
    try:
        number = int(entry_id)
    except ValueError:
        raise NotFound(f"unknown ledger entry {entry_id!r}") from None

    def run() -> EntryDispute:
        with write_session(info.context.hub.engine) as session:
            return open_dispute(
                session, person_id=person_id, entry_id=number, reason=reason, now=info.context.now
            )

    return await in_thread(run)


async def resolve(info: Info, dispute_id: str, decision: str, note: str) -> EntryDispute:
    """Decide a dispute: reverse the entry or reject the dispute; operators only."""
    policy.require_operator(info.context.principal, "resolving a dispute")
    number = numeric_id(dispute_id, "dispute")

    def run() -> EntryDispute:
        with write_session(info.context.hub.engine) as session:
            return resolve_dispute(
                session,
                dispute_id=number,
                decision=decision,
                note=note,
                now=info.context.now,
                programmes=info.context.hub.programmes,
            )

    return await in_thread(run)


async def disputes(
    info: Info, first: int, after: str | None
) -> tuple[list[tuple[str, EntryDispute]], bool]:
    """The operators' queue of open disputes (oldest first) with cursors."""
    policy.require_operator(info.context.principal, "reading the dispute queue")
    size = page_size(first)
    position = decode_cursor(DISPUTE_CURSOR, after)

    def load() -> DisputePage:
        with read_session(info.context.hub.engine) as session:
            return open_disputes(session, size, position)

    page = await in_thread(load)
    return [(encode_cursor(DISPUTE_CURSOR, d.id or 0), d) for d in page.items], page.has_next


async def disputed_entry(info: Info, dispute: EntryDispute) -> EntryView | None:
    """The entry a dispute is about, under the methodology it was credited with.

    The dispute was reached through a guarded field (the citizen's own, or the operators'
    queue); None once the entry is gone (its person was erased).
    """

    def load() -> EntryView | None:
        with read_session(info.context.hub.engine) as session:
            entry = session.get(LedgerEntry, dispute.entry_id)
            if entry is None:
                return None
            primary = f"{entry.methodology_id}@{entry.methodology_version}"
            return view_entry(entry.model_dump(), primary)

    return await in_thread(load)
