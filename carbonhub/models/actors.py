"""Persons, enterprises and how they relate: employment and residence."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from carbonhub.models.types import BigIntKey, UTCDateTime, utcnow


class Person(SQLModel, table=True):
    """A citizen, known to carbonhub only by a pseudonymous id.

    Attributes:
        id: pseudonymous id (``p_`` + 20 base32 characters); no name, phone or ID number.
        home_region_code: the district the person is registered in; it decides the programme.
    """

    __tablename__ = "person"

    id: str = Field(primary_key=True, max_length=40)
    home_region_code: str = Field(foreign_key="region.code", index=True, max_length=6)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Residence(SQLModel, table=True):
    """Where a person lived (a district) from ``valid_from`` to ``valid_to`` (inclusive, open if None)."""

    __tablename__ = "residence"

    id: int | None = Field(default=None, sa_type=BigIntKey, primary_key=True)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=40)
    region_code: str = Field(foreign_key="region.code", max_length=6)
    valid_from: date
    valid_to: date | None = None


class Enterprise(SQLModel, table=True):
    """An employer, identified publicly by its unified social credit code (USCC)."""

    __tablename__ = "enterprise"

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    name_en: str | None = Field(default=None, max_length=200)
    uscc: str = Field(unique=True, max_length=18)
    region_code: str = Field(foreign_key="region.code", index=True, max_length=6)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Employment(SQLModel, table=True):
    """A person employed by an enterprise from ``valid_from`` to ``valid_to`` (inclusive, open if None)."""

    __tablename__ = "employment"

    id: int | None = Field(default=None, sa_type=BigIntKey, primary_key=True)
    person_id: str = Field(foreign_key="person.id", index=True, max_length=40)
    enterprise_id: str = Field(foreign_key="enterprise.id", index=True, max_length=40)
    valid_from: date
    valid_to: date | None = None
