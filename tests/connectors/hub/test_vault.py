"""Provider tokens at rest: encrypted, rotatable keys, production needs configured keys."""

from __future__ import annotations

import threading

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import delete
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.connectors.vault import KEY_ROW, TokenVault, _development_key
from carbonhub.db import is_sqlite
from carbonhub.errors import ConfigurationError
from carbonhub.models import HubMetadata
from carbonhub.settings import Environment, Settings


def test_given_a_sealed_token_then_the_stored_text_does_not_contain_it_and_opens_back():
    vault = TokenVault([Fernet.generate_key()])

    sealed = vault.seal("provider-access-token-123")

    assert "provider-access-token-123" not in sealed
    assert vault.open(sealed) == "provider-access-token-123"


def test_given_a_new_key_put_first_then_tokens_sealed_with_the_old_key_still_open():
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed_before = TokenVault([old]).seal("t")

    rotated = TokenVault([new, old])

    assert rotated.open(sealed_before) == "t"
    assert TokenVault([new]).open(rotated.seal("u")) == "u"


def test_given_a_token_sealed_with_an_unknown_key_then_opening_it_is_a_configuration_error():
    sealed = TokenVault([Fernet.generate_key()]).seal("t")

    with pytest.raises(ConfigurationError, match="cannot be decrypted"):
        TokenVault([Fernet.generate_key()]).open(sealed)


def test_given_production_without_keys_then_the_vault_refuses_to_start(hub):
    settings = Settings(database_url=hub.settings.database_url, env=Environment.PRODUCTION)

    with pytest.raises(ConfigurationError, match="CARBONHUB_TOKEN_ENCRYPTION_KEYS"):
        TokenVault.for_hub(hub.engine, settings)


def test_given_development_without_keys_then_one_key_is_generated_and_kept(hub):
    first = TokenVault.for_hub(hub.engine, hub.settings).seal("t")

    assert TokenVault.for_hub(hub.engine, hub.settings).open(first) == "t"


def test_given_configured_keys_that_are_not_fernet_keys_then_the_error_says_so(hub):
    settings = Settings(token_encryption_keys=SecretStr("not-a-key"))

    with pytest.raises(ConfigurationError, match="Fernet keys"):
        TokenVault.for_hub(hub.engine, settings)


def test_given_two_hubs_creating_the_development_key_at_once_then_both_use_the_first(hub):
    if is_sqlite(hub.engine):
        pytest.skip("SQLite serialises writers: there is no concurrent first key to race")
    with Session(hub.engine) as session, session.begin():
        session.execute(delete(HubMetadata).where(col(HubMetadata.key) == KEY_ROW))
    first_key = Fernet.generate_key().decode()
    first = Session(hub.engine)
    first.begin()
    first.add(HubMetadata(key=KEY_ROW, value=first_key))
    first.flush()  # the first hub's key, not committed yet
    found: list[object] = []

    def second() -> None:
        try:
            found.append(_development_key(hub.engine).decode())
        except Exception as exc:  # what the race used to raise
            found.append(exc)

    racer = threading.Thread(target=second)
    racer.start()
    racer.join(timeout=0.5)  # it waits for the first transaction
    first.commit()
    first.close()
    racer.join(timeout=10)

    assert found == [first_key]
