"""Released aggregates: consented sums, presence bitmaps, distinct-person counters, pending persons.

Existing share consents start pending (``release_state`` 0): the first report after the
upgrade counts them into the new tables from the rollups, as it does for any consent that
comes into force.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _recipient() -> tuple[sa.Column[str], sa.Column[str]]:
    return (
        sa.Column("recipient_kind", sa.String(16), primary_key=True),
        sa.Column("recipient_id", sa.String(64), primary_key=True),
    )


def _amount(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "released_daily",
        *_recipient(),
        sa.Column("unit", sa.String(40), primary_key=True),
        sa.Column("local_date", sa.Date(), primary_key=True),
        sa.Column("behaviour_code", sa.String(64), primary_key=True),
        sa.Column("methodology_key", sa.String(80), primary_key=True),
        *(
            _amount(n)
            for n in (
                "entries",
                "quantity_milli",
                "reduction_mg",
                "project_emission_mg",
                "business_entries",
                "business_project_emission_mg",
            )
        ),
    )
    op.create_table(
        "released_presence",
        sa.Column("person_id", sa.String(40), primary_key=True),
        *_recipient(),
        sa.Column("methodology_key", sa.String(80), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("days", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_released_presence_recipient",
        "released_presence",
        ["recipient_kind", "recipient_id", "person_id"],
    )
    op.create_table(
        "released_count",
        *_recipient(),
        sa.Column("methodology_key", sa.String(80), primary_key=True),
        sa.Column("node", sa.String(40), primary_key=True),
        sa.Column("partition", sa.String(40), primary_key=True),
        sa.Column("scope", sa.String(72), primary_key=True),
        _amount("persons"),
    )
    op.create_table("released_pending", sa.Column("person_id", sa.String(40), primary_key=True))
    with op.batch_alter_table("consent_grant") as batch:
        batch.add_column(
            sa.Column("release_state", sa.Integer(), nullable=False, server_default="0")
        )
        batch.create_index("ix_consent_grant_release", ["release_state", "expires_at"])
    with op.batch_alter_table("consent_grant") as batch:  # the model sets it on every insert
        batch.alter_column("release_state", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("consent_grant") as batch:
        batch.drop_index("ix_consent_grant_release")
        batch.drop_column("release_state")
    op.drop_table("released_pending")
    op.drop_table("released_count")
    op.drop_index("ix_released_presence_recipient", table_name="released_presence")
    op.drop_table("released_presence")
    op.drop_table("released_daily")
