"""Fixtures for the simulator tests: running simulators on loopback, a clock, an HTTP client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from carbonhub.connectors.simulators import SimulatorOptions, SimulatorServer
from tests.connectors.simulators.helpers import Clock, stop_all

AFTER_SEASON = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def shared() -> Iterator[Callable[[str], SimulatorServer]]:
    """Fault-free simulators (5 accounts, every record visible) shared by the tests that only read.

    Starting and stopping uvicorn costs about 0.2 s, so read-only tests share one per provider.
    """
    servers: dict[str, SimulatorServer] = {}

    def get(provider: str) -> SimulatorServer:
        if provider not in servers:
            options = SimulatorOptions(accounts=5, clock=Clock(AFTER_SEASON))
            servers[provider] = SimulatorServer(provider, options).start()
        return servers[provider]

    yield get
    stop_all(list(servers.values()))


@pytest.fixture
def clock() -> Clock:
    """A clock standing after the default season (2023-06-15..10-31): every record is visible."""
    return Clock(AFTER_SEASON)


@pytest.fixture(scope="session")
def retired() -> Iterator[list[SimulatorServer]]:
    """Simulators told to stop, waited for at the end of the session.

    uvicorn takes about 0.1 s to wind down; waiting for it after every test would add that to
    each of them, so tests only ask their servers to stop and the session waits for them all.
    """
    servers: list[SimulatorServer] = []
    yield servers
    stop_all(servers)


@pytest.fixture
def serve(clock: Clock, retired: list[SimulatorServer]) -> Iterator[Callable[..., SimulatorServer]]:
    """Start simulators (5 accounts, the test's clock unless given); stopped after the test."""
    servers: list[SimulatorServer] = []

    def start(provider: str, **switches: Any) -> SimulatorServer:
        switches.setdefault("accounts", 5)
        switches.setdefault("clock", clock)
        server = SimulatorServer(provider, SimulatorOptions(**switches)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.request_stop()
    retired.extend(servers)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A plain HTTP client that never follows redirects."""
    with httpx.Client(timeout=10, follow_redirects=False) as client:
        yield client
