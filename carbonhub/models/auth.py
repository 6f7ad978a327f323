"""OAuth clients, citizen accounts, grants and tokens, login sessions and server keys.

Secrets are never stored as given: client secrets and passwords as Argon2id hashes, codes,
refresh tokens and session tokens as SHA-256 hex digests (they are long random strings, so a
fast hash is enough to make a stolen table useless). Access tokens are signed JWTs; only their
``jti`` is kept, so that revoking a grant stops its unexpired access tokens too.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from carbonhub.models.types import BigIntKey, UTCDateTime, utcnow


def _moment(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(UTCDateTime, nullable=nullable, index=index)


class OAuthClient(SQLModel, table=True):
    """A registered OAuth client and what it is bound to.

    Attributes:
        kind: ``app`` (acts for citizens who approve it), ``enterprise``, ``agency``,
            ``connector`` or ``operator`` (client credentials, bound as below).
        secret_hash: Argon2id hash of the client secret; None for a public ``app`` client.
        redirect_uris: JSON list, matched exactly (``app`` clients only).
        scopes: the space-separated scopes the client may ever hold.
        enterprise_id, region_code, connector: the binding of enterprise, agency and connector
            clients; every token of the client reaches only data of its binding.
    """

    __tablename__ = "oauth_client"

    client_id: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)
    name: str = Field(max_length=200)
    secret_hash: str | None = Field(default=None, max_length=200)
    redirect_uris: str = Field(default="[]", sa_type=Text)
    scopes: str = Field(max_length=500)
    enterprise_id: str | None = Field(default=None, foreign_key="enterprise.id", max_length=40)
    region_code: str | None = Field(default=None, foreign_key="region.code", max_length=6)
    connector: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_moment())
    revoked_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True))


class CitizenAccount(SQLModel, table=True):
    """A citizen's login: a username and a password hash, tied to one pseudonymous person."""

    __tablename__ = "citizen_account"

    id: int | None = Field(default=None, sa_type=BigIntKey, primary_key=True)
    username: str = Field(unique=True, max_length=64)
    password_hash: str = Field(max_length=200)
    person_id: str = Field(foreign_key="person.id", unique=True, max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_moment())
    disabled_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True))


class LoginSession(SQLModel, table=True):
    """A signed-in citizen's browser session (the cookie holds the token, the table its hash)."""

    __tablename__ = "login_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    account_id: int = Field(foreign_key="citizen_account.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_moment())
    expires_at: datetime = Field(sa_column=_moment())
    ended_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True))


class OAuthGrant(SQLModel, table=True):
    """One authorisation: a token family (a code, or a client-credentials request, and every
    token issued from it or rotated from those). Revoking the grant revokes the whole family."""

    __tablename__ = "oauth_grant"

    id: str = Field(primary_key=True, max_length=40)
    client_id: str = Field(foreign_key="oauth_client.client_id", index=True, max_length=64)
    person_id: str | None = Field(default=None, foreign_key="person.id", index=True, max_length=40)
    scope: str = Field(max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_moment())
    revoked_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True))
    revoked_reason: str | None = Field(default=None, max_length=200)


class AuthorizationCode(SQLModel, table=True):
    """A single-use authorisation code, bound to its client, redirect URI and PKCE challenge."""

    __tablename__ = "oauth_authorization_code"

    code_hash: str = Field(primary_key=True, max_length=64)
    client_id: str = Field(foreign_key="oauth_client.client_id", max_length=64)
    person_id: str = Field(foreign_key="person.id", max_length=40)
    redirect_uri: str = Field(sa_type=Text)
    scope: str = Field(max_length=500)
    code_challenge: str = Field(max_length=128)
    code_challenge_method: str = Field(max_length=8)
    auth_time: datetime = Field(sa_column=_moment())
    expires_at: datetime = Field(sa_column=_moment())
    used_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True))
    grant_id: str | None = Field(default=None, foreign_key="oauth_grant.id", max_length=40)


class RefreshToken(SQLModel, table=True):
    """A refresh token; used once (rotation), its reuse revokes the grant."""

    __tablename__ = "oauth_refresh_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    grant_id: str = Field(foreign_key="oauth_grant.id", index=True, max_length=40)
    scope: str = Field(max_length=500)
    issued_at: datetime = Field(default_factory=utcnow, sa_column=_moment())
    expires_at: datetime = Field(sa_column=_moment())
    used_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True))
    revoked_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True))


class AccessToken(SQLModel, table=True):
    """The record of an issued JWT access token (by ``jti``), so that it can be revoked."""

    __tablename__ = "oauth_access_token"
    __table_args__ = (Index("ix_oauth_access_token_expires", "expires_at"),)

    jti: str = Field(primary_key=True, max_length=40)
    grant_id: str = Field(foreign_key="oauth_grant.id", index=True, max_length=40)
    issued_at: datetime = Field(default_factory=utcnow, sa_column=_moment())
    expires_at: datetime = Field(sa_column=_moment())
    revoked_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True))


class ServerKey(SQLModel, table=True):
    """A key of the hub: JWT signing keys (``purpose='jwt'``) and the HMAC key of CSRF tokens.

    The newest active key of a purpose signs; retired keys stay published (JWKS) until the
    tokens they signed have expired.
    """

    __tablename__ = "server_key"

    kid: str = Field(primary_key=True, max_length=64)
    purpose: str = Field(max_length=16, index=True)
    algorithm: str = Field(max_length=16)
    private_key: str = Field(sa_type=Text)
    public_jwk: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utcnow, sa_column=_moment())
    retired_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True))


class TrustedDocument(SQLModel, table=True):
    """A GraphQL document registered for a client (its trusted-documents manifest).

    ``document_id`` is the SHA-256 hex digest of ``body`` (UTF-8): a client may send the id
    instead of the text, and a client whose kind must use trusted documents may run nothing else.
    """

    __tablename__ = "trusted_document"

    client_id: str = Field(primary_key=True, foreign_key="oauth_client.client_id", max_length=64)
    document_id: str = Field(primary_key=True, max_length=64)
    body: str = Field(sa_type=Text)
    operation_name: str | None = Field(default=None, max_length=200)
    registered_at: datetime = Field(default_factory=utcnow, sa_column=_moment())
