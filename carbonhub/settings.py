"""The one settings object of carbonhub, read from the environment (prefix ``CARBONHUB_``)."""

from __future__ import annotations

from enum import StrEnum
from ipaddress import ip_network
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import limits
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    """Where carbonhub runs; production turns off every developer convenience."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Runtime configuration. Every field can be set as ``CARBONHUB_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="CARBONHUB_", extra="ignore")

    database_url: str = "sqlite:///./carbonhub.db"
    database_pool_size: int = Field(
        default=20,
        ge=1,
        le=500,
        description="PostgreSQL connections each process keeps open; requests beyond them wait for one (SQLite: unused).",
    )
    database_pool_overflow: int = Field(
        default=0,
        ge=0,
        le=500,
        description="Extra PostgreSQL connections opened under a burst and closed after use.",
    )
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
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where clients reach the hub: the OAuth issuer; the token audience is <public_url>/graphql.",
    )
    access_token_minutes: int = Field(default=5, ge=1, le=60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    authorization_code_seconds: int = Field(default=60, ge=10, le=600)
    session_hours: int = Field(default=12, ge=1, le=720)
    signing_key_file: Path | None = Field(
        default=None,
        description="A PEM private key (RSA or EC P-256) that signs access tokens; without it the hub generates one and keeps it in the database.",
    )
    password_time_cost: int = Field(default=3, ge=1, description="Argon2id iterations.")
    password_memory_kib: int = Field(
        default=65536, ge=8, description="Argon2id memory in KiB (RFC 9106: 64 MiB)."
    )

    connectors: str | None = Field(
        default=None,
        description="Comma-separated slugs of the connectors to enable (each must load); unset: every installed connector, a broken one skipped with a log line.",
    )
    connectors_file: Path | None = Field(
        default=None,
        description="A TOML file with one table per connector slug holding its configuration (base_url, client_id, client_secret, signing_secret ...).",
    )
    token_encryption_keys: SecretStr | None = Field(
        default=None,
        description="Comma-separated Fernet keys encrypting provider tokens at rest; the first encrypts, all decrypt (rotation). Required in production; in development the hub generates one and keeps it in the database.",
    )
    sync_interval_s: int = Field(
        default=900, ge=0, description="Seconds between the periodic syncs inside serve (0: none)."
    )
    sync_concurrency: int = Field(default=8, ge=1, le=64, description="Accounts fetched at once.")
    sync_retries: int = Field(
        default=5, ge=0, le=20, description="Retries of a failed provider request."
    )
    sync_backoff_s: float = Field(
        default=0.5, ge=0, description="First retry delay; doubles each retry, with jitter."
    )
    sync_backoff_max_s: float = Field(default=30.0, ge=0, description="Longest retry delay.")
    sync_max_failures: int = Field(
        default=5, ge=1, description="Failed syncs in a row after which an account is suspended."
    )
    push_window_s: int = Field(
        default=300, ge=10, le=3600, description="Replay window of signed pushes, in seconds."
    )

    # Rate limits
    rate_limit_enabled: bool = Field(
        default=True,
        description="Answer callers over their request rate with HTTP 429 and Retry-After (carbonhub.ratelimit).",
    )
    rate_limit_per_ip: str = Field(
        default="300/minute",
        description="Requests one client IP may make to /graphql, /oauth/*, /reports/*, /account/* and /consent/* (N/second, N/minute, N/hour or N/day).",
    )
    rate_limit_per_client: str = Field(
        default="600/minute",
        description="Requests one OAuth client may make with its bearer tokens (a citizen's token: that client and citizen) and at the token endpoint.",
    )
    rate_limit_token_endpoint: str = Field(
        default="20/minute",
        description="POSTs one client IP may make to /oauth/token and the login form (credential brute-force guard).",
    )
    rate_limit_trusted_proxies: str = Field(
        default="",
        description="Comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed; empty: the TCP peer is the client.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis holding the rate-limit counters, shared by every replica (redis://, rediss://, redis+unix://, redis+sentinel://, redis+cluster://); unset: in-process memory.",
    )

    @field_validator("rate_limit_per_ip", "rate_limit_per_client", "rate_limit_token_endpoint")
    @classmethod
    def _one_rate(cls, value: str) -> str:
        try:
            rates = list(limits.parse_many(value))
        except ValueError:
            rates = []
        if len(rates) != 1 or rates[0].amount < 1:
            raise ValueError(
                f"{value!r} is not one rate limit: write a positive count per period, "
                "like '300/minute' or '20 per hour' (set rate_limit_enabled=false to turn limits off)"
            )
        return value

    @field_validator("rate_limit_trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        try:
            networks = [
                ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip()
            ]
        except ValueError as exc:
            raise ValueError(f"rate_limit_trusted_proxies: {exc}") from None
        return ",".join(str(network) for network in networks)

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        schemes = {"redis", "rediss", "redis+unix", "redis+sentinel", "redis+cluster"}
        if value is not None and urlsplit(value).scheme.removeprefix("async+") not in schemes:
            raise ValueError(f"redis_url must start with one of {', '.join(sorted(schemes))}://")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def issuer(self) -> str:
        """The OAuth issuer identifier (``iss`` of every token)."""
        return self.public_url.rstrip("/")

    @property
    def audience(self) -> str:
        """The resource the access tokens are for: this hub's GraphQL API."""
        return f"{self.issuer}/graphql"

    @property
    def is_production(self) -> bool:
        """True when running as a production deployment."""
        return self.env == Environment.PRODUCTION

    # GraphQL limits
    graphql_max_depth: int = Field(
        default=12,
        ge=1,
        description="Deepest field nesting an operation may have (top-level fields are depth 0).",
    )
    graphql_max_aliases: int = Field(
        default=30,
        ge=0,
        description="Aliased fields an operation may have, counted through its fragments.",
    )
    graphql_max_tokens: int = Field(
        default=2000,
        ge=100,
        description="Lexical tokens a document may have; longer ones are refused while parsing.",
    )
    graphql_max_root_fields: int = Field(
        default=10,
        ge=1,
        description="Top-level fields an operation may have, aliases and fragments included.",
    )
    graphql_max_cost: int = Field(
        default=10_000,
        ge=1,
        description="Largest static cost of an operation: each field costs 1 or its @cost weight, a list field times its size (first, or @listSize).",
    )
    graphql_max_body_bytes: int = Field(
        default=1_048_576,
        ge=1024,
        description="Largest /graphql request body in bytes; larger ones get 413.",
    )
    graphql_introspection: bool | None = Field(
        default=None,
        description="Answer __schema and __type queries; unset: on in development, off in production (_service and __typename always answer).",
    )

    # Trusted documents
    trusted_documents_required_for: str = Field(
        default="",
        description="Comma-separated client kinds (agency, enterprise, app, connector, operator) that may run only the GraphQL documents registered for them (carbonhub clients documents); empty: none.",
    )
