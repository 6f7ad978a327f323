"""Trusted documents: the GraphQL documents registered for each OAuth client.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from carbonhub.models.types import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trusted_document",
        sa.Column(
            "client_id",
            sa.String(64),
            sa.ForeignKey("oauth_client.client_id"),
            primary_key=True,
        ),
        sa.Column("document_id", sa.String(64), primary_key=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("operation_name", sa.String(200), nullable=True),
        sa.Column("registered_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("trusted_document")
