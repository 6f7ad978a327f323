"""Registering citizens and signing them in (database tests, on SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from carbonhub.auth.accounts import authenticate, check_password, check_username, register_citizen
from carbonhub.auth.passwords import PasswordHasher
from carbonhub.db import read_session, write_session
from carbonhub.errors import Conflict, InvalidInput, NotFound
from carbonhub.models import CitizenAccount, Person, Residence, utcnow


def register(engine, hasher, username="alice", password="correct horse battery", region="110108"):
    with write_session(engine) as session:
        return register_citizen(
            session,
            hasher,
            username=username,
            password=password,
            home_region_code=region,
            since=date(2023, 7, 1),
        )


def count(engine, model) -> int:
    with read_session(engine) as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def sign_in(engine, hasher, username, password):
    with write_session(engine) as session:
        return authenticate(session, hasher, username, password)


# -- rules (no database) ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["abc", "li.wei_2023-x", "a" * 64, "  Alice  "])
def test_acceptable_usernames_are_normalised_to_lower_case(name) -> None:
    assert check_username(name) == name.strip().lower()


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("ab", "3 to 64 characters"),
        ("a" * 65, "3 to 64 characters"),
        ("li wei", "lower-case letters"),
        ("李伟伟", "lower-case letters"),
        ("alice@example.com", "lower-case letters"),
    ],
)
def test_a_bad_username_is_refused_saying_which_rule(name, says) -> None:
    with pytest.raises(InvalidInput, match=says):
        check_username(name)


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("short1234", "at least 10 characters"),
        ("x" * 1025, "at most 1024"),
        ("my-alice-password", "must not contain the username"),
        ("MY-ALICE-PASSWORD", "must not contain the username"),
    ],
)
def test_a_bad_password_is_refused_saying_which_rule(password, says) -> None:
    with pytest.raises(InvalidInput, match=says):
        check_password(password, "alice")


# -- registration -----------------------------------------------------------------------------


def test_given_a_new_username_when_registering_then_an_account_and_its_person_exist(
    engine, hasher
) -> None:
    account = register(engine, hasher, username="Alice")

    assert account.username == "alice"
    assert account.person_id.startswith("p_")
    assert account.password_hash.startswith("$argon2id$")
    assert "correct horse battery" not in account.password_hash
    with read_session(engine) as session:
        person = session.get(Person, account.person_id)
        residence = session.scalars(select(Residence)).one()
    assert person is not None
    assert person.home_region_code == "110108"
    assert (residence.region_code, residence.valid_from) == ("110108", date(2023, 7, 1))


def test_given_a_taken_username_in_any_case_when_registering_then_conflict_and_no_person(
    engine, hasher
) -> None:
    register(engine, hasher, username="alice")

    with pytest.raises(Conflict, match="taken"):
        register(engine, hasher, username="ALICE", password="another good password")

    assert count(engine, CitizenAccount) == 1
    assert count(engine, Person) == 1


@pytest.mark.parametrize(
    ("region", "error"), [("110000", InvalidInput), ("999999", NotFound)], ids=["city", "unknown"]
)
def test_given_a_region_that_is_not_a_district_when_registering_then_refused_and_nothing_stored(
    engine, hasher, region, error
) -> None:
    with pytest.raises(error):
        register(engine, hasher, region=region)

    assert count(engine, CitizenAccount) == 0
    assert count(engine, Person) == 0


def test_given_a_password_containing_the_username_when_registering_then_refused(
    engine, hasher
) -> None:
    with pytest.raises(InvalidInput, match="must not contain the username"):
        register(engine, hasher, username="alice", password="alice-is-my-password")

    assert count(engine, Person) == 0


# -- sign-in ----------------------------------------------------------------------------------


def test_given_the_right_password_when_signing_in_then_the_account(engine, hasher) -> None:
    account = register(engine, hasher)

    signed_in = sign_in(engine, hasher, "  ALICE ", "correct horse battery")

    assert signed_in is not None
    assert signed_in.id == account.id


def test_given_a_wrong_password_when_signing_in_then_none(engine, hasher) -> None:
    register(engine, hasher)

    assert sign_in(engine, hasher, "alice", "correct horse battery!") is None


class CountingHasher(PasswordHasher):
    """A hasher that counts verifications, real or spent."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_kib=8)
        self.verifications = 0

    def verify(self, hashed: str, secret: str) -> bool:
        self.verifications += 1
        return super().verify(hashed, secret)


def test_given_an_unknown_username_when_signing_in_then_none_after_one_verification_all_the_same(
    engine,
) -> None:
    hasher = CountingHasher()
    register(engine, hasher)
    hasher.verifications = 0

    assert sign_in(engine, hasher, "nobody", "correct horse battery") is None
    unknown = hasher.verifications
    assert sign_in(engine, hasher, "alice", "wrong wrong wrong") is None

    assert unknown == hasher.verifications - unknown == 1


def test_given_a_disabled_account_when_signing_in_with_its_password_then_none(
    engine, hasher
) -> None:
    account = register(engine, hasher)
    with write_session(engine) as session:
        session.get(CitizenAccount, account.id).disabled_at = utcnow()

    assert sign_in(engine, hasher, "alice", "correct horse battery") is None


def test_given_a_hash_with_old_parameters_when_signing_in_then_it_is_rehashed(
    engine, hasher
) -> None:
    register(engine, hasher)
    stronger = PasswordHasher(time_cost=2, memory_kib=16)

    assert sign_in(engine, stronger, "alice", "correct horse battery") is not None

    with read_session(engine) as session:
        stored = session.scalars(select(CitizenAccount)).one().password_hash
    assert stored.startswith("$argon2id$v=19$m=16,t=2,")
    assert sign_in(engine, stronger, "alice", "correct horse battery") is not None
