"""OAuth clients, citizen accounts, grants, tokens, login sessions and server keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 19:48:25.139800
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from carbonhub.models.types import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "server_key",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("kid"),
    )
    with op.batch_alter_table("server_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_server_key_purpose"), ["purpose"], unique=False)

    op.create_table(
        "citizen_account",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("disabled_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "oauth_client",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.String(length=200), nullable=True),
        sa.Column("redirect_uris", sa.Text(), nullable=False),
        sa.Column("scopes", sa.String(length=500), nullable=False),
        sa.Column("enterprise_id", sa.String(length=40), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=True),
        sa.Column("connector", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprise.id"],
        ),
        sa.ForeignKeyConstraint(
            ["region_code"],
            ["region.code"],
        ),
        sa.PrimaryKeyConstraint("client_id"),
    )
    op.create_table(
        "login_session",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["citizen_account.id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_session_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "oauth_grant",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=True),
        sa.Column("scope", sa.String(length=500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_client.client_id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("oauth_grant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oauth_grant_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_oauth_grant_person_id"), ["person_id"], unique=False)

    op.create_table(
        "oauth_access_token",
        sa.Column("jti", sa.String(length=40), nullable=False),
        sa.Column("grant_id", sa.String(length=40), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["oauth_grant.id"],
        ),
        sa.PrimaryKeyConstraint("jti"),
    )
    with op.batch_alter_table("oauth_access_token", schema=None) as batch_op:
        batch_op.create_index("ix_oauth_access_token_expires", ["expires_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_oauth_access_token_grant_id"), ["grant_id"], unique=False
        )

    op.create_table(
        "oauth_authorization_code",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=40), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(length=500), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("code_challenge_method", sa.String(length=8), nullable=False),
        sa.Column("auth_time", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("grant_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_client.client_id"],
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["oauth_grant.id"],
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["person.id"],
        ),
        sa.PrimaryKeyConstraint("code_hash"),
    )
    op.create_table(
        "oauth_refresh_token",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("grant_id", sa.String(length=40), nullable=False),
        sa.Column("scope", sa.String(length=500), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["oauth_grant.id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("oauth_refresh_token", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oauth_refresh_token_grant_id"), ["grant_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("oauth_refresh_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_refresh_token_grant_id"))

    op.drop_table("oauth_refresh_token")
    op.drop_table("oauth_authorization_code")
    with op.batch_alter_table("oauth_access_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_access_token_grant_id"))
        batch_op.drop_index("ix_oauth_access_token_expires")

    op.drop_table("oauth_access_token")
    with op.batch_alter_table("oauth_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oauth_grant_person_id"))
        batch_op.drop_index(batch_op.f("ix_oauth_grant_client_id"))

    op.drop_table("oauth_grant")
    with op.batch_alter_table("login_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_session_account_id"))

    op.drop_table("login_session")
    op.drop_table("oauth_client")
    op.drop_table("citizen_account")
    with op.batch_alter_table("server_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_server_key_purpose"))

    op.drop_table("server_key")
