"""The keys that sign access tokens: loaded from settings or generated once and kept in the DB.

The newest active key signs. Every key that may still have unexpired tokens out (active keys,
and keys retired less than a day ago) is published at ``/.well-known/jwks.json`` and accepted
when verifying, so a rotation (``carbonhub keys rotate``) never invalidates live tokens. Several
replicas share the database, so each re-reads the keys now and then, and at once when a token
names a ``kid`` it does not know.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col

from carbonhub.db import read_session, write_session
from carbonhub.errors import InvalidInput
from carbonhub.models import ServerKey, utcnow
from carbonhub.settings import Settings

JWT_PURPOSE = "jwt"
RETIRED_KEYS_PUBLISHED_FOR = timedelta(days=1)
REFRESH_SECONDS = 60.0
UNKNOWN_KID_REFRESH_SECONDS = 5.0
SUPPORTED_ALGORITHMS = ("ES256", "RS256")

SigningMaterial = ECKey | RSAKey


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key with its ``kid`` and JWS algorithm."""

    kid: str
    algorithm: str
    key: SigningMaterial


def _algorithm_of(key: SigningMaterial) -> str:
    if isinstance(key, RSAKey):
        return "RS256"
    if key.as_dict(private=False).get("crv") != "P-256":
        raise InvalidInput("the signing key must be RSA or EC on curve P-256")
    return "ES256"


def import_key(pem: bytes | str, kid: str | None = None) -> SigningMaterial:
    """A private key from PEM, with ``kid`` (default: its RFC 7638 thumbprint)."""
    data = pem.encode() if isinstance(pem, str) else pem
    key: SigningMaterial
    try:
        key = ECKey.import_key(data)
    except (ValueError, TypeError):
        key = RSAKey.import_key(data)
    if not key.is_private:
        raise InvalidInput("the signing key file holds no private key")
    kid = kid or key.thumbprint()
    return type(key).import_key(data, {"kid": kid})


def generate_signing_key() -> SigningKey:
    """A new EC P-256 key (ES256) with a random ``kid``."""
    kid = f"k_{secrets.token_urlsafe(12)}"
    key = ECKey.generate_key("P-256", private=True, parameters={"kid": kid})
    return SigningKey(kid, "ES256", key)


def store_signing_key(engine: Engine, signing: SigningKey) -> None:
    """Keep a generated key in the database (its private half too: protect database backups)."""
    with write_session(engine) as session:
        session.add(
            ServerKey(
                kid=signing.kid,
                purpose=JWT_PURPOSE,
                algorithm=signing.algorithm,
                private_key=signing.key.as_pem(private=True).decode(),
                public_jwk=None,
            )
        )


def rotate_signing_key(engine: Engine) -> str:
    """Make a new key the signing key and retire the others (still published for a day)."""
    signing = generate_signing_key()
    now = utcnow()
    with write_session(engine) as session:
        session.execute(
            update(ServerKey)
            .where(col(ServerKey.purpose) == JWT_PURPOSE, col(ServerKey.retired_at).is_(None))
            .values(retired_at=now)
        )
        session.add(
            ServerKey(
                kid=signing.kid,
                purpose=JWT_PURPOSE,
                algorithm=signing.algorithm,
                private_key=signing.key.as_pem(private=True).decode(),
            )
        )
    return signing.kid


class KeyRing:
    """The hub's current signing key and every key it accepts, refreshed from the database."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._lock = threading.Lock()
        self._signing: SigningKey | None = None
        self._accepted: list[SigningKey] = []
        self._loaded_at = 0.0

    @property
    def signing_key(self) -> SigningKey:
        """The key new tokens are signed with."""
        self._refresh_if_stale(REFRESH_SECONDS)
        assert self._signing is not None  # _refresh_if_stale always loads one
        return self._signing

    def key_set(self) -> KeySet:
        """Every key a token may be signed with (for verification)."""
        self._refresh_if_stale(REFRESH_SECONDS)
        return KeySet([k.key for k in self._accepted])

    def knows(self, kid: str | None) -> bool:
        """Whether ``kid`` is accepted; an unknown kid triggers an early re-read (rotation)."""
        self._refresh_if_stale(REFRESH_SECONDS)
        if any(k.kid == kid for k in self._accepted):
            return True
        self._refresh_if_stale(UNKNOWN_KID_REFRESH_SECONDS)
        return any(k.kid == kid for k in self._accepted)

    def accepted_keys(self) -> list[SigningKey]:
        """The keys a token may currently be signed with (the signing key first)."""
        self._refresh_if_stale(REFRESH_SECONDS)
        return list(self._accepted)

    def jwks(self) -> dict[str, Any]:
        """The public JSON Web Key Set."""
        self._refresh_if_stale(REFRESH_SECONDS)
        keys = []
        for k in self._accepted:
            public = k.key.as_dict(private=False)
            public.update({"kid": k.kid, "alg": k.algorithm, "use": "sig"})
            keys.append(public)
        return {"keys": keys}

    def readiness(self) -> str:
        """``ok`` when the signing keys load now, else why not: for ``/readyz``. (A probe every
        few seconds re-reads them, which also picks up a rotation early.)"""
        try:
            self.load()
        except (OSError, ValueError, SQLAlchemyError) as exc:  # unreadable file, bad key, no db
            return f"signing keys not loaded: {type(exc).__name__}: {exc}"
        return "ok" if self._signing is not None else "no signing key"

    def load(self) -> None:
        """Read the keys now, generating and storing the first one if there is none."""
        with self._lock:
            self._load()

    def _refresh_if_stale(self, seconds: float) -> None:
        if time.monotonic() - self._loaded_at < seconds and self._signing is not None:
            return
        with self._lock:
            if time.monotonic() - self._loaded_at >= seconds or self._signing is None:
                self._load()

    def _load(self) -> None:
        stored = self._stored_keys()
        if self.settings.signing_key_file is not None:
            key = import_key(self.settings.signing_key_file.read_bytes())
            signing = SigningKey(str(key.kid), _algorithm_of(key), key)
            accepted = [signing, *(k for k, _ in stored if k.kid != signing.kid)]
        else:
            active = [k for k, retired in stored if not retired]
            if not active:
                store_signing_key(self.engine, generate_signing_key())
                stored = self._stored_keys()
                active = [k for k, retired in stored if not retired]
            signing = active[0]
            accepted = [k for k, _ in stored]
        self._signing, self._accepted = signing, accepted
        self._loaded_at = time.monotonic()

    def _stored_keys(self) -> list[tuple[SigningKey, bool]]:
        """Active keys (newest first), then recently retired ones, with a retired flag."""
        cutoff = utcnow() - RETIRED_KEYS_PUBLISHED_FOR
        with read_session(self.engine) as session:
            rows = session.execute(
                select(ServerKey)
                .where(
                    col(ServerKey.purpose) == JWT_PURPOSE,
                    col(ServerKey.retired_at).is_(None) | (col(ServerKey.retired_at) > cutoff),
                )
                .order_by(col(ServerKey.created_at).desc(), col(ServerKey.kid))
            ).scalars()
            keys = [
                (
                    SigningKey(row.kid, row.algorithm, import_key(row.private_key, kid=row.kid)),
                    row.retired_at is not None,
                )
                for row in rows
            ]
        return sorted(keys, key=lambda item: item[1])
