"""The four data APIs as API.md specifies them: paging, cursors, "now", parameter checks."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from carbonhub.connectors.simulators import SimulatorServer
from tests.connectors.simulators.helpers import (
    Clock,
    data_request,
    linked_token,
    records_of,
)

Serve = Callable[..., SimulatorServer]
Shared = Callable[[str], SimulatorServer]


def get(http: httpx.Client, server: SimulatorServer, token: str, path: str, **params: Any) -> Any:
    """A GET answered 200, as JSON."""
    answer = http.get(
        server.base_url + path, params=params, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def query_waybills(
    http: httpx.Client, server: SimulatorServer, token: str, body: Any
) -> httpx.Response:
    """A logistics query with ``body`` as its JSON."""
    headers = {"Authorization": f"Bearer {token}"}
    return http.post(f"{server.base_url}/api/v2/waybills/query", json=body, headers=headers)


def test_rides_page_by_since_id(shared: Shared, http: httpx.Client) -> None:
    server = shared("bikeshare")
    token = linked_token(server, "bikeshare")
    everything = get(http, server, token, "/v1/rides", limit=500)

    page = get(http, server, token, "/v1/rides", since_id=2, limit=3)

    assert [r["ride_id"] for r in page["rides"]] == [r["ride_id"] for r in everything["rides"][2:5]]
    assert page["next_since_id"] == 5
    assert page["has_more"] is True


def test_rides_after_the_last_one_are_none_and_the_position_stays(
    shared: Shared, http: httpx.Client
) -> None:
    server = shared("bikeshare")
    token = linked_token(server, "bikeshare")
    total = len(get(http, server, token, "/v1/rides", limit=500)["rides"])

    page = get(http, server, token, "/v1/rides", since_id=total + 7)

    assert page == {"rides": [], "next_since_id": total + 7, "has_more": False}


def test_orders_come_in_numbered_pages(shared: Shared, http: httpx.Client) -> None:
    server = shared("takeaway")
    token = linked_token(server, "takeaway")
    everything = get(http, server, token, "/open/api/orders", page=1, page_size=200)["data"]

    second = get(http, server, token, "/open/api/orders", page=2, page_size=4)

    orders = everything["orders"]
    assert second["code"] == 0
    assert second["data"]["orders"] == orders[4:8]
    assert second["data"]["total_pages"] == -(-len(orders) // 4)
    assert (second["data"]["page"], second["data"]["page_size"]) == (2, 4)


def test_waybills_are_queried_by_offset(shared: Shared, http: httpx.Client) -> None:
    server = shared("logistics")
    token = linked_token(server, "logistics")
    everything = query_waybills(http, server, token, {"offset": 0, "limit": 500}).json()

    answer = query_waybills(http, server, token, {"offset": 1, "limit": 2}).json()

    assert answer == {"total": everything["total"], "offset": 1, "items": everything["items"][1:3]}
    assert everything["total"] == len(everything["items"])


def test_trips_resume_at_an_opaque_cursor(shared: Shared, http: httpx.Client) -> None:
    server = shared("transit")
    token = linked_token(server, "transit")
    first = get(http, server, token, "/api/trips", limit=2)

    second = get(http, server, token, "/api/trips", cursor=first["next_cursor"], limit=2)

    padded = first["next_cursor"] + "=" * (-len(first["next_cursor"]) % 4)
    assert base64.urlsafe_b64decode(padded) == b"v1:2"
    assert "=" not in first["next_cursor"]
    assert [t["trip_id"] for t in second["trips"]] == ["M000001-000003", "M000001-000004"]


def test_trips_at_the_end_return_the_same_cursor(shared: Shared, http: httpx.Client) -> None:
    server = shared("transit")
    token = linked_token(server, "transit")
    end = get(http, server, token, "/api/trips", limit=500)["next_cursor"]

    again = get(http, server, token, "/api/trips", cursor=end)

    assert again == {"trips": [], "next_cursor": end, "has_more": False}


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/rides", {"limit": 0}),
        ("/v1/rides", {"limit": 501}),
        ("/v1/rides", {"since_id": -1}),
        ("/v1/rides", {"since_id": "three"}),
        ("/open/api/orders", {"page": 0}),
        ("/open/api/orders", {"page_size": 201}),
        ("/api/trips", {"cursor": "bm90IGEgY3Vyc29y"}),
        ("/api/trips", {"cursor": "!!"}),
        ("/api/trips", {"limit": 1000}),
    ],
)
def test_a_parameter_out_of_range_is_refused_with_400(
    shared: Shared, http: httpx.Client, path: str, params: dict[str, Any]
) -> None:
    provider = {"/v1/rides": "bikeshare", "/open/api/orders": "takeaway", "/api/trips": "transit"}
    server = shared(provider[path])
    token = linked_token(server, provider[path])

    answer = http.get(
        server.base_url + path, params=params, headers={"Authorization": f"Bearer {token}"}
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "body", [[0, 10], {"offset": -1}, {"offset": "0"}, {"limit": 501}, {"offset": 1.5}]
)
def test_a_waybill_query_out_of_range_is_refused_with_400(
    shared: Shared, http: httpx.Client, body: Any
) -> None:
    server = shared("logistics")
    token = linked_token(server, "logistics")

    answer = query_waybills(http, server, token, body)

    assert answer.status_code == 400


def test_only_records_that_have_happened_are_served(
    serve: Serve, http: httpx.Client, clock: Clock
) -> None:
    clock.now = datetime(2023, 7, 15, tzinfo=UTC)
    server = serve("bikeshare", token_ttl=10**8)
    token = linked_token(server, "bikeshare")

    before = records_of("bikeshare", data_request(http, server, token, "bikeshare"))
    clock.now = datetime(2023, 8, 15, tzinfo=UTC)
    after = records_of("bikeshare", data_request(http, server, token, "bikeshare"))

    assert before
    assert all(
        datetime.fromisoformat(r["ended_at"]) <= datetime(2023, 7, 15, tzinfo=UTC) for r in before
    )
    assert after[: len(before)] == before
    assert len(after) > len(before)


def test_the_health_endpoint_names_the_provider(shared: Shared, http: httpx.Client) -> None:
    server = shared("takeaway")

    answer = http.get(f"{server.base_url}/healthz")

    assert answer.json() == {"status": "ok", "provider": "takeaway"}
