"""The conformance suite's pull tests, on a small pull connector against a mock provider.

The built-in pull connectors run the suite against the provider simulators; here a connector
small enough to read shows that the pull tests pass a correct pager and catch broken ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx
import pytest

from carbonhub.connectors.base import (
    ConnectorInfo,
    Normalized,
    Page,
    ProviderAccount,
    ProviderConfig,
    ProviderEvent,
    ProviderOAuth,
    PushRequest,
)
from carbonhub.connectors.http import request_json
from carbonhub.connectors.records import BadRecord, instant, malformed, reject_location, text
from carbonhub.connectors.testing import AccountLinker, BadSample, ConnectorConformance, GoodSample
from carbonhub.connectors.testing.pull import walk_pages

BASE_URL = "https://metro.example"
RIDES = [
    {"id": f"M1-{n}", "card": "M1", "at": f"2023-07-0{n}T08:00:00+08:00", "mode": "metro"}
    for n in range(1, 6)
]


def provider(request: httpx.Request) -> httpx.Response:
    """Rides after position ``after``, two at a time."""
    if request.headers.get("authorization") != "Bearer token-m1":
        return httpx.Response(401)
    after = int(request.url.params.get("after", "0"))
    page = RIDES[after : after + 2]
    end = after + len(page)
    return httpx.Response(200, json={"rides": page, "next": end, "more": end < len(RIDES)})


class MetroConnector:
    """A pull connector of metro rides; its cursor is the position of the last ride seen."""

    info = ConnectorInfo(
        slug="metro-example",
        name="Metro (test)",
        version="1.0.0",
        behaviours=frozenset({"transport.metro"}),
        categories=frozenset({"transport"}),
        pull=True,
        push=False,
        config_model=ProviderConfig,
    )

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http

    def oauth(self) -> ProviderOAuth | None:
        return ProviderOAuth(f"{BASE_URL}/oauth/authorize", f"{BASE_URL}/oauth/token", "rides")

    async def fetch(self, account: ProviderAccount, cursor: str | None) -> Page:
        body = await request_json(
            self.http,
            "GET",
            f"{self.config.base_url}/rides",
            token=account.access_token,
            params={"after": cursor or "0"},
        )
        return Page(tuple(body["rides"]), str(body["next"]), body["more"])

    def verify(self, request: PushRequest) -> list[Mapping[str, Any]]:
        raise NotImplementedError("metro rides are pulled")

    def normalize(self, record: Mapping[str, Any]) -> Normalized:
        if not isinstance(record, Mapping):
            return malformed(record, "", "id", "card")
        located = reject_location(record, "id", "card")
        if located is not None:
            return located
        try:
            return ProviderEvent(
                external_id=text(record, "id"),
                account=text(record, "card"),
                behaviour="transport.metro",
                occurred_at=instant(record, "at"),
                measures={"ride": Decimal(1)},
            )
        except BadRecord as exc:
            return malformed(record, str(exc), "id", "card")


async def link_m1(connector: Any, http: httpx.AsyncClient) -> ProviderAccount:
    """The mock provider's only account (no OAuth dance against a mock)."""
    return ProviderAccount("M1", "token-m1")


class TestMetroConformance(ConnectorConformance):
    connector_class = MetroConnector
    config = {"base_url": BASE_URL}  # noqa: RUF012
    good_samples = tuple(GoodSample(ride, "transport.metro") for ride in RIDES)
    bad_samples = (BadSample({**RIDES[0], "at": "yesterday"}, "malformed"),)

    @pytest.fixture
    def provider_account(self) -> AccountLinker:
        return link_m1

    @pytest.fixture
    def http_transport(self) -> httpx.AsyncBaseTransport:
        return httpx.MockTransport(provider)


class ScriptedPages:
    """A connector whose pages are scripted: cursor -> Page."""

    def __init__(self, pages: Mapping[str | None, Page]) -> None:
        self.pages = pages

    async def fetch(self, account: ProviderAccount, cursor: str | None) -> Page:
        return self.pages[cursor]


def walk(pages: Mapping[str | None, Page], max_pages: int = 10) -> list[str]:
    connector: Any = ScriptedPages(pages)
    return asyncio.run(walk_pages(connector, ProviderAccount("M1", "t"), max_pages)).problems


def test_given_a_cursor_going_back_when_walked_then_the_revisit_is_a_problem() -> None:
    ride = ({"id": "r"},)
    pages = {None: Page(ride, "2", True), "2": Page(ride, "4", True), "4": Page(ride, "2", True)}

    assert walk(pages) == ["page 3: next_cursor '2' (after '4') was visited before"]


def test_given_more_pages_promised_at_an_unchanged_cursor_then_the_stall_is_a_problem() -> None:
    pages = {None: Page(({"id": "r"},), "1", True), "1": Page((), "1", True)}

    assert walk(pages) == [
        "page 2: has_more is true but the cursor stayed '1', so a sync run would never end"
    ]


def test_given_pages_without_end_when_walked_then_the_bound_stops_it() -> None:
    pages = {None if n == 0 else str(n): Page(({"id": n},), str(n + 1), True) for n in range(5)}

    assert walk(pages, max_pages=3) == ["has_more was still true after 3 pages (max_pages)"]


def test_given_records_appearing_after_the_final_cursor_then_the_suite_fails() -> None:
    class Leaky(MetroConnector):
        async def fetch(self, account: ProviderAccount, cursor: str | None) -> Page:
            page = await super().fetch(account, cursor)
            if cursor == str(len(RIDES)):  # fetching again from the end
                return Page(({**RIDES[0], "id": "M1-new"},), cursor, False)
            return page

    class TestLeaky(TestMetroConformance):
        connector_class = Leaky

    with pytest.raises(AssertionError, match="gave unseen records"):
        TestLeaky().test_pull_final_cursor_yields_nothing_new(
            {"base_url": BASE_URL}, httpx.MockTransport(provider), link_m1
        )
