"""Fault switches: server errors, latency, rate limits, duplicates, malformed extras, shuffling."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from carbonhub.connectors.records import location_fields
from carbonhub.connectors.simulators import PROVIDERS, SimulatorServer
from carbonhub.connectors.simulators.faults import TokenBucket
from tests.connectors.simulators.helpers import (
    ID_FIELDS,
    busiest,
    data_request,
    linked_token,
    records_of,
)

Serve = Callable[..., SimulatorServer]
Shared = Callable[[str], SimulatorServer]


def first_page(http: httpx.Client, server: SimulatorServer, provider: str) -> list[dict[str, Any]]:
    """The busiest account's first page (the largest) as the simulator sends it."""
    token = linked_token(server, provider, busiest(server, provider))
    answer = data_request(http, server, token, provider)
    assert answer.status_code == 200, answer.text
    return records_of(provider, answer)


def real(provider: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records that are not injected malformed ones."""
    return [r for r in records if not str(r.get(ID_FIELDS[provider], "bad-")).startswith("bad-")]


def test_an_error_rate_of_one_answers_every_data_request_with_a_server_error(
    serve: Serve, http: httpx.Client
) -> None:
    server = serve("takeaway", error_rate=1.0)
    token = linked_token(server, "takeaway")  # OAuth is not affected

    statuses = {data_request(http, server, token, "takeaway").status_code for _ in range(20)}

    assert statuses <= {500, 502, 503}
    assert len(statuses) > 1


def test_latency_delays_every_request(serve: Serve, http: httpx.Client) -> None:
    server = serve("transit", latency_ms=40)
    token = linked_token(server, "transit")

    started = time.perf_counter()
    data_request(http, server, token, "transit")

    assert time.perf_counter() - started >= 0.04


def test_a_token_over_its_rate_limit_gets_429_with_retry_after(
    serve: Serve, http: httpx.Client
) -> None:
    server = serve("bikeshare", rate_limit=1)
    token = linked_token(server, "bikeshare")
    assert data_request(http, server, token, "bikeshare").status_code == 200

    answer = data_request(http, server, token, "bikeshare")

    assert answer.status_code == 429
    assert answer.headers["retry-after"] == "1"


def test_the_rate_limit_is_per_access_token(serve: Serve, http: httpx.Client) -> None:
    server = serve("bikeshare", rate_limit=1)
    busy, other = linked_token(server, "bikeshare", 1), linked_token(server, "bikeshare", 2)
    data_request(http, server, busy, "bikeshare")

    answer = data_request(http, server, other, "bikeshare")

    assert answer.status_code == 200


def test_a_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=1000)

    allowed = sum(bucket.take("t") for _ in range(1000))
    time.sleep(0.01)

    assert allowed == 1000
    assert bucket.take("t")


def test_duplicates_are_identical_copies_within_the_page(serve: Serve, http: httpx.Client) -> None:
    clean = first_page(http, serve("bikeshare"), "bikeshare")

    faulty = first_page(http, serve("bikeshare", duplicate_rate=0.5), "bikeshare")

    counts = Counter(r["ride_id"] for r in faulty)
    assert set(counts.values()) == {1, 2}
    assert list(dict.fromkeys(r["ride_id"] for r in faulty)) == [r["ride_id"] for r in clean]
    by_id = {r["ride_id"]: r for r in clean}
    assert all(r == by_id[r["ride_id"]] for r in faulty)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_malformed_records_are_extras_with_bad_ids(
    serve: Serve, http: httpx.Client, provider: str
) -> None:
    clean = first_page(http, serve(provider), provider)

    faulty = first_page(http, serve(provider, malformed_rate=0.5), provider)

    bad = [r for r in faulty if r not in real(provider, faulty)]
    assert real(provider, faulty) == clean
    assert 0.2 * len(clean) <= len(bad) <= 0.8 * len(clean)
    assert all(r[ID_FIELDS[provider]].startswith("bad-") for r in bad)


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_some_malformed_records_carry_coordinates_or_a_track(
    serve: Serve, http: httpx.Client, provider: str
) -> None:
    server = serve(provider, malformed_rate=3.0)

    faulty = first_page(http, server, provider)

    bad = [r for r in faulty if r not in real(provider, faulty)]
    with_location = [r for r in bad if location_fields(r)]
    assert 0 < len(with_location) < len(bad)


def test_a_shuffled_page_holds_the_same_records_in_another_order(
    serve: Serve, http: httpx.Client
) -> None:
    clean = first_page(http, serve("transit"), "transit")

    shuffled = first_page(http, serve("transit", shuffle=True), "transit")

    assert shuffled != clean
    assert sorted(shuffled, key=lambda r: r["trip_id"]) == clean


def test_faults_leave_the_paging_as_it_was(serve: Serve, http: httpx.Client) -> None:
    clean, faulty = (
        serve("bikeshare"),
        serve("bikeshare", duplicate_rate=0.3, malformed_rate=0.3, shuffle=True),
    )
    pages = []
    for server in (clean, faulty):
        token = linked_token(server, "bikeshare")
        answer = http.get(
            f"{server.base_url}/v1/rides",
            params={"since_id": 3, "limit": 5},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        pages.append((answer["next_since_id"], answer["has_more"], len(answer["rides"])))

    assert pages[0][:2] == pages[1][:2]
    assert pages[1][2] > pages[0][2]
