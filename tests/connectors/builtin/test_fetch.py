"""Pulling through ``fetch`` from real simulators on loopback: paging, cursors, errors, faults."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from carbonhub.connectors.base import (
    ProviderAccount,
    ProviderConfig,
    ProviderRefused,
    ProviderUnavailable,
    RateLimited,
    TokenExpired,
)
from carbonhub.connectors.simulators import SimulatorServer
from tests.connectors.builtin.support import (
    CONNECTORS,
    PROVIDER_SLUGS,
    fetch_once,
    linked,
    normalized,
    pull,
)
from tests.connectors.simulators.helpers import ID_FIELDS, Clock, account, busiest

Serve = Callable[..., SimulatorServer]


def history_ids(server: SimulatorServer, provider: str, n: int) -> list[str]:
    """The ids of account n's records that the simulator serves now."""
    state = server.app.state.simulator
    records, visible = state.visible(account(provider, n))
    return [r[ID_FIELDS[provider]] for r in records[:visible]]


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_pulling_to_the_end_delivers_the_whole_history_in_order(
    serve: Serve, provider: str
) -> None:
    server = serve(provider)
    n = busiest(server, provider)

    delivered = pull(provider, server, linked(server, provider, n), page_size=7)

    expected = history_ids(server, provider, n)
    assert len(expected) > 14  # several pages
    assert delivered.ids(provider) == expected
    assert len(delivered.cursors) >= len(expected) // 7


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_fetching_again_from_the_final_cursor_brings_nothing_unseen(
    serve: Serve, provider: str
) -> None:
    server = serve(provider)
    who = linked(server, provider, busiest(server, provider))
    first = pull(provider, server, who, page_size=7)

    again = pull(provider, server, who, first.final_cursor, page_size=7)

    assert set(again.ids(provider)) <= set(first.ids(provider))
    assert again.final_cursor == first.final_cursor


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_records_that_happen_later_are_fetched_from_the_saved_cursor(
    serve: Serve, clock: Clock, provider: str
) -> None:
    clock.now = datetime(2023, 8, 1, 3, 17, tzinfo=UTC)
    server = serve(provider)
    n = busiest(server, provider)
    who = linked(server, provider, n)
    before = pull(provider, server, who, page_size=5)
    clock.now = datetime(2023, 9, 1, tzinfo=UTC)

    after = pull(provider, server, who, before.final_cursor, page_size=5)

    everything = history_ids(server, provider, n)
    new = everything[len(before.ids(provider)) :]
    assert before.ids(provider) == everything[: len(before.ids(provider))]
    assert new
    assert after.ids(provider)[-len(new) :] == new
    assert set(after.ids(provider)) <= set(everything)


def test_new_orders_on_a_partial_last_page_are_seen_next_time(serve: Serve, clock: Clock) -> None:
    clock.now = datetime(2023, 7, 1, tzinfo=UTC)
    server = serve("takeaway")
    n = busiest(server, "takeaway")
    who = linked(server, "takeaway", n)
    before = pull("takeaway", server, who, page_size=50)
    assert 0 < len(before.records) < 50  # one partial page
    clock.now = datetime(2023, 7, 20, tzinfo=UTC)

    after = pull("takeaway", server, who, before.final_cursor, page_size=50)

    assert before.final_cursor == "1@50"
    assert set(after.ids("takeaway")) - set(before.ids("takeaway"))
    assert after.ids("takeaway") == history_ids(server, "takeaway", n)[:50]


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_an_account_without_records_keeps_its_cursor(serve: Serve, provider: str) -> None:
    server = serve(provider, activity=0.0)

    page = fetch_once(provider, server, linked(server, provider, 1))

    assert page.records == ()
    assert page.next_cursor is None
    assert page.has_more is False


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_a_server_error_is_provider_unavailable(serve: Serve, provider: str) -> None:
    server = serve(provider, error_rate=1.0)
    who = linked(server, provider, 1)

    with pytest.raises(ProviderUnavailable):
        fetch_once(provider, server, who)


