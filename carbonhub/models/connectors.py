"""Linked provider accounts, pending account links and sync runs of the connectors."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from carbonhub.models.types import BigIntKey, UTCDateTime, utcnow


class LinkedAccount(SQLModel, table=True):
    """A citizen's account at a data provider, linked to carbonhub through the provider's OAuth.

    Attributes:
        subject: the provider's id of the account (what its records name).
        status: ``active``; ``suspended`` after repeated sync failures (re-enabled by a new
            link or ``carbonhub sync --resume``); ``unlinked`` by the citizen.
        access_token, refresh_token: the provider's tokens, encrypted (Fernet) at rest.
        cursor: where the next pull resumes; committed with the entries it produced.
        consent_id: the ingest consent recorded when the account was linked.
    """

    __tablename__ = "linked_account"
    __table_args__ = (
        UniqueConstraint("connector", "subject", name="uq_linked_account_subject"),
        UniqueConstraint("person_id", "connector", name="uq_linked_account_person"),
        Index("ix_linked_account_connector_status", "connector", "status"),
    )

    id: str = Field(primary_key=True, max_length=40)
    person_id: str = Field(foreign_key="person.id", max_length=40)
    connector: str = Field(max_length=64)
    subject: str = Field(max_length=200)
    status: str = Field(default="active", max_length=16)
    access_token: str | None = Field(default=None, sa_type=Text)
    refresh_token: str | None = Field(default=None, sa_type=Text)
    token_expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    cursor: str | None = Field(default=None, sa_type=Text)
    consent_id: str | None = Field(default=None, max_length=40)
    failures: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=1000)
    linked_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    last_synced_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class AccountLinkRequest(SQLModel, table=True):
    """A started account link: the OAuth ``state`` and PKCE verifier until the provider answers."""

    __tablename__ = "account_link_request"

    state: str = Field(primary_key=True, max_length=64)
    person_id: str = Field(foreign_key="person.id", max_length=40)
    connector: str = Field(max_length=64)
    code_verifier: str = Field(sa_type=Text)  # encrypted like the tokens
    categories: str = Field(max_length=500)  # of the ingest consent, space-separated
    data_from: date
    data_to: date
    language: str = Field(default="zh-CN", max_length=8)
    return_to: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class SyncRun(SQLModel, table=True):
    """What one sync of one connector account (or one push or import) did, for operators.

    Counts are of records: ``fetched`` from the provider; then each one ``posted``, a
    ``duplicate`` of one posted before, ``quarantined`` (by the connector or the ledger, with a
    reason), or ``rejected`` (no ingest consent, or no linked account: not stored). ``errors``
    counts failed requests (retried or not).
    """

    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_sync_run_connector_started", "connector", "started_at"),)

    id: int | None = Field(default=None, sa_type=BigIntKey, primary_key=True)
    connector: str = Field(max_length=64)
    mode: str = Field(max_length=16)  # pull, push, import
    account_id: str | None = Field(default=None, max_length=40, index=True)
    status: str = Field(default="running", max_length=16)  # running, ok, failed, suspended
    started_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    pages: int = Field(default=0)
    fetched: int = Field(default=0, sa_type=BigInteger)
    posted: int = Field(default=0, sa_type=BigInteger)
    duplicates: int = Field(default=0, sa_type=BigInteger)
    quarantined: int = Field(default=0, sa_type=BigInteger)
    rejected: int = Field(default=0, sa_type=BigInteger)
    errors: int = Field(default=0)
    retries: int = Field(default=0)
    cursor_from: str | None = Field(default=None, sa_type=Text)
    cursor_to: str | None = Field(default=None, sa_type=Text)
    error: str | None = Field(default=None, max_length=1000)
