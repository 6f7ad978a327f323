"""The connector contract: what a data provider's plugin declares and does.

A connector turns a provider's records into :class:`ProviderEvent` values (quantified activity of
one provider account: a distance, a count; never a GPS track) or :class:`RecordRejection` values
with a reason. Pull connectors also ``fetch`` pages of records from the provider's API; push
connectors ``verify`` signed requests the provider sends to the hub. The hub does the rest:
account linking, the consent gate, posting, cursors, retries.

Plugins are discovered through the ``carbonhub.connectors`` entry-point group (see
:mod:`carbonhub.connectors.registry`); each entry point names a factory
``(config, http) -> Connector``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Protocol, runtime_checkable

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

SLUG_PATTERN = r"^[a-z][a-z0-9_-]{1,63}$"


class ConnectorConfig(BaseModel):
    """A connector's configuration (one table of the connectors file); subclass it."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ProviderConfig(ConnectorConfig):
    """Configuration of a connector to a provider's OAuth-protected API.

    Attributes:
        base_url: the provider's API root (its OAuth endpoints are under it too).
        client_id, client_secret: carbonhub's client registration at the provider.
        signing_secret: the shared HMAC key of signed pushes (push connectors only).
        page_size: records asked for per page.
        timeout_s: per request.
    """

    base_url: str
    client_id: str = "carbonhub"
    client_secret: SecretStr = SecretStr("")
    signing_secret: SecretStr | None = None
    page_size: int = 200
    timeout_s: float = 10.0


@dataclass(frozen=True, slots=True)
class ProviderOAuth:
    """Where carbonhub, as the provider's OAuth client, sends citizens and exchanges codes."""

    authorize_url: str
    token_url: str
    scope: str


@dataclass(frozen=True, slots=True)
class ConnectorInfo:
    """What a connector is and delivers, declared up front (checked by the conformance suite).

    Attributes:
        slug: the connector's id; the ``source`` of its events and the recipient of ingest consents.
        behaviours: behaviour codes it may deliver, e.g. ``transport.bike_share``.
        categories: the behaviour categories those belong to (what its ingest consent covers).
        pull / push: whether it fetches from the provider's API / accepts signed pushes.
        config_model: the pydantic model of its configuration.
    """

    slug: str
    name: str
    version: str
    behaviours: frozenset[str]
    categories: frozenset[str]
    pull: bool
    push: bool
    config_model: type[ConnectorConfig] = ConnectorConfig
    description: str = ""
    names_persons: bool = False  # records name hub person ids (file imports), not provider accounts


@dataclass(frozen=True, slots=True)
class ProviderEvent:
    """One behaviour of one provider account, normalised: the connector's output.

    The hub maps ``account`` (the provider's id of the user) to a person through the linked
    account, and turns the event into a ledger ``BehaviourEvent`` with :meth:`for_person`.
    """

    external_id: str
    account: str
    behaviour: str
    occurred_at: datetime
    measures: Mapping[str, Decimal]
    reference: str | None = None
    duration_s: int | None = None
    business_travel: bool = False


@dataclass(frozen=True, slots=True)
class RecordRejection:
    """A record the connector refused, with why (counted and quarantined, never posted).

    ``reason`` is a short code (``malformed``, ``location_data``, ``not_green`` ...);
    ``detail`` says what was wrong in words; ``external_id``/``account`` when the record had them.
    """

    reason: str
    detail: str
    external_id: str | None = None
    account: str | None = None


Normalized = ProviderEvent | RecordRejection


@dataclass(frozen=True, slots=True)
class ProviderAccount:
    """A linked provider account as a connector sees it: the provider's id and a fresh token."""

    subject: str
    access_token: str


@dataclass(frozen=True, slots=True)
class Page:
    """One page of raw records and the cursor to resume after it.

    ``next_cursor`` is committed with the page's entries; ``has_more`` says whether to fetch
    again right away. A connector returns its input cursor unchanged when nothing is new.
    """

    records: tuple[Mapping[str, Any], ...]
    next_cursor: str | None
    has_more: bool


@dataclass(frozen=True, slots=True)
class PushRequest:
    """A signed push as it arrived: headers (lower-case names), the raw body, the arrival time,
    and what the hub adds for checking it: the connector's signing secret and the replay window."""

    headers: Mapping[str, str]
    body: bytes
    received_at: datetime
    secret: bytes = field(repr=False, default=b"")
    window_s: int = 300  # the hub's replay window (CARBONHUB_PUSH_WINDOW_S)


class ProviderError(Exception):
    """A provider request failed; subclasses tell the runner whether and when to retry."""

    retryable: ClassVar[bool] = False


class ProviderUnavailable(ProviderError):
    """A timeout, a connection error or a 5xx: retried with exponential backoff and jitter."""

    retryable = True


class RateLimited(ProviderError):
    """HTTP 429: retried after ``retry_after`` seconds (the provider's ``Retry-After``)."""

    retryable = True

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TokenExpired(ProviderError):
    """HTTP 401: the runner refreshes the account's token once and retries."""


class ProviderRefused(ProviderError):
    """Any other 4xx, or a response the connector cannot read: not retried."""


class InvalidPush(Exception):
    """A push whose signature, timestamp or body is not acceptable (answered 401 or 400)."""


@runtime_checkable
class Connector(Protocol):
    """A data provider's plugin.

    ``fetch`` is for pull connectors (``info.pull``), ``verify`` for push connectors
    (``info.push``); a connector that does not do one raises ``NotImplementedError`` there.
    """

    info: ConnectorInfo

    def oauth(self) -> ProviderOAuth | None:
        """The provider's OAuth endpoints for account linking, or None (no linking, e.g. csv)."""
        ...

    def fetch(self, account: ProviderAccount, cursor: str | None) -> Awaitable[Page]:
        """The page of records after ``cursor`` (None: from the beginning)."""
        ...

    def verify(self, request: PushRequest) -> list[Mapping[str, Any]]:
        """Check a push's signature and replay window; return its records, or raise InvalidPush."""
        ...

    def normalize(self, record: Mapping[str, Any]) -> Normalized:
        """A provider event, or a rejection saying why not (never raises on bad input)."""
        ...


class ConnectorPlugin(Protocol):
    """What an entry point names: a connector class (its ``info`` and its constructor)."""

    info: ConnectorInfo

    def __call__(self, config: Any, http: httpx.AsyncClient) -> Connector:
        """A connector with its validated configuration and the hub's HTTP client."""
        ...
