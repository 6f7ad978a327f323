"""Building the principal of an incoming HTTP request from its bearer token.

A token must verify (signature, issuer, audience, expiry: see :mod:`carbonhub.auth.tokens`)
and must still be live in the database: its grant not revoked, its client not removed. The
database read makes revocation take effect on the next request, for tokens already issued.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, Select, bindparam, select
from sqlmodel import col

from carbonhub.auth.keys import KeyRing
from carbonhub.auth.principal import Principal
from carbonhub.auth.scopes import PRINCIPAL_OF, ClientKind
from carbonhub.auth.tokens import InvalidToken, verify_access_token
from carbonhub.db import reading
from carbonhub.models import AccessToken, OAuthClient, OAuthGrant, utcnow
from carbonhub.settings import Settings


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The bearer token of the ``Authorization`` header; None when there is no header."""
    authorization = headers.get("authorization")
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("send the access token as 'Authorization: Bearer <token>'")
    return token.strip()


class TokenAuthenticator:
    """Turns request headers into a :class:`Principal` (anonymous without a token)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        keys: KeyRing,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.keys = keys
        self.clock = clock

    def principal(self, headers: Mapping[str, str]) -> Principal:
        """The request's principal, or :class:`InvalidToken` for a token that is not good.

        No token: anonymous, except on a development hub where the anonymous caller is the
        developer superuser (never in production).
        """
        token = bearer_token(headers)
        if token is None:
            return Principal.anonymous() if self.settings.is_production else Principal.developer()
        claims = verify_access_token(token, self.keys, self.settings, self.clock())
        with reading(self.engine) as connection:
            row = connection.execute(_liveness(), {"jti": claims.jti}).first()
        if row is None or row[0] is not None or row[1] is not None or row[8] is not None:
            raise InvalidToken("the access token has been revoked")
        _, _, person_id, client_id, kind, enterprise_id, region_code, connector, _ = row
        if client_id != claims.client_id:
            raise InvalidToken("the access token does not match its grant")
        client_kind = ClientKind(kind)
        if client_kind is ClientKind.APP and person_id is None:
            raise InvalidToken("the access token acts for nobody")
        return Principal(
            kind=PRINCIPAL_OF[client_kind],
            scopes=claims.scopes,
            subject=claims.subject,
            client_id=client_id,
            person_id=person_id,
            enterprise_id=enterprise_id,
            region_code=region_code,
            connector=connector,
        )


@lru_cache(maxsize=1)
def _liveness() -> Select[*tuple[Any, ...]]:
    """Whether a token's grant and client still stand, and whom it acts for: built once, the
    token's id bound per request (every authenticated request runs it)."""
    return (
        select(
            col(AccessToken.revoked_at),
            col(OAuthGrant.revoked_at),
            col(OAuthGrant.person_id),
            col(OAuthClient.client_id),
            col(OAuthClient.kind),
            col(OAuthClient.enterprise_id),
            col(OAuthClient.region_code),
            col(OAuthClient.connector),
            col(OAuthClient.revoked_at),
        )
        .join(OAuthGrant, col(OAuthGrant.id) == col(AccessToken.grant_id))
        .join(OAuthClient, col(OAuthClient.client_id) == col(OAuthGrant.client_id))
        .where(col(AccessToken.jti) == bindparam("jti"))
    )


__all__ = ["InvalidToken", "TokenAuthenticator", "bearer_token"]
