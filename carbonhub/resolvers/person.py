"""Resolvers for persons: their ledger and points, and their own points redemptions."""

from __future__ import annotations

from datetime import date

from carbonhub.consent import policy
from carbonhub.db import read_session, write_session
from carbonhub.errors import NotFound
from carbonhub.ledger import PointsBalance, points_balance, redeem_points
from carbonhub.models import Person, PointsRedemption
from carbonhub.reports import EntryView, PersonalLedger, choose_methodology
from carbonhub.resolvers.access import log_person_read
from carbonhub.resolvers.common import decode_cursor, encode_cursor, page_size, period_argument
from carbonhub.resolvers.context import Info, in_thread

ENTRY_CURSOR = "entry"


async def person(info: Info, person_id: str) -> Person:
    """A person the principal may read; anyone else is simply not found."""
    policy.require_person_reader(info.context.principal)
    found = await info.context.loaders.person.load(person_id)
    if found is None:
        raise NotFound(f"unknown person {person_id!r}")
    await log_person_read(info, found.id, "person")
    return found


async def me(info: Info) -> Person:
    """The signed-in citizen."""
    return await person(info, policy.require_citizen(info.context.principal, "`me`"))


def personal_ledger(
    info: Info,
    subject: Person,
    period: str | None,
    start: date | None,
    end: date | None,
    methodology: str | None,
) -> PersonalLedger:
    """The person's ledger view under a methodology (default: their programme's primary)."""
    hub = info.context.hub
    principal = info.context.principal
    return PersonalLedger(
        engine=hub.engine,
        person_id=subject.id,
        methodology=choose_methodology(
            hub.registry, hub.programmes, subject.home_region_code, methodology
        ),
        period=period_argument(hub, subject.home_region_code, period, start, end),
        visible=lambda person_column: policy.person_rows(principal, person_column),
    )


async def ledger_entries(
    ledger: PersonalLedger, first: int, after: str | None
) -> tuple[list[tuple[str, EntryView]], bool]:
    """A page of entries (newest first) with their cursors, and whether more exist."""
    views, more = await in_thread(
        ledger.entries, first=page_size(first), before_seq=decode_cursor(ENTRY_CURSOR, after)
    )
    return [(encode_cursor(ENTRY_CURSOR, v.seq), v) for v in views], more


async def points(info: Info, subject: Person) -> PointsBalance:
    """The person's green points (the person was loaded under the access policy)."""

    def load() -> PointsBalance:
        with read_session(info.context.hub.engine) as session:
            return points_balance(session, subject.id)

    return await in_thread(load)


async def redeem(info: Info, amount: int, reward: str) -> tuple[PointsRedemption, PointsBalance]:
    """Spend the signed-in citizen's own points; points are never transferred to anyone."""
    subject = await me(info)

    def spend() -> tuple[PointsRedemption, PointsBalance]:
        with write_session(info.context.hub.engine) as session:
            redemption = redeem_points(session, person_id=subject.id, points=amount, reward=reward)
            return redemption, points_balance(session, subject.id)

    return await in_thread(spend)
