"""The personal carbon ledger: entries, chain heads, points redemptions and the quarantine."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from carbonhub.models.types import BigIntKey, UTCDateTime, utcnow


class LedgerEntry(SQLModel, table=True):
    """One immutable line of a person's carbon ledger.

    A ``credit`` records a behaviour event; a ``reversal`` cancels an earlier credit (entries
    are never edited). Each person's entries form a SHA-256 hash chain through ``prev_hash``
    and ``hash``, numbered by ``seq``.

    Attributes:
        source, external_id: the event's identity; posting it again changes nothing.
        quantity_milli: the activity in thousandths of ``unit`` (exact integers).
        methodology_id, methodology_version, factor_g: the primary methodology of the person's
            programme and the grams-per-unit factor it applied.
        reduction_mg: the credited reduction in milligrams CO2e after caps.
        status: ``credited``, ``capped`` (partly or wholly cut by a cap) or ``not_covered``
            (the primary methodology has no factor for the behaviour).
        reductions: canonical JSON of the reduction under every registered methodology.
        measures: canonical JSON of every quantity the provider reported (unit -> thousandths).
        region_code, employers: the district lived in and the enterprises (JSON list) employing
            the person on the local day; the rollups the entry was added to.
        event_digest: SHA-256 of the event as received, to tell a replay from a conflict.
    """

    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_ledger_entry_event"),
        UniqueConstraint("person_id", "seq", name="uq_ledger_entry_person_seq"),
        UniqueConstraint("reverses_entry_id", name="uq_ledger_entry_reverses"),
        Index("ix_ledger_entry_person_day", "person_id", "local_date"),
        Index("ix_ledger_entry_claim_window", "person_id", "behaviour_code", "occurred_at"),
        Index("ix_ledger_entry_claim_reference", "behaviour_code", "claim_reference"),
    )

    id: int | None = Field(default=None, sa_type=BigIntKey, primary_key=True)
    person_id: str = Field(foreign_key="person.id", max_length=40)
    seq: int
    entry_type: str = Field(max_length=16)
    source: str = Field(max_length=64)
    external_id: str = Field(max_length=200)
    reverses_entry_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="ledger_entry.id"
    )
    behaviour_code: str = Field(max_length=64)
    category: str = Field(max_length=32)
    claim_reference: str | None = Field(default=None, max_length=200)
    quantity_milli: int = Field(sa_type=BigInteger)
    unit: str = Field(max_length=16)
    measures: str = Field(sa_type=Text)
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    local_date: date
    region_code: str = Field(foreign_key="region.code", max_length=6)
    employers: str = Field(sa_type=Text)
    programme_id: str = Field(max_length=64)
    methodology_id: str = Field(max_length=64)
    methodology_version: str = Field(max_length=16)
    factor_g: str | None = Field(default=None, max_length=32)
    reduction_mg: int = Field(sa_type=BigInteger)
    status: str = Field(max_length=16)
    note: str | None = Field(default=None, max_length=500)
    reductions: str = Field(sa_type=Text)
    points: int = Field(sa_type=BigInteger)
    event_digest: str = Field(max_length=64)
    recorded_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    business_travel: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class LedgerHead(SQLModel, table=True):
    """The end of a person's hash chain and their running points account.

    ``points_remainder_mg`` holds credited milligrams not yet worth a whole point, so that
    points are exact over many small reductions whatever the programme's rate.

    It lets posting append without scanning the chain, detects a truncated tail in
    verification, and serialises concurrent postings for one person (row lock).
    """

    __tablename__ = "ledger_head"

    person_id: str = Field(primary_key=True, foreign_key="person.id", max_length=40)
    last_seq: int = 0
    last_hash: str = Field(max_length=64)
    points_remainder_mg: int = Field(default=0, sa_type=BigInteger)
    points_earned: int = Field(default=0, sa_type=BigInteger)
    points_redeemed: int = Field(default=0, sa_type=BigInteger)


class PointsRedemption(SQLModel, table=True):
    """Green points a person spent on a reward. Points are never transferred to anyone."""

    __tablename__ = "points_redemption"

    id: int | None = Field(default=None, sa_type=BigIntKey, primary_key=True)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=40)
    points: int = Field(sa_type=BigInteger)
    reward: str = Field(max_length=200)
    redeemed_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class QuarantinedEvent(SQLModel, table=True):
    """An event the ledger refused, kept with the reason so that nothing is silently lost."""

    __tablename__ = "quarantined_event"
    __table_args__ = (
        Index("ix_quarantined_event_identity", "source", "external_id"),
        Index("ix_quarantined_event_reason", "reason"),
    )

    id: int | None = Field(default=None, sa_type=BigIntKey, primary_key=True)
    source: str = Field(max_length=64)
    external_id: str | None = Field(default=None, max_length=200)
    person_id: str | None = Field(default=None, max_length=40)
    behaviour_code: str | None = Field(default=None, max_length=64)
    reason: str = Field(max_length=40)
    detail: str = Field(max_length=1000)
    payload: str = Field(sa_type=Text)
    received_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
