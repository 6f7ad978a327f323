"""Core tables: regions, persons and enterprises, the ledger, rollups and quarantine.

Revision ID: 0001
Revises:
Create Date: 2026-11-24 17:44:41.568317
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from carbonhub.models.types import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hub_metadata",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "quarantined_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("person_id", sa.String(length=40), nullable=True),
        sa.Column("behaviour_code", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.String(length=1000), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("quarantined_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_quarantined_event_identity", ["source", "external_id"], unique=False
        )
        batch_op.create_index("ix_quarantined_event_reason", ["reason"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_quarantined_event_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "region",
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("name_zh", sa.String(length=64), nullable=False),
        sa.Column("name_en", sa.String(length=128), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_code", sa.String(length=6), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_code"],
            ["region.code"],
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_region_parent_code"), ["parent_code"], unique=False)

    op.create_table(
        "enterprise",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=True),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"],
            ["region.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uscc"),
    )
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enterprise_region_code"), ["region_code"], unique=False
        )

    op.create_table(
        "person",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("home_region_code", sa.String(length=6), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["home_region_code"],
            ["region.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_person_home_region_code"), ["home_region_code"], unique=False
        )

    op.create_table(
        "region_daily_rollup",
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("behaviour_code", sa.String(length=64), nullable=False),
        sa.Column("methodology_key", sa.String(length=80), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("quantity_milli", sa.BigInteger(), nullable=False),
        sa.Column("reduction_mg", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("region_code", "local_date", "behaviour_code", "methodology_key"),
    )
    with op.batch_alter_table("region_daily_rollup", schema=None) as batch_op:
        batch_op.create_index(
            "ix_region_daily_rollup_report",
            ["methodology_key", "region_code", "local_date"],
            unique=False,
        )

    op.create_table(
        "employment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("enterprise_id", sa.String(length=40), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("employment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_employment_enterprise_id"), ["enterprise_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_employment_person_id"), ["person_id"], unique=False)

    op.create_table(
        "enterprise_daily_rollup",
        sa.Column("enterprise_id", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("behaviour_code", sa.String(length=64), nullable=False),
        sa.Column("methodology_key", sa.String(length=80), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("quantity_milli", sa.BigInteger(), nullable=False),
        sa.Column("reduction_mg", sa.BigInteger(), nullable=False),
        sa.Column("project_emission_mg", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "enterprise_id", "person_id", "local_date", "behaviour_code", "methodology_key"
        ),
    )
    with op.batch_alter_table("enterprise_daily_rollup", schema=None) as batch_op:
        batch_op.create_index(
            "ix_enterprise_daily_rollup_report",
            ["enterprise_id", "methodology_key", "local_date"],
            unique=False,
        )

    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_type", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=200), nullable=False),
        sa.Column("reverses_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("behaviour_code", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("claim_reference", sa.String(length=200), nullable=True),
        sa.Column("quantity_milli", sa.BigInteger(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("employers", sa.Text(), nullable=False),
        sa.Column("programme_id", sa.String(length=64), nullable=False),
        sa.Column("methodology_id", sa.String(length=64), nullable=False),
        sa.Column("methodology_version", sa.String(length=16), nullable=False),
        sa.Column("factor_g", sa.String(length=32), nullable=True),
        sa.Column("reduction_mg", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("reductions", sa.Text(), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("event_digest", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["region_code"],
            ["region.code"],
        ),
        sa.ForeignKeyConstraint(
            ["reverses_entry_id"],
            ["ledger_entry.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "seq", name="uq_ledger_entry_person_seq"),
        sa.UniqueConstraint("reverses_entry_id", name="uq_ledger_entry_reverses"),
        sa.UniqueConstraint("source", "external_id", name="uq_ledger_entry_event"),
    )
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_entry_claim_reference", ["behaviour_code", "claim_reference"], unique=False
        )
        batch_op.create_index(
            "ix_ledger_entry_claim_window",
            ["person_id", "behaviour_code", "occurred_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_ledger_entry_person_day", ["person_id", "local_date"], unique=False
        )

    op.create_table(
        "ledger_head",
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("points_remainder_mg", sa.BigInteger(), nullable=False),
        sa.Column("points_earned", sa.BigInteger(), nullable=False),
        sa.Column("points_redeemed", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("person_id"),
    )
    op.create_table(
        "person_daily_rollup",
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("behaviour_code", sa.String(length=64), nullable=False),
        sa.Column("methodology_key", sa.String(length=80), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("counted", sa.BigInteger(), nullable=False),
        sa.Column("quantity_milli", sa.BigInteger(), nullable=False),
        sa.Column("reduction_mg", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "local_date", "behaviour_code", "methodology_key"),
    )
    with op.batch_alter_table("person_daily_rollup", schema=None) as batch_op:
        batch_op.create_index(
            "ix_person_daily_rollup_participants",
            ["methodology_key", "region_code", "local_date", "person_id"],
            unique=False,
        )

    op.create_table(
        "points_redemption",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("reward", sa.String(length=200), nullable=False),
        sa.Column("redeemed_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("points_redemption", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_points_redemption_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "residence",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.ForeignKeyConstraint(
            ["region_code"],
            ["region.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("residence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_residence_person_id"), ["person_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("residence", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_residence_person_id"))

    op.drop_table("residence")
    with op.batch_alter_table("points_redemption", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_points_redemption_person_id"))

    op.drop_table("points_redemption")
    with op.batch_alter_table("person_daily_rollup", schema=None) as batch_op:
        batch_op.drop_index("ix_person_daily_rollup_participants")

    op.drop_table("person_daily_rollup")
    op.drop_table("ledger_head")
    with op.batch_alter_table("ledger_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entry_person_day")
        batch_op.drop_index("ix_ledger_entry_claim_window")
        batch_op.drop_index("ix_ledger_entry_claim_reference")

    op.drop_table("ledger_entry")
    with op.batch_alter_table("enterprise_daily_rollup", schema=None) as batch_op:
        batch_op.drop_index("ix_enterprise_daily_rollup_report")

    op.drop_table("enterprise_daily_rollup")
    with op.batch_alter_table("employment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_employment_person_id"))
        batch_op.drop_index(batch_op.f("ix_employment_enterprise_id"))

    op.drop_table("employment")
    with op.batch_alter_table("region_daily_rollup", schema=None) as batch_op:
        batch_op.drop_index("ix_region_daily_rollup_report")

    op.drop_table("region_daily_rollup")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_home_region_code"))

    op.drop_table("person")
    with op.batch_alter_table("enterprise", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enterprise_region_code"))

    op.drop_table("enterprise")
    with op.batch_alter_table("region", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_region_parent_code"))

    op.drop_table("region")
    with op.batch_alter_table("quarantined_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantined_event_received_at"))
        batch_op.drop_index("ix_quarantined_event_reason")
        batch_op.drop_index("ix_quarantined_event_identity")

    op.drop_table("quarantined_event")
    op.drop_table("hub_metadata")
