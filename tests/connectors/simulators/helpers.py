"""Helpers of the simulator and built-in connector tests: a clock to move, requests, tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from carbonhub.connectors.simulators import SimulatorServer, link_account

LETTERS = {"bikeshare": "B", "takeaway": "T", "logistics": "L", "transit": "M"}
DATA_REQUESTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "bikeshare": ("GET", "/v1/rides", {"params": {"limit": 500}}),
    "takeaway": ("GET", "/open/api/orders", {"params": {"page": 1, "page_size": 200}}),
    "logistics": ("POST", "/api/v2/waybills/query", {"json": {"offset": 0, "limit": 500}}),
    "transit": ("GET", "/api/trips", {"params": {"limit": 500}}),
}
RECORD_LISTS = {
    "bikeshare": "rides",
    "takeaway": "orders",
    "logistics": "items",
    "transit": "trips",
}
ID_FIELDS = {
    "bikeshare": "ride_id",
    "takeaway": "order_no",
    "logistics": "waybill_no",
    "transit": "trip_id",
}


class Clock:
    """A clock the test moves (the simulator's "now")."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def stop_all(servers: list[SimulatorServer]) -> None:
    """Stop simulators, asking them all first (each takes about 0.1 s to wind down)."""
    for server in servers:
        server.request_stop()
    for server in servers:
        server.stop()


def busiest(server: SimulatorServer, provider: str) -> int:
    """The number of the simulator's account with the most records (so pages are not empty)."""
    state = server.app.state.simulator
    return max(
        range(1, state.options.accounts + 1),
        key=lambda n: len(state.history(account(provider, n)).records),
    )


def account(provider: str, n: int = 1) -> str:
    """The provider's n-th account id (``B000001``)."""
    return f"{LETTERS[provider]}{n:06d}"


def records_of(provider: str, answer: httpx.Response) -> list[dict[str, Any]]:
    """The records of a data answer, wherever the provider puts them."""
    body = answer.json()
    data = body["data"] if provider == "takeaway" else body
    records: list[dict[str, Any]] = data[RECORD_LISTS[provider]]
    return records


def data_request(
    http: httpx.Client, server: SimulatorServer, token: str | None, provider: str
) -> httpx.Response:
    """The provider's first data page (largest page size) with ``token``."""
    method, path, kwargs = DATA_REQUESTS[provider]
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return http.request(method, server.base_url + path, headers=headers, **kwargs)


def linked_token(server: SimulatorServer, provider: str, n: int = 1) -> str:
    """An access token of the provider's n-th account."""
    token: str = link_account(server.base_url, account(provider, n))["access_token"]
    return token
