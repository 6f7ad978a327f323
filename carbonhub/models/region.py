"""Regions by GB/T 2260 administrative division code."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class Region(SQLModel, table=True):
    """An administrative region (province-level municipality, district...).

    Attributes:
        code: the six-digit GB/T 2260 code, e.g. ``110108`` for Haidian.
        level: ``province`` or ``district`` (the levels carbonhub ships).
        parent_code: the enclosing region, None for province-level regions.
    """

    __tablename__ = "region"

    code: str = Field(primary_key=True, max_length=6)
    name_zh: str = Field(max_length=64)
    name_en: str = Field(max_length=128)
    level: str = Field(max_length=16)
    parent_code: str | None = Field(
        default=None, foreign_key="region.code", index=True, max_length=6
    )
