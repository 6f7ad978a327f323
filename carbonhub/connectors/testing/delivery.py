"""The standard tests of delivery: signed pushes (push connectors), paging (pull connectors)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest

from carbonhub.connectors.base import (
    Connector,
    InvalidPush,
    ProviderAccount,
    ProviderEvent,
    PushRequest,
    RecordRejection,
)
from carbonhub.connectors.testing.base import AccountLinker, ConformanceBase
from carbonhub.connectors.testing.pull import Walk, record_key, walk_pages

STALE = timedelta(hours=1)  # far outside any replay window
T = TypeVar("T")


class PushTests(ConformanceBase):
    """Signed pushes: accepted when signed right, refused otherwise (skipped for pull-only)."""

    def push_request(self, body: bytes, headers: Mapping[str, str], at: datetime) -> PushRequest:
        """A push as the hub hands it to ``verify``: lower-case header names, the secret."""
        lowered = {name.lower(): value for name, value in headers.items()}
        return PushRequest(lowered, body, at, secret=self.push_secret)

    def pushed(self) -> bytes:
        """The sample push body (skips the push tests of connectors that take no pushes)."""
        if not self.info.push:
            pytest.skip(f"{self.info.slug} accepts no pushes (info.push is false)")
        if self.push_body is None:
            pytest.fail(f"{type(self).__name__} must set push_body (a push connector)")
        return self.push_body

    def test_push_signed_request_verifies(self, connector: Connector) -> None:
        body, now = self.pushed(), datetime.now(UTC)
        records = connector.verify(
            self.push_request(body, self.sign(body, self.push_secret, now), now)
        )
        outcomes = [connector.normalize(r) for r in records]
        assert records, "the sample push carried no records"
        assert any(isinstance(o, ProviderEvent) for o in outcomes), outcomes

    def test_push_wrong_signature_is_refused(self, connector: Connector) -> None:
        body, now = self.pushed(), datetime.now(UTC)
        headers = self.sign(body, b"another-" + self.push_secret, now)
        with pytest.raises(InvalidPush):
            connector.verify(self.push_request(body, headers, now))

    def test_push_tampered_body_is_refused(self, connector: Connector) -> None:
        body, now = self.pushed(), datetime.now(UTC)
        headers = self.sign(body, self.push_secret, now)
        with pytest.raises(InvalidPush):
            connector.verify(self.push_request(body + b" ", headers, now))

    def test_push_stale_timestamp_is_refused(self, connector: Connector) -> None:
        body, now = self.pushed(), datetime.now(UTC)
        headers = self.sign(body, self.push_secret, now - STALE)
        with pytest.raises(InvalidPush):
            connector.verify(self.push_request(body, headers, now))

    def test_push_unsigned_request_is_refused(self, connector: Connector) -> None:
        body, now = self.pushed(), datetime.now(UTC)
        with pytest.raises(InvalidPush):
            connector.verify(self.push_request(body, {"content-type": "application/json"}, now))

    def test_without_push_verify_is_not_implemented(self, connector: Connector) -> None:
        if self.info.push:
            pytest.skip(f"{self.info.slug} accepts pushes (info.push is true)")
        request = PushRequest({}, b"{}", datetime.now(UTC), secret=self.push_secret)
        with pytest.raises(NotImplementedError):
            connector.verify(request)


class PullTests(ConformanceBase):
    """Paging from cursor None to the end against a live provider (skipped for push-only)."""

    def pulls(self) -> None:
        """Skip a pull test of a connector that does not pull."""
        if not self.info.pull:
            pytest.skip(f"{self.info.slug} does not pull (info.pull is false)")

    def pulling(self, linker: AccountLinker | None) -> AccountLinker:
        """The account linker (skips the pull tests of connectors that do not pull)."""
        self.pulls()
        if linker is None:
            pytest.fail(f"{type(self).__name__} must override the provider_account fixture")
        return linker

    def run_pulled(
        self,
        config: Mapping[str, Any],
        transport: httpx.AsyncBaseTransport | None,
        linker: AccountLinker,
        work: Callable[[Connector, ProviderAccount], Awaitable[T]],
    ) -> T:
        """Run ``work`` with a connector on a fresh HTTP client and a linked account."""

        async def main() -> T:
            async with httpx.AsyncClient(transport=transport) as http:
                connector = self.plugin(self.validated(config), http)
                return await work(connector, await linker(connector, http))

        return asyncio.run(main())

    def walked(
        self,
        config: Mapping[str, Any],
        transport: httpx.AsyncBaseTransport | None,
        linker: AccountLinker,
    ) -> tuple[Walk, Walk]:
        """Every page from the beginning, then a second walk from the final cursor."""

        async def twice(connector: Connector, account: ProviderAccount) -> tuple[Walk, Walk]:
            walk = await walk_pages(connector, account, self.max_pages)
            if walk.problems:
                return walk, Walk()
            page = await connector.fetch(account, walk.final_cursor)
            return walk, Walk(pages=1, records=list(page.records))

        return self.run_pulled(config, transport, linker, twice)

    def test_pull_oauth_names_the_provider_endpoints(self, connector: Connector) -> None:
        self.pulls()
        oauth = connector.oauth()
        assert oauth is not None, "a pull connector links accounts through the provider's OAuth"
        for url in (oauth.authorize_url, oauth.token_url):
            assert httpx.URL(url).scheme in {"http", "https"}, url
            assert httpx.URL(url).host, url

    def test_pull_pages_advance_to_the_end(
        self,
        connector: Connector,
        connector_config: Mapping[str, Any],
        http_transport: httpx.AsyncBaseTransport | None,
        provider_account: AccountLinker | None,
    ) -> None:
        walk, _ = self.walked(connector_config, http_transport, self.pulling(provider_account))
        assert walk.problems == []
        assert walk.records, "the linked account delivered no records; link one with history"
        outcomes = [connector.normalize(r) for r in walk.records]
        assert all(isinstance(o, ProviderEvent | RecordRejection) for o in outcomes)

    def test_pull_final_cursor_yields_nothing_new(
        self,
        connector_config: Mapping[str, Any],
        http_transport: httpx.AsyncBaseTransport | None,
        provider_account: AccountLinker | None,
    ) -> None:
        walk, after = self.walked(connector_config, http_transport, self.pulling(provider_account))
        assert walk.problems == []
        seen = walk.seen()
        new = [r for r in after.records if record_key(r) not in seen]
        assert new == [], f"fetching again from {walk.final_cursor!r} gave unseen records"

    def test_without_pull_fetch_is_not_implemented(self, connector: Connector) -> None:
        if self.info.pull:
            pytest.skip(f"{self.info.slug} pulls (info.pull is true)")

        async def fetch() -> None:
            await connector.fetch(ProviderAccount("conformance", "token"), None)

        with pytest.raises(NotImplementedError):
            asyncio.run(fetch())
