"""Helpers of the built-in connector tests: connectors pointed at simulators, sync-like pulls."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from carbonhub.connectors.base import (
    Connector,
    Page,
    ProviderAccount,
    ProviderConfig,
    ProviderEvent,
    ProviderUnavailable,
    RecordRejection,
)
from carbonhub.connectors.builtin.bikeshare import BikeshareConnector
from carbonhub.connectors.builtin.logistics import LogisticsConnector
from carbonhub.connectors.builtin.takeaway import TakeawayConnector
from carbonhub.connectors.builtin.transit import TransitConnector
from carbonhub.connectors.simulators import SimulatorServer, link_account
from tests.connectors.simulators.helpers import account

CONNECTORS: dict[str, Any] = {
    "bikeshare": BikeshareConnector,
    "takeaway": TakeawayConnector,
    "logistics": LogisticsConnector,
    "transit": TransitConnector,
}
PROVIDER_SLUGS = sorted(CONNECTORS)
RETRIES = 100  # a faulty provider's 5xx are retried at once (the runner backs off; tests need not)


@dataclass
class Pull:
    """What pulling pages until ``has_more`` was false delivered."""

    records: list[Mapping[str, Any]] = field(default_factory=list)
    cursors: list[str | None] = field(default_factory=list)
    retries: int = 0

    @property
    def final_cursor(self) -> str | None:
        return self.cursors[-1] if self.cursors else None

    def ids(self, provider: str) -> list[str]:
        """The ids of the records, as delivered (duplicates and malformed extras included)."""
        id_field = {"bikeshare": "ride_id", "takeaway": "order_no"}.get(provider)
        id_field = id_field or {"logistics": "waybill_no", "transit": "trip_id"}[provider]
        return [str(r.get(id_field)) for r in self.records]


PUSH_SECRET = b"push-secret"
_NO_NETWORK = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(599)))


def offline(provider: str) -> Connector:
    """A connector that never reaches a provider (for normalize and verify tests)."""
    config = ProviderConfig(
        base_url="http://127.0.0.1:9", signing_secret=SecretStr(PUSH_SECRET.decode())
    )
    connector: Connector = CONNECTORS[provider](config, _NO_NETWORK)
    return connector


def linked(server: SimulatorServer, provider: str, n: int) -> ProviderAccount:
    """Account n linked through the code flow: its id and a fresh access token."""
    tokens = link_account(server.base_url, account(provider, n))
    return ProviderAccount(subject=tokens["account_id"], access_token=tokens["access_token"])


async def _pull(
    provider: str,
    server: SimulatorServer,
    who: ProviderAccount,
    cursor: str | None,
    page_size: int,
    max_pages: int,
) -> Pull:
    pull = Pull()
    async with httpx.AsyncClient() as http:
        config = ProviderConfig(base_url=server.base_url, page_size=page_size)
        connector: Connector = CONNECTORS[provider](config, http)
        for _ in range(max_pages):
            try:
                page = await connector.fetch(who, cursor)
            except ProviderUnavailable:
                pull.retries += 1
                if pull.retries > RETRIES:
                    raise
                continue
            pull.records.extend(page.records)
            pull.cursors.append(page.next_cursor)
            cursor = page.next_cursor
            if not page.has_more:
                return pull
    raise AssertionError(f"has_more was still true after {max_pages} pages")


def pull(
    provider: str,
    server: SimulatorServer,
    who: ProviderAccount,
    cursor: str | None = None,
    *,
    page_size: int = 7,
    max_pages: int = 500,
) -> Pull:
    """Fetch from ``cursor`` until the provider has nothing more, as a sync run does."""
    return asyncio.run(_pull(provider, server, who, cursor, page_size, max_pages))


def fetch_once(
    provider: str, server: SimulatorServer, who: ProviderAccount, cursor: str | None = None
) -> Page:
    """One ``fetch`` (its exception propagates)."""

    async def once() -> Page:
        async with httpx.AsyncClient() as http:
            connector: Connector = CONNECTORS[provider](
                ProviderConfig(base_url=server.base_url), http
            )
            return await connector.fetch(who, cursor)

    return asyncio.run(once())


def normalized(
    provider: str, records: list[Mapping[str, Any]]
) -> tuple[dict[str, ProviderEvent], list[RecordRejection]]:
    """The events by external id (a duplicate must normalise identically) and all rejections."""
    connector = offline(provider)
    events: dict[str, ProviderEvent] = {}
    rejections: list[RecordRejection] = []
    for record in records:
        result = connector.normalize(record)
        if isinstance(result, RecordRejection):
            rejections.append(result)
        elif events.setdefault(result.external_id, result) != result:
            raise AssertionError(f"{result.external_id} normalised to two different events")
    return events, rejections
