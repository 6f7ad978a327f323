"""Consents, consent requests, their append-only history, receipts, the access log, disputes.

Nothing here is updated in place. A consent's terms are immutable; what happens to it
(granted, narrowed, renewed, revoked, terminated, expired) is a ``ConsentEvent`` in the
citizen's hash chain, and a consent counts as active while no ending event exists and its
expiry has not passed. Narrowing or renewing grants a new consent that supersedes the old.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from carbonhub.models.types import BigIntKey, UTCDateTime, utcnow


def _moment(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(UTCDateTime, nullable=nullable, index=index)


class ConsentGrant(SQLModel, table=True):
    """What a citizen allowed: which recipient, for what purpose, which categories, which data.

    Attributes:
        kind: ``share`` (a recipient reads aggregates) or ``ingest`` (a provider delivers data).
        recipient_kind, recipient_id: ``enterprise`` + enterprise id, ``programme`` + the
            programme's region code (regional statistics), or ``connector`` + connector slug.
        categories: space-separated behaviour category codes (T/ACEF 031-2022).
        data_from, data_to: the local days whose data the consent covers (inclusive).
        notice_version, notice_sha256: the exact notice text the citizen saw.
        release_state: whether the released aggregates count this share consent: 0 not yet
            (pending), 1 counted, 2 no longer (ended or expired); not one of the terms.
    """

    __tablename__ = "consent_grant"
    __table_args__ = (
        Index("ix_consent_grant_recipient", "recipient_kind", "recipient_id", "purpose"),
        Index("ix_consent_grant_release", "release_state", "expires_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    kind: str = Field(max_length=16)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=40)
    recipient_kind: str = Field(max_length=16)
    recipient_id: str = Field(max_length=64)
    purpose: str = Field(max_length=64)
    categories: str = Field(max_length=500)
    granularity: str = Field(default="aggregate", max_length=16)
    data_from: date
    data_to: date
    granted_at: datetime = Field(sa_column=_moment())
    expires_at: datetime = Field(sa_column=_moment())
    notice_version: str = Field(max_length=64)
    notice_sha256: str = Field(max_length=64)
    language: str = Field(default="zh-CN", max_length=16)
    request_id: str | None = Field(default=None, foreign_key="consent_request.id", max_length=40)
    supersedes_id: str | None = Field(default=None, max_length=40)
    release_state: int = Field(default=0)


class ConsentGrantCategory(SQLModel, table=True):
    """One behaviour category a consent covers (so the access policy can join on it in SQL)."""

    __tablename__ = "consent_grant_category"

    consent_id: str = Field(primary_key=True, foreign_key="consent_grant.id", max_length=40)
    category: str = Field(primary_key=True, max_length=32)


class ConsentRequest(SQLModel, table=True):
    """An enterprise asks its employees for a share consent (they answer one by one)."""

    __tablename__ = "consent_request"

    id: str = Field(primary_key=True, max_length=40)
    enterprise_id: str = Field(foreign_key="enterprise.id", index=True, max_length=40)
    client_id: str | None = Field(default=None, max_length=64)
    purpose: str = Field(max_length=64)
    categories: str = Field(max_length=500)
    data_from: date
    data_to: date
    consent_expires_at: datetime = Field(sa_column=_moment())
    notice_version: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_moment())


class ConsentEvent(SQLModel, table=True):
    """One step in a citizen's consent history, hash-chained per citizen (append-only).

    ``event_type``: requested, granted, refused, narrowed, renewed, revoked, terminated,
    expired or superseded. An ending event (revoked, terminated, superseded) ends the consent
    it names; ``expired`` is recorded when an expiry is noticed (expiry itself needs no event).
    """

    __tablename__ = "consent_event"
    __table_args__ = (
        UniqueConstraint("person_id", "seq", name="uq_consent_event_person_seq"),
        Index("ix_consent_event_consent", "consent_id", "event_type"),
        Index("ix_consent_event_request", "request_id", "event_type"),
    )

    id: int | None = Field(default=None, sa_type=BigIntKey, primary_key=True)
    person_id: str = Field(foreign_key="person.id", max_length=40)
    seq: int
    event_type: str = Field(max_length=16)
    consent_id: str | None = Field(default=None, foreign_key="consent_grant.id", max_length=40)
    request_id: str | None = Field(default=None, foreign_key="consent_request.id", max_length=40)
    actor: str = Field(max_length=80)
    reason: str | None = Field(default=None, max_length=200)
    at: datetime = Field(sa_column=_moment())
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class ConsentHead(SQLModel, table=True):
    """The end of a citizen's consent history chain (locked while appending)."""

    __tablename__ = "consent_head"

    person_id: str = Field(primary_key=True, foreign_key="person.id", max_length=40)
    last_seq: int = 0
    last_hash: str = Field(max_length=64)