def test_a_rate_limited_fetch_says_when_to_retry(serve: Serve) -> None:
    server = serve("transit", rate_limit=1)
    who = linked(server, "transit", 1)
    fetch_once("transit", server, who)

    with pytest.raises(RateLimited) as raised:
        fetch_once("transit", server, who)

    assert raised.value.retry_after == 1.0


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_an_unknown_token_asks_for_a_refresh(serve: Serve, provider: str) -> None:
    server = serve(provider)

    with pytest.raises(TokenExpired):
        fetch_once(provider, server, ProviderAccount(account(provider, 1), "revoked-token"))


@pytest.mark.parametrize(
    ("provider", "cursor"), [("bikeshare", "abc"), ("takeaway", "0"), ("logistics", "-3")]
)
def test_a_cursor_the_connector_did_not_issue_is_refused(
    serve: Serve, provider: str, cursor: str
) -> None:
    server = serve(provider)

    with pytest.raises(ProviderRefused, match="cursor"):
        fetch_once(provider, server, linked(server, provider, 1), cursor)


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_the_same_seed_gives_the_same_events_and_another_seed_others(
    serve: Serve, provider: str
) -> None:
    runs = []
    for seed in (11, 11, 12):
        server = serve(provider, seed=seed, accounts=2)
        events, _ = normalized(
            provider, pull(provider, server, linked(server, provider, 2), page_size=100).records
        )
        runs.append(events)

    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_a_faulty_provider_yields_exactly_the_events_of_a_fault_free_one(
    serve: Serve, provider: str
) -> None:
    clean = serve(provider)
    faulty = serve(
        provider, error_rate=0.5, duplicate_rate=0.3, malformed_rate=0.5, shuffle=True, latency_ms=1
    )
    n = busiest(clean, provider)

    clean_pull = pull(provider, clean, linked(clean, provider, n), page_size=10)
    faulty_pull = pull(provider, faulty, linked(faulty, provider, n), page_size=10)

    clean_events, _ = normalized(provider, clean_pull.records)
    faulty_events, rejections = normalized(provider, faulty_pull.records)
    reasons = {r.reason for r in rejections if (r.external_id or "").startswith("bad-")}
    assert faulty_events == clean_events
    assert len(faulty_pull.records) > len(set(faulty_pull.ids(provider))) > len(clean_pull.records)
    assert {"location_data", "malformed"} <= reasons
    assert faulty_pull.retries > 0


@pytest.mark.parametrize(
    ("provider", "answer"),
    [
        ("bikeshare", {"rides": [], "next_since_id": "3", "has_more": False}),
        ("bikeshare", [1, 2]),
        ("takeaway", {"code": 1001, "msg": "token scope"}),
        ("takeaway", {"code": False, "data": {"orders": [], "total_pages": 0}}),
        ("takeaway", {"code": 0, "data": {"orders": {}, "total_pages": 1}}),
        ("logistics", {"total": "3", "offset": 0, "items": []}),
        ("transit", {"trips": [], "next_cursor": None, "has_more": False}),
    ],
)
def test_an_answer_of_the_wrong_shape_is_refused(provider: str, answer: object) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))

    async def fetch() -> None:
        async with httpx.AsyncClient(transport=transport) as http:
            connector = CONNECTORS[provider](ProviderConfig(base_url="http://provider.test"), http)
            await connector.fetch(ProviderAccount("x", "token"), None)

    with pytest.raises(ProviderRefused):
        asyncio.run(fetch())


def test_a_takeaway_cursor_written_at_another_page_size_rereads_instead_of_skipping(
    serve: Serve,
) -> None:
    server = serve("takeaway")
    n = busiest(server, "takeaway")
    who = linked(server, "takeaway", n)
    history = history_ids(server, "takeaway", n)
    assert len(history) > 6

    resumed = pull("takeaway", server, who, "3@2", page_size=5)  # orders 5.. at size 2

    assert set(history[4:]) <= set(resumed.ids("takeaway"))
