"""Small key/value facts about the hub itself (e.g. which demo data set was built)."""

from __future__ import annotations

from sqlalchemy import Text
from sqlmodel import Field, SQLModel


class HubMetadata(SQLModel, table=True):
    """A named fact about this hub's database."""

    __tablename__ = "hub_metadata"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_type=Text)
