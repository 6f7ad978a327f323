"""Argon2id hashes of passwords and client secrets (no database)."""

from __future__ import annotations

import pytest

from carbonhub.auth.passwords import PasswordHasher
from carbonhub.settings import Settings


def test_given_a_hash_when_the_same_secret_is_verified_then_it_matches(hasher) -> None:
    hashed = hasher.hash("correct horse battery")

    assert hasher.verify(hashed, "correct horse battery") is True


def test_given_a_hash_when_another_secret_is_verified_then_false_not_an_exception(hasher) -> None:
    hashed = hasher.hash("correct horse battery")

    assert hasher.verify(hashed, "correct horse batterY") is False


@pytest.mark.parametrize("stored", ["", "plain text", "$argon2id$v=19$m=8,t=1,p=1$broken"])
def test_given_a_malformed_stored_hash_then_nothing_verifies_and_it_needs_rehash(
    hasher, stored
) -> None:
    assert hasher.verify(stored, "anything at all") is False
    assert hasher.needs_rehash(stored) is True


def test_hashes_are_argon2id_with_the_settings_cost() -> None:
    hasher = PasswordHasher.from_settings(Settings(password_time_cost=2, password_memory_kib=16))

    assert hasher.hash("s3cret-s3cret").startswith("$argon2id$v=19$m=16,t=2,p=2$")


def test_the_default_cost_is_rfc_9106s_second_recommendation() -> None:
    hasher = PasswordHasher.from_settings(Settings())

    assert hasher._argon2.memory_cost == 65536
    assert hasher._argon2.time_cost == 3
    assert hasher._argon2.parallelism == 4


def test_the_same_secret_hashes_differently_each_time_because_of_the_salt(hasher) -> None:
    assert hasher.hash("same secret!") != hasher.hash("same secret!")


def test_given_a_hash_of_lower_cost_when_the_cost_is_raised_then_it_needs_rehash(hasher) -> None:
    stronger = PasswordHasher(time_cost=2, memory_kib=8)
    hashed = hasher.hash("correct horse battery")

    assert hasher.needs_rehash(hashed) is False
    assert stronger.needs_rehash(hashed) is True
    assert stronger.verify(hashed, "correct horse battery") is True


def test_spending_a_verification_without_a_hash_returns_quietly(hasher) -> None:
    hasher.spend_verification("whatever was typed")
    hasher.spend_verification("whatever was typed")