class ConsentReceipt(SQLModel, table=True):
    """A signed receipt (compact JWS) handed to the citizen for a consent event."""

    __tablename__ = "consent_receipt"

    id: str = Field(primary_key=True, max_length=40)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=40)
    consent_id: str = Field(foreign_key="consent_grant.id", index=True, max_length=40)
    event_id: int = Field(foreign_key="consent_event.id")
    issued_at: datetime = Field(sa_column=_moment())
    jws: str = Field(sa_type=Text)


class AccessLogEntry(SQLModel, table=True):
    """A read of personal data or an aggregate release, hash-chained (append-only).

    ``consent_ids`` lists the consents a read of one person's data used; an aggregate release
    records its recipient, purpose, scope (region or enterprise), period and number of persons,
    and the citizens it involved find it through their consents.
    """

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_recipient", "recipient_kind", "recipient_id", "at"),)

    id: int | None = Field(default=None, sa_type=BigIntKey, primary_key=True)
    at: datetime = Field(sa_column=_moment())
    recipient_kind: str = Field(max_length=16)
    recipient_id: str = Field(max_length=64)
    client_id: str | None = Field(default=None, max_length=64)
    purpose: str = Field(max_length=64)
    what: str = Field(max_length=64)
    subject_person_id: str | None = Field(default=None, index=True, max_length=40)
    # the chain covers a digest of the subject, so erasing the id keeps the chain verifiable
    subject_digest: str | None = Field(default=None, max_length=64)
    scope_code: str | None = Field(default=None, max_length=40)
    # regional releases: the code prefix of every district in scope ("11" for Beijing)
    scope_prefix: str | None = Field(default=None, max_length=12)
    categories: str = Field(max_length=500)
    period_from: date
    period_to: date
    persons: int
    consent_ids: str = Field(default="", sa_type=Text)
    trace_id: str | None = Field(default=None, max_length=32)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class AccessLogHead(SQLModel, table=True):
    """The end of the access log's chain: one row, moved to each appended entry's hash.

    Appends compare and set it (``last_hash`` from the hash they chained to, to their last
    entry's) in the transaction that inserts the entries, so two writers can never chain to
    the same entry: the second one's update finds the hash moved and it chains again.
    """

    __tablename__ = "access_log_head"

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    last_hash: str = Field(max_length=64)


class EntryDispute(SQLModel, table=True):
    """A citizen disputes a ledger entry; an operator resolves it (a reversal) or rejects it."""

    __tablename__ = "entry_dispute"

    id: int | None = Field(default=None, sa_type=BigIntKey, primary_key=True)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=40)
    entry_id: int = Field(foreign_key="ledger_entry.id")
    reason: str = Field(max_length=1000)
    opened_at: datetime = Field(sa_column=_moment())
    resolution: str | None = Field(default=None, max_length=16)
    resolution_note: str | None = Field(default=None, max_length=1000)
    resolved_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True))
    reversal_entry_id: int | None = Field(default=None)
