"""Access tokens (RFC 9068 JWTs) and the opaque secrets behind codes and refresh tokens.

An access token is short-lived and self-contained: ``iss`` (the hub), ``aud`` (its GraphQL
API), ``sub`` (the citizen's pseudonymous person id, or the client id), ``client_id``,
``scope``, ``iat``, ``exp`` and ``jti``, signed with the key ring's current key and typed
``at+jwt``. Verification accepts only the hub's own algorithms and keys: ``alg: none``, an
HMAC algorithm, an unknown ``kid``, a foreign issuer or audience, or an expired token fail.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jws import extract_compact
from joserfc.jwt import JWTClaimsRegistry

from carbonhub.auth.keys import SUPPORTED_ALGORITHMS, KeyRing
from carbonhub.errors import Unauthenticated
from carbonhub.settings import Settings

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105  (a media type, not a secret)
CLOCK_LEEWAY_SECONDS = 30


class InvalidToken(Unauthenticated):
    """The request presented credentials that cannot be accepted (answered with HTTP 401)."""


def new_secret() -> str:
    """A fresh opaque secret (codes, refresh tokens, session tokens): 256 random bits."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """SHA-256 hex of an opaque secret: what the database keeps instead of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_jti() -> str:
    """A unique token id."""
    return secrets.token_urlsafe(18)


@dataclass(frozen=True, slots=True)
class IssuedAccessToken:
    """A signed access token and what the database records of it."""

    token: str
    jti: str
    expires_at: datetime
    expires_in: int


@dataclass(frozen=True, slots=True)
class AccessTokenClaims:
    """The verified claims of an access token."""

    subject: str
    client_id: str
    scopes: frozenset[str]
    jti: str
    expires_at: datetime


def issue_access_token(
    keys: KeyRing,
    settings: Settings,
    *,
    client_id: str,
    subject: str,
    scope: str,
    now: datetime,
) -> IssuedAccessToken:
    """Sign a new access token for ``subject`` acting through ``client_id``."""
    lifetime = timedelta(minutes=settings.access_token_minutes)
    expires_at = now + lifetime
    jti = new_jti()
    signing = keys.signing_key
    claims = {
        "iss": settings.issuer,
        "aud": settings.audience,
        "sub": subject,
        "client_id": client_id,
        "scope": scope,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": jti,
    }
    header = {"alg": signing.algorithm, "typ": ACCESS_TOKEN_TYPE, "kid": signing.kid}
    token = jwt.encode(header, claims, signing.key, algorithms=[signing.algorithm])
    return IssuedAccessToken(token, jti, expires_at, int(lifetime.total_seconds()))


def verify_access_token(
    token: str, keys: KeyRing, settings: Settings, now: datetime, *, check_expiry: bool = True
) -> AccessTokenClaims:
    """The claims of a valid access token of this hub, or :class:`InvalidToken` saying why.

    ``check_expiry=False`` accepts an expired token of this hub (revocation and introspection
    must find it to answer about it).
    """
    header = _header(token)
    if header.get("typ") != ACCESS_TOKEN_TYPE:
        raise InvalidToken("the token is not an access token (typ must be at+jwt)")
    if header.get("alg") not in SUPPORTED_ALGORITHMS:
        raise InvalidToken(f"the token's algorithm {header.get('alg')!r} is not accepted")
    if not keys.knows(header.get("kid")):
        raise InvalidToken("the token was not signed by a key of this hub")
    try:
        decoded = jwt.decode(token, keys.key_set(), algorithms=list(SUPPORTED_ALGORITHMS))
        moment = int(now.timestamp())
        if not check_expiry and isinstance(decoded.claims.get("exp"), int):
            moment = min(moment, decoded.claims["exp"] - 1)
        registry = JWTClaimsRegistry(
            now=moment,
            leeway=CLOCK_LEEWAY_SECONDS,
            iss={"essential": True, "value": settings.issuer},
            aud={"essential": True, "value": settings.audience},
            exp={"essential": True},
            sub={"essential": True},
            client_id={"essential": True},
            jti={"essential": True},
        )
        registry.validate(decoded.claims)
    except JoseError as exc:
        raise InvalidToken(_reason(exc)) from None
    claims = decoded.claims
    return AccessTokenClaims(
        subject=str(claims["sub"]),
        client_id=str(claims["client_id"]),
        scopes=frozenset(str(claims.get("scope", "")).split()),
        jti=str(claims["jti"]),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )


def _header(token: str) -> dict[str, Any]:
    try:
        header: dict[str, Any] = dict(extract_compact(token.encode()).protected)
    except (JoseError, ValueError, TypeError, UnicodeError):
        raise InvalidToken("the access token is malformed") from None
    return header


def _reason(exc: JoseError) -> str:
    reasons = {
        "bad_signature": "the token's signature does not verify",
        "expired_token": "the access token has expired",
        "invalid_claim": f"the token's claims are not valid here ({exc.description})",
        "missing_claim": f"the token lacks a required claim ({exc.description})",
    }
    return reasons.get(exc.error, f"the access token is not valid ({exc.error})")
