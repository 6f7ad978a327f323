"""Business travel: the mark on ledger entries and its share of the enterprise rollup.

Scope 3 category 6 (business travel) and category 7 (employee commuting) are told apart by
the mark a provider puts on a trip; existing entries and rollup rows are commuting (unmarked).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 10:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_entry") as batch:
        batch.add_column(
            sa.Column("business_travel", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("enterprise_daily_rollup") as batch:
        batch.add_column(
            sa.Column("business_entries", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch.add_column(
            sa.Column(
                "business_project_emission_mg", sa.BigInteger(), nullable=False, server_default="0"
            )
        )
    with op.batch_alter_table("enterprise_daily_rollup") as batch:  # rollups carry no defaults
        batch.alter_column("business_entries", server_default=None)
        batch.alter_column("business_project_emission_mg", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("enterprise_daily_rollup") as batch:
        batch.drop_column("business_project_emission_mg")
        batch.drop_column("business_entries")
    with op.batch_alter_table("ledger_entry") as batch:
        batch.drop_column("business_travel")
