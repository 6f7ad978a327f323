"""Consents, consent requests and history, receipts, the access log and entry disputes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 20:10:26.691885
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from carbonhub.models.types import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "access_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("recipient_kind", sa.String(length=16), nullable=False),
        sa.Column("recipient_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("what", sa.String(length=64), nullable=False),
        sa.Column("subject_person_id", sa.String(length=40), nullable=True),
        sa.Column("subject_digest", sa.String(length=64), nullable=True),
        sa.Column("scope_code", sa.String(length=40), nullable=True),
        sa.Column("scope_prefix", sa.String(length=12), nullable=True),
        sa.Column("categories", sa.String(length=500), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("consent_ids", sa.Text(), nullable=False),
        sa.Column("trace_id", sa.String(length=32), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
    )
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_access_log_recipient", ["recipient_kind", "recipient_id", "at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_access_log_subject_person_id"), ["subject_person_id"], unique=False
        )

    op.create_table(
        "consent_head",
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_table(
        "consent_request",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("enterprise_id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("categories", sa.String(length=500), nullable=False),
        sa.Column("data_from", sa.Date(), nullable=False),
        sa.Column("data_to", sa.Date(), nullable=False),
        sa.Column("consent_expires_at", UTCDateTime(), nullable=False),
        sa.Column("notice_version", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consent_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_request_enterprise_id"), ["enterprise_id"], unique=False
        )

    op.create_table(
        "consent_grant",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("recipient_kind", sa.String(length=16), nullable=False),
        sa.Column("recipient_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("categories", sa.String(length=500), nullable=False),
        sa.Column("granularity", sa.String(length=16), nullable=False),
        sa.Column("data_from", sa.Date(), nullable=False),
        sa.Column("data_to", sa.Date(), nullable=False),
        sa.Column("granted_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("notice_version", sa.String(length=64), nullable=False),
        sa.Column("notice_sha256", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=True),
        sa.Column("supersedes_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["consent_request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consent_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_grant_person_id"), ["person_id"], unique=False)
        batch_op.create_index(
            "ix_consent_grant_recipient",
            ["recipient_kind", "recipient_id", "purpose"],
            unique=False,
        )

    op.create_table(
        "entry_dispute",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("resolution_note", sa.String(length=1000), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("reversal_entry_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entry.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("entry_dispute", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_entry_dispute_person_id"), ["person_id"], unique=False)

    op.create_table(
        "consent_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=16), nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=True),
        sa.Column("request_id", sa.String(length=40), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consent_grant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["consent_request.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "seq", name="uq_consent_event_person_seq"),
    )
    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_event_consent", ["consent_id", "event_type"], unique=False
        )
        batch_op.create_index(
            "ix_consent_event_request", ["request_id", "event_type"], unique=False
        )

    op.create_table(
        "consent_grant_category",
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["consent_id"], ["consent_grant.id"]),
        sa.PrimaryKeyConstraint("consent_id", "category"),
    )
    op.create_table(
        "consent_receipt",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_id"],
            ["consent_grant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["consent_event.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("consent_receipt", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_receipt_consent_id"), ["consent_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_consent_receipt_person_id"), ["person_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("consent_receipt", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_receipt_person_id"))
        batch_op.drop_index(batch_op.f("ix_consent_receipt_consent_id"))

    op.drop_table("consent_receipt")
    op.drop_table("consent_grant_category")
    with op.batch_alter_table("consent_event", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_event_request")
        batch_op.drop_index("ix_consent_event_consent")

    op.drop_table("consent_event")
    with op.batch_alter_table("entry_dispute", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entry_dispute_person_id"))

    op.drop_table("entry_dispute")
    with op.batch_alter_table("consent_grant", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_grant_recipient")
        batch_op.drop_index(batch_op.f("ix_consent_grant_person_id"))

    op.drop_table("consent_grant")
    with op.batch_alter_table("consent_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_request_enterprise_id"))

    op.drop_table("consent_request")
    op.drop_table("consent_head")
    with op.batch_alter_table("access_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_access_log_subject_person_id"))
        batch_op.drop_index("ix_access_log_recipient")

    op.drop_table("access_log")
