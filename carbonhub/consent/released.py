"""Which share consents the released aggregates count (exactly those in force), and bringing
the aggregates up to date before a report reads them.

Every change of a consent goes through :func:`sync_person` in its own transaction; what time
alone changes (a consent reaching its expiry, one dated to start later) is caught up by
:func:`reconcile`, and the persons posting left pending by :func:`settle_pending`; every report
runs :func:`catch_up` at its read time before it reads.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.aggregates import COUNTED, PURPOSES, Coverage, ReleaseRules, recount
from carbonhub.aggregates.maintenance import settle
from carbonhub.consent.history import in_force
from carbonhub.ledger.state import lock_heads
from carbonhub.models import ConsentGrant, ConsentGrantCategory, ReleasedPending

PENDING, RETIRED = 0, 2


@lru_cache(maxsize=1)
def _released_purpose() -> ColumnElement[bool]:
    return or_(
        *(
            and_(col(ConsentGrant.recipient_kind) == kind, col(ConsentGrant.purpose) == purpose)
            for kind, purpose in PURPOSES.items()
        )
    )


def sync_person(session: Session, rules: ReleaseRules, person_id: str, now: datetime) -> None:
    """Count exactly the person's share consents in force at ``now`` (in the caller's
    transaction), moving their contribution to the released aggregates when that changes."""
    mine = and_(
        col(ConsentGrant.person_id) == person_id,
        col(ConsentGrant.kind) == "share",
        _released_purpose(),
    )
    if session.scalar(select(col(ConsentGrant.id)).where(mine).limit(1)) is None:
        return
    # Serialised with postings of the person (a batch posted meanwhile is either in the
    # rollups this recount reads, or sees the consent states this transaction writes) and
    # with other syncs of the person: the states are read after the lock, so two reports
    # catching up at once cannot both move the same consent.
    lock_heads(session, [person_id])
    grants = session.execute(
        select(
            col(ConsentGrant.id),
            col(ConsentGrant.release_state),
            col(ConsentGrant.granted_at),
            col(ConsentGrant.recipient_kind),
            col(ConsentGrant.recipient_id),
            col(ConsentGrant.data_from),
            col(ConsentGrant.data_to),
        ).where(mine)
    ).all()
    active = set(session.scalars(select(col(ConsentGrant.id)).where(mine, in_force(now))))
    counted = {g.id for g in grants if g.release_state == COUNTED}
    if counted != active:
        categories: dict[str, set[str]] = {}
        for consent_id, category in session.execute(
            select(col(ConsentGrantCategory.consent_id), col(ConsentGrantCategory.category)).where(
                col(ConsentGrantCategory.consent_id).in_([g.id for g in grants])
            )
        ):
            categories.setdefault(consent_id, set()).add(category)

        def coverage(ids: set[str]) -> list[Coverage]:
            return [
                Coverage(
                    (g.recipient_kind, g.recipient_id),
                    frozenset(categories.get(g.id, ())),
                    g.data_from,
                    g.data_to,
                )
                for g in grants
                if g.id in ids
            ]

        recount(session, rules, person_id, coverage(counted), coverage(active))
    for g in grants:
        state = COUNTED if g.id in active else PENDING if g.granted_at > now else RETIRED
        if state != g.release_state:
            session.execute(
                update(ConsentGrant).where(col(ConsentGrant.id) == g.id).values(release_state=state)
            )


def reconcile(session: Session, rules: ReleaseRules, now: datetime) -> int:
    """Bring the counted consents up to ``now``: count those that came into force, drop those
    that expired. Returns how many persons changed; cheap (an index probe) when none did."""
    persons = sorted(set(session.scalars(_due(), {"now": now})))
    for person_id in persons:
        sync_person(session, rules, person_id, now)
    return len(persons)


@lru_cache(maxsize=1)
def _due() -> Select[Any]:
    # every report runs this probe first: the statement is built once, ``now`` bound per call
    now: BindParameter[datetime] = bindparam("now")
    return select(col(ConsentGrant.person_id)).where(
        col(ConsentGrant.kind) == "share",
        _released_purpose(),
        or_(
            and_(col(ConsentGrant.release_state) == COUNTED, col(ConsentGrant.expires_at) <= now),
            and_(
                col(ConsentGrant.release_state) == PENDING,
                col(ConsentGrant.granted_at) <= now,
            ),
        ),
    )


SETTLE_CHUNK = 2000


def settle_pending(session: Session, rules: ReleaseRules) -> int:
    """Recompute the presence of every person posting left pending (in chunks, each under the
    persons' ledger locks); returns how many there were."""
    pending = list(session.scalars(select(col(ReleasedPending.person_id))))
    pending.sort()
    for start in range(0, len(pending), SETTLE_CHUNK):
        chunk = pending[start : start + SETTLE_CHUNK]
        lock_heads(session, chunk)
        settle(session, rules, chunk)
    return len(pending)


def catch_up_due(connection: Connection, now: datetime) -> bool:
    """Whether :func:`catch_up` would change anything at ``now``: one read-only statement, so
    that a report opens a write transaction only when time or posting left work behind."""
    return bool(connection.execute(_due_or_pending(), {"now": now}).scalar())


@lru_cache(maxsize=1)
def _due_or_pending() -> Select[Any]:
    return select(or_(_due().exists(), select(col(ReleasedPending.person_id)).exists()))


def catch_up(session: Session, rules: ReleaseRules, now: datetime) -> None:
    """Bring the released aggregates to read time ``now``: consents, then pending persons."""
    reconcile(session, rules, now)
    settle_pending(session, rules)
