"""The access log's chain head: one row that every append moves (compare and set).

Appends used to lock the log's last entry and chain to it. On PostgreSQL a writer waiting for
that lock was then handed the same entry again (the row it waited for is unchanged; the newer
entry is not in its snapshot), so concurrent appends chained to one entry and forked the
chain. The head row is updated by every append, and an update re-reads the row it waited for.

Seeded with the hash of the log's last entry (by id). A log that forked before this upgrade
stays as it is: ``first_broken_entry`` names the first entry that does not verify.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def upgrade() -> None:
    head = op.create_table(
        "access_log_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
    )
    last = (
        op.get_bind()
        .execute(sa.text("SELECT hash FROM access_log ORDER BY id DESC LIMIT 1"))
        .scalar_one_or_none()
    )
    op.bulk_insert(head, [{"id": 1, "last_hash": last or GENESIS}])


def downgrade() -> None:
    op.drop_table("access_log_head")
