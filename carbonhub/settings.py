"""The one settings object of carbonhub, read from the environment (prefix ``CARBONHUB_``)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    """Where carbonhub runs; production turns off every developer convenience."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Runtime configuration. Every field can be set as ``CARBONHUB_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="CARBONHUB_", extra="ignore")

    database_url: str = "sqlite:///./carbonhub.db"
    timezone: str = "Asia/Shanghai"
    env: Environment = Environment.DEVELOPMENT
    test_postgres_url: str | None = None
    programmes_file: Path | None = Field(
        default=None,
        description="A TOML file of programmes replacing the packaged ones.",
    )
    privacy_k: int = Field(
        default=10,
        ge=2,
        description="Breakdown cells with fewer distinct persons than this are suppressed.",
    )
    posting_batch_size: int = Field(default=2000, ge=1, le=50_000)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def is_production(self) -> bool:
        """True when running as a production deployment."""
        return self.env == Environment.PRODUCTION
