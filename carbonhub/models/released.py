"""Released aggregates: what the regional and ESG reports of each recipient may read.

They are maintained with the rollups (at posting, reversal, consent changes and expiry) so that
a report reads a few hundred rows instead of counting distinct persons under consent over the
person-level rollups. A recipient is a programme (``programme`` + its region code: regional
statistics) or an enterprise (``enterprise`` + its id: ESG reporting). Like the rollups they are
derived data, rebuilt from the entries and consents, and carry no foreign keys.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Index, Text
from sqlmodel import Field, SQLModel


class ReleasedDaily(SQLModel, table=True):
    """Sums of the rollup rows a recipient's consents cover: unit x day x behaviour x methodology.

    ``unit`` is the district for a programme and the enterprise itself for an enterprise.
    """

    __tablename__ = "released_daily"
    # the key (recipient, unit, day, ...) serves the reports' reads: no second index to keep

    recipient_kind: str = Field(primary_key=True, max_length=16)
    recipient_id: str = Field(primary_key=True, max_length=64)
    unit: str = Field(primary_key=True, max_length=40)
    local_date: date = Field(primary_key=True)
    behaviour_code: str = Field(primary_key=True, max_length=64)
    methodology_key: str = Field(primary_key=True, max_length=80)
    entries: int = Field(default=0, sa_type=BigInteger)
    quantity_milli: int = Field(default=0, sa_type=BigInteger)
    reduction_mg: int = Field(default=0, sa_type=BigInteger)
    project_emission_mg: int = Field(default=0, sa_type=BigInteger)
    business_entries: int = Field(default=0, sa_type=BigInteger)
    business_project_emission_mg: int = Field(default=0, sa_type=BigInteger)


class ReleasedPresence(SQLModel, table=True):
    """The days a person counts for a recipient in one year, as counted into ``released_count``.

    ``days`` maps ``unit behaviour`` to a bitmap of the year's days (bit 0 = 1 January, hex),
    covering only days with entries that a consent counted for the recipient covers.
    """

    __tablename__ = "released_presence"
    __table_args__ = (
        Index("ix_released_presence_recipient", "recipient_kind", "recipient_id", "person_id"),
    )

    person_id: str = Field(primary_key=True, max_length=40)  # first: posting reads by person
    recipient_kind: str = Field(primary_key=True, max_length=16)
    recipient_id: str = Field(primary_key=True, max_length=64)
    methodology_key: str = Field(primary_key=True, max_length=80)
    year: int = Field(primary_key=True)
    days: str = Field(sa_type=Text)


class ReleasedCount(SQLModel, table=True):
    """Distinct persons a recipient's consents count in a region node (or the enterprise), a
    predefined partition and a scope (``all``, ``c:<category>`` or ``b:<behaviour>``)."""

    __tablename__ = "released_count"

    recipient_kind: str = Field(primary_key=True, max_length=16)
    recipient_id: str = Field(primary_key=True, max_length=64)
    methodology_key: str = Field(primary_key=True, max_length=80)
    node: str = Field(primary_key=True, max_length=40)
    partition: str = Field(primary_key=True, max_length=40)
    scope: str = Field(primary_key=True, max_length=72)
    persons: int = Field(default=0, sa_type=BigInteger)


class ReleasedPending(SQLModel, table=True):
    """A person whose presence (and so the counters) waits to be recomputed from the rollups.

    Posting marks the persons of a batch here instead of recomputing them: the distinct-person
    counters are brought up to date before any report reads them (and by the scheduler), which
    keeps their Python work off the posting path.
    """

    __tablename__ = "released_pending"

    person_id: str = Field(primary_key=True, max_length=40)
