"""Persons, enterprises, employment and residence: registration and the links between them."""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.actors.uscc import validate_uscc
from carbonhub.errors import Conflict, InvalidInput, NotFound
from carbonhub.models import Employment, Enterprise, Person, Region, Residence

_B32 = "abcdefghijklmnopqrstuvwxyz234567"


def new_person_id() -> str:
    """A fresh pseudonymous person id: ``p_`` and 20 random base32 characters (100 bits)."""
    return "p_" + "".join(secrets.choice(_B32) for _ in range(20))


def new_enterprise_id() -> str:
    """A fresh enterprise id: ``e_`` and 12 random base32 characters."""
    return "e_" + "".join(secrets.choice(_B32) for _ in range(12))


def _require_district(session: Session, code: str) -> Region:
    region = session.get(Region, code)
    if region is None:
        raise NotFound(f"unknown region code {code!r}")
    if region.level != "district":
        raise InvalidInput(f"region {code} ({region.name_en}) is not a district; give the district")
    return region


def register_person(
    session: Session, *, home_region_code: str, since: date, person_id: str | None = None
) -> Person:
    """Register a citizen living in a district since ``since``; returns the new person."""
    _require_district(session, home_region_code)
    person = Person(id=person_id or new_person_id(), home_region_code=home_region_code)
    if session.get(Person, person.id) is not None:
        raise Conflict(f"person {person.id} exists already")
    session.add(person)
    session.add(Residence(person_id=person.id, region_code=home_region_code, valid_from=since))
    session.flush()
    return person


def move_residence(session: Session, *, person_id: str, region_code: str, on: date) -> Residence:
    """Record that a person lives in ``region_code`` from ``on``; the previous residence ends the day before."""
    _require_district(session, region_code)
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"unknown person {person_id!r}")
    current = session.scalars(
        select(Residence).where(
            col(Residence.person_id) == person_id, col(Residence.valid_to).is_(None)
        )
    ).first()
    if current is not None:
        if on <= current.valid_from:
            raise InvalidInput(
                f"a move on {on} must come after the current residence began ({current.valid_from})"
            )
        current.valid_to = date.fromordinal(on.toordinal() - 1)
    residence = Residence(person_id=person_id, region_code=region_code, valid_from=on)
    session.add(residence)
    person.home_region_code = region_code
    session.flush()
    return residence


def register_enterprise(
    session: Session,
    *,
    name: str,
    uscc: str,
    region_code: str,
    name_en: str | None = None,
    enterprise_id: str | None = None,
) -> Enterprise:
    """Register an employer; the USCC must pass both of its check characters."""
    code = validate_uscc(uscc)
    if session.get(Region, region_code) is None:
        raise NotFound(f"unknown region code {region_code!r}")
    if session.scalars(select(Enterprise).where(col(Enterprise.uscc) == code)).first() is not None:
        raise Conflict(f"an enterprise with unified social credit code {code} exists already")
    enterprise = Enterprise(
        id=enterprise_id or new_enterprise_id(),
        name=name,
        name_en=name_en,
        uscc=code,
        region_code=region_code,
    )
    session.add(enterprise)
    session.flush()
    return enterprise


def employ(
    session: Session, *, person_id: str, enterprise_id: str, since: date, until: date | None = None
) -> Employment:
    """Record that a person works for an enterprise from ``since`` to ``until`` (inclusive)."""
    if session.get(Person, person_id) is None:
        raise NotFound(f"unknown person {person_id!r}")
    if session.get(Enterprise, enterprise_id) is None:
        raise NotFound(f"unknown enterprise {enterprise_id!r}")
    if until is not None and until < since:
        raise InvalidInput(f"employment ends ({until}) before it starts ({since})")
    employment = Employment(
        person_id=person_id, enterprise_id=enterprise_id, valid_from=since, valid_to=until
    )
    session.add(employment)
    session.flush()
    return employment


def end_employment(session: Session, *, employment_id: int, on: date) -> None:
    """Close an employment on ``on`` (the last day worked)."""
    employment = session.get(Employment, employment_id)
    if employment is None:
        raise NotFound(f"unknown employment {employment_id}")
    if on < employment.valid_from:
        raise InvalidInput(
            f"employment {employment_id} cannot end ({on}) before it starts ({employment.valid_from})"
        )
    employment.valid_to = on
    session.flush()
