"""Provider tokens encrypted at rest (Fernet: AES-128-CBC with HMAC-SHA256), with key rotation.

``CARBONHUB_TOKEN_ENCRYPTION_KEYS`` holds comma-separated Fernet keys: the first encrypts, every
one decrypts, so a new key is put first and the old one removed once tokens were re-encrypted
(refreshes re-encrypt as they go). Without the setting a development hub generates a key and
keeps it in the database, which protects nothing against a stolen database; production refuses
to start a link or sync without the setting.
"""

from __future__ import annotations

import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Engine, select
from sqlmodel import col

from carbonhub.bulk import BulkWriter
from carbonhub.db import write_session
from carbonhub.errors import ConfigurationError
from carbonhub.models import HubMetadata, table_of
from carbonhub.settings import Settings

KEY_ROW = "connector_token_key"
log = logging.getLogger(__name__)


class TokenVault:
    """Encrypts and decrypts provider tokens and PKCE verifiers."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ConfigurationError("no token encryption key")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except ValueError as exc:
            raise ConfigurationError(
                "CARBONHUB_TOKEN_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64 bytes)"
            ) from exc

    @classmethod
    def for_hub(cls, engine: Engine, settings: Settings) -> TokenVault:
        """The vault of the configured keys, or (development only) of a key kept in the database."""
        if settings.token_encryption_keys is not None:
            raw = settings.token_encryption_keys.get_secret_value()
            return cls([k.strip().encode() for k in raw.split(",") if k.strip()])
        if settings.is_production:
            raise ConfigurationError(
                "set CARBONHUB_TOKEN_ENCRYPTION_KEYS to encrypt provider tokens in production"
            )
        return cls([_development_key(engine)])

    def seal(self, secret: str) -> str:
        """The encrypted form of ``secret`` (text, safe to store)."""
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """The secret back; ConfigurationError when no configured key can decrypt it."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise ConfigurationError(
                "a stored provider token cannot be decrypted with the configured keys"
            ) from None


def _development_key(engine: Engine) -> bytes:
    with write_session(engine) as session:
        row = session.get(HubMetadata, KEY_ROW)
        if row is None:
            log.warning(
                "no CARBONHUB_TOKEN_ENCRYPTION_KEYS: provider tokens are encrypted with a key "
                "kept in the database (development only)"
            )
            # two hubs starting at once (the demo and its server) may both find no key:
            # the first insert wins and both use its key
            BulkWriter(session).insert_ignoring_conflicts(
                table_of(HubMetadata),
                ("key", "value"),
                ("key",),
                [(KEY_ROW, Fernet.generate_key().decode())],
            )
            return (
                session.scalars(
                    select(col(HubMetadata.value)).where(col(HubMetadata.key) == KEY_ROW)
                )
                .one()
                .encode()
            )
        return row.value.encode()
