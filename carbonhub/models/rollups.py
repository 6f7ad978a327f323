"""Rollups kept in the same transaction as the ledger entries they sum.

Reports read these, never the raw entries. They are derived data, rebuilt from the entries by
``carbonhub ledger rebuild-rollups``, so they carry no foreign keys: the entries they sum do,
and a key check per rollup row would cost posting more than writing the row. Amounts are per methodology (``methodology_key`` is
``id@version``), in milligrams CO2e and thousandths of the methodology's unit.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel


class RegionDailyRollup(SQLModel, table=True):
    """Region (district) x local day x behaviour x methodology totals."""

    __tablename__ = "region_daily_rollup"
    __table_args__ = (
        Index("ix_region_daily_rollup_report", "methodology_key", "region_code", "local_date"),
    )

    region_code: str = Field(primary_key=True, max_length=6)
    local_date: date = Field(primary_key=True)
    behaviour_code: str = Field(primary_key=True, max_length=64)
    methodology_key: str = Field(primary_key=True, max_length=80)
    entries: int = Field(default=0, sa_type=BigInteger)
    quantity_milli: int = Field(default=0, sa_type=BigInteger)
    reduction_mg: int = Field(default=0, sa_type=BigInteger)


class PersonDailyRollup(SQLModel, table=True):
    """Person x local day x behaviour x methodology totals.

    It answers caps (how much was credited today or this month), a person's ledger totals, and
    the distinct-participant counts of regional reports (with the district lived in that day).
    """

    __tablename__ = "person_daily_rollup"
    __table_args__ = (
        Index(
            "ix_person_daily_rollup_participants",
            "methodology_key",
            "region_code",
            "local_date",
            "person_id",
        ),
    )

    person_id: str = Field(primary_key=True, max_length=40)
    local_date: date = Field(primary_key=True)
    behaviour_code: str = Field(primary_key=True, max_length=64)
    methodology_key: str = Field(primary_key=True, max_length=80)
    region_code: str = Field(max_length=6)
    entries: int = Field(default=0, sa_type=BigInteger)
    counted: int = Field(default=0, sa_type=BigInteger)
    quantity_milli: int = Field(default=0, sa_type=BigInteger)
    reduction_mg: int = Field(default=0, sa_type=BigInteger)


class EnterpriseDailyRollup(SQLModel, table=True):
    """Enterprise x employee x local day x behaviour x methodology totals.

    Person-level so that consent (per employee, category and data window) can be compiled into
    the report's SQL; ``project_emission_mg`` feeds the Scope 3 estimates, and the
    ``business_*`` columns hold the part of the row marked business travel (category 6, the
    rest of commuting modes being category 7).
    """

    __tablename__ = "enterprise_daily_rollup"
    __table_args__ = (
        Index(
            "ix_enterprise_daily_rollup_report", "enterprise_id", "methodology_key", "local_date"
        ),
    )

    enterprise_id: str = Field(primary_key=True, max_length=40)
    person_id: str = Field(primary_key=True, max_length=40)
    local_date: date = Field(primary_key=True)
    behaviour_code: str = Field(primary_key=True, max_length=64)
    methodology_key: str = Field(primary_key=True, max_length=80)
    entries: int = Field(default=0, sa_type=BigInteger)
    quantity_milli: int = Field(default=0, sa_type=BigInteger)
    reduction_mg: int = Field(default=0, sa_type=BigInteger)
    project_emission_mg: int = Field(default=0, sa_type=BigInteger)
    business_entries: int = Field(default=0, sa_type=BigInteger)
    business_project_emission_mg: int = Field(default=0, sa_type=BigInteger)
