"""The append-only consent history: one SHA-256 chain per citizen.

Every event hashes its position, what happened, who did it, when, the previous hash and, for
events about a consent, a digest of that consent's (immutable) terms: editing, deleting or
reordering an event, or editing a consent's terms, breaks the chain.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import orjson
from sqlalchemy import ColumnElement, Exists, and_, exists, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.db import is_sqlite
from carbonhub.models import ConsentEvent, ConsentGrant, ConsentGrantCategory, ConsentHead

GENESIS = "0" * 64
ENDING_EVENTS = ("revoked", "terminated", "superseded")
EVENT_TYPES = (
    "requested",
    "granted",
    "refused",
    "narrowed",
    "renewed",
    "revoked",
    "terminated",
    "expired",
    "superseded",
)


def ended() -> Exists:
    """Correlated ``EXISTS`` over ``consent_grant``: an ending event names the consent."""
    return exists().where(
        col(ConsentEvent.consent_id) == col(ConsentGrant.id),
        col(ConsentEvent.event_type).in_(ENDING_EVENTS),
    )


def in_force(now: datetime) -> ColumnElement[bool]:
    """``WHERE`` clause over ``consent_grant``: consents in force at ``now`` (given, not yet
    expired, not revoked, terminated or superseded). The one definition every reader uses."""
    return and_(col(ConsentGrant.granted_at) <= now, col(ConsentGrant.expires_at) > now, ~ended())


def terms_digest(grant: ConsentGrant, categories: list[str]) -> str:
    """SHA-256 of what a consent allows (every field that carries meaning)."""
    terms = [
        grant.id,
        grant.kind,
        grant.person_id,
        grant.recipient_kind,
        grant.recipient_id,
        grant.purpose,
        sorted(categories),
        grant.granularity,
        grant.data_from.isoformat(),
        grant.data_to.isoformat(),
        grant.granted_at.astimezone(UTC).isoformat(),
        grant.expires_at.astimezone(UTC).isoformat(),
        grant.notice_version,
        grant.notice_sha256,
        grant.language,
        grant.request_id,
        grant.supersedes_id,
    ]
    return hashlib.sha256(orjson.dumps(terms)).hexdigest()


def event_hash(event: ConsentEvent, terms: str | None) -> str:
    """The chain hash of an event."""
    values = [
        event.person_id,
        event.seq,
        event.event_type,
        event.consent_id,
        event.request_id,
        event.actor,
        event.reason,
        event.at.astimezone(UTC).isoformat(),
        terms,
        event.prev_hash,
    ]
    return hashlib.sha256(orjson.dumps(values)).hexdigest()


def _categories(session: Session, consent_id: str) -> list[str]:
    return list(
        session.scalars(
            select(col(ConsentGrantCategory.category)).where(
                col(ConsentGrantCategory.consent_id) == consent_id
            )
        )
    )


def _terms(session: Session, consent_id: str | None) -> str | None:
    if consent_id is None:
        return None
    grant = session.get(ConsentGrant, consent_id)
    if grant is None:
        return None
    return terms_digest(grant, _categories(session, consent_id))


def _locked_head(session: Session, person_id: str) -> ConsentHead:
    query = select(ConsentHead).where(col(ConsentHead.person_id) == person_id)
    if not is_sqlite(session.get_bind()):
        query = query.with_for_update()
    head = session.execute(query).scalar_one_or_none()
    if head is not None:
        return head
    if is_sqlite(session.get_bind()):  # writers are serialised: nobody else can be adding it
        head = ConsentHead(person_id=person_id, last_seq=0, last_hash=GENESIS)
        session.add(head)
        session.flush()
        return head
    # two first consents of one person at once (e.g. linking two providers): one row wins
    session.execute(
        postgresql.insert(ConsentHead)
        .values(person_id=person_id, last_seq=0, last_hash=GENESIS)
        .on_conflict_do_nothing(index_elements=["person_id"])
    )
    return session.execute(query).scalar_one()


def append_event(
    session: Session,
    *,
    person_id: str,
    event_type: str,
    actor: str,
    at: datetime,
    consent_id: str | None = None,
    request_id: str | None = None,
    reason: str | None = None,
) -> ConsentEvent:
    """Append one event to the citizen's chain (inside the caller's transaction)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown consent event {event_type!r}")
    head = _locked_head(session, person_id)
    event = ConsentEvent(
        person_id=person_id,
        seq=head.last_seq + 1,
        event_type=event_type,
        consent_id=consent_id,
        request_id=request_id,
        actor=actor[:80],
        reason=None if reason is None else reason[:200],
        at=at,
        prev_hash=head.last_hash,
        hash="",
    )
    event.hash = event_hash(event, _terms(session, consent_id))
    session.add(event)
    head.last_seq, head.last_hash = event.seq, event.hash
    session.flush()
    return event


def first_broken_event(session: Session, person_id: str) -> int | None:
    """The seq of the first event whose chain does not verify, or None when all do."""
    events = session.scalars(
        select(ConsentEvent)
        .where(col(ConsentEvent.person_id) == person_id)
        .order_by(col(ConsentEvent.seq))
    )
    previous, expected_seq = GENESIS, 1
    for event in events:
        if (
            event.seq != expected_seq
            or event.prev_hash != previous
            or event_hash(event, _terms(session, event.consent_id)) != event.hash
        ):
            return event.seq
        previous, expected_seq = event.hash, expected_seq + 1
    head = session.get(ConsentHead, person_id)
    if head is not None and (head.last_seq != expected_seq - 1 or head.last_hash != previous):
        return expected_seq
    return None
