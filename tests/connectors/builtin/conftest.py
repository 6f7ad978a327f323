"""Fixtures for the built-in connector tests: simulators on loopback and the clock they read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from carbonhub.connectors.simulators import SimulatorOptions, SimulatorServer
from tests.connectors.simulators.helpers import Clock, stop_all


@pytest.fixture
def clock() -> Clock:
    """A clock standing after the default season (2023-06-15..10-31): every record is visible."""
    return Clock(datetime(2024, 1, 1, tzinfo=UTC))


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
    """Start simulators (8 accounts, long-lived tokens, the test's clock); stopped after the test."""
    servers: list[SimulatorServer] = []

    def start(provider: str, **switches: Any) -> SimulatorServer:
        switches.setdefault("accounts", 8)
        switches.setdefault("token_ttl", 10**8)
        switches.setdefault("clock", clock)
        server = SimulatorServer(provider, SimulatorOptions(**switches)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.request_stop()
    retired.extend(servers)
