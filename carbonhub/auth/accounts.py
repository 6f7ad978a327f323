"""Citizen accounts: registration (which creates the pseudonymous person) and sign-in.

A username and a password are all a citizen gives; the account is tied to a fresh person id,
so nothing in the ledger names the citizen.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.actors import register_person
from carbonhub.auth.passwords import PasswordHasher
from carbonhub.errors import Conflict, InvalidInput
from carbonhub.models import CitizenAccount

USERNAME_MIN = 3
USERNAME_MAX = 64
PASSWORD_MIN = 10
# Longer inputs are not passwords; refusing them keeps hashing cost bounded.
PASSWORD_MAX = 1024
_USERNAME = re.compile(r"[a-z0-9._-]+")


def normalise_username(username: str) -> str:
    """The username as stored: surrounding blanks removed, lower case."""
    return username.strip().lower()


def check_username(username: str) -> str:
    """The normalised username, or :class:`InvalidInput` saying which rule it breaks."""
    name = normalise_username(username)
    if not USERNAME_MIN <= len(name) <= USERNAME_MAX:
        raise InvalidInput(
            f"A username has {USERNAME_MIN} to {USERNAME_MAX} characters; this one has {len(name)}."
        )
    if not _USERNAME.fullmatch(name):
        raise InvalidInput(
            "A username may only contain lower-case letters a-z, digits 0-9, '.', '_' and '-'."
        )
    return name


def check_password(password: str, username: str) -> None:
    """Raise :class:`InvalidInput` unless ``password`` is acceptable for ``username``."""
    if len(password) < PASSWORD_MIN:
        raise InvalidInput(f"A password needs at least {PASSWORD_MIN} characters.")
    if len(password) > PASSWORD_MAX:
        raise InvalidInput(f"A password has at most {PASSWORD_MAX} characters.")
    if normalise_username(username) in password.lower():
        raise InvalidInput("The password must not contain the username.")


def register_citizen(
    session: Session,
    hasher: PasswordHasher,
    *,
    username: str,
    password: str,
    home_region_code: str,
    since: date,
) -> CitizenAccount:
    """Create a citizen account and its person (living in ``home_region_code`` from ``since``).

    Raises :class:`InvalidInput` for a bad username, password or region, and
    :class:`Conflict` when the username is taken.
    """
    name = check_username(username)
    check_password(password, name)
    # Hash before the first statement: on SQLite the write lock is taken at the first one.
    password_hash = hasher.hash(password)
    if _account_named(session, name) is not None:
        raise Conflict(f"The username {name!r} is taken; choose another.")
    person = register_person(session, home_region_code=home_region_code, since=since)
    account = CitizenAccount(username=name, password_hash=password_hash, person_id=person.id)
    session.add(account)
    try:
        session.flush()
    except IntegrityError as exc:  # registered by a concurrent request meanwhile
        raise Conflict(f"The username {name!r} is taken; choose another.") from exc
    return account


def authenticate(
    session: Session, hasher: PasswordHasher, username: str, password: str
) -> CitizenAccount | None:
    """The account if the username and password are right and it is enabled, else None.

    The time taken does not depend on whether the username exists (an unknown name still
    costs one verification). A correct password whose hash has outdated parameters is
    rehashed, so use a write session.
    """
    if len(password) > PASSWORD_MAX:
        return None
    account = _account_named(session, normalise_username(username))
    if account is None:
        hasher.spend_verification(password)
        return None
    if not hasher.verify(account.password_hash, password) or account.disabled_at is not None:
        return None
    if hasher.needs_rehash(account.password_hash):
        account.password_hash = hasher.hash(password)
        session.add(account)
        session.flush()
    return account


def _account_named(session: Session, username: str) -> CitizenAccount | None:
    return session.scalars(
        select(CitizenAccount).where(col(CitizenAccount.username) == username)
    ).one_or_none()
