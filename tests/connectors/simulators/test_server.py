"""Running simulators: the background server, the options, the registry and the CLI command."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from carbonhub.cli.simulate import simulate
from carbonhub.connectors.simulators import (
    PROVIDERS,
    SimulatorError,
    SimulatorOptions,
    SimulatorServer,
    approve_url,
    create_simulator,
)
from tests.fixtures.processes import free_port


def test_a_server_on_port_zero_serves_on_a_free_loopback_port() -> None:
    with SimulatorServer("transit", SimulatorOptions(accounts=1)) as server:
        answer = httpx.get(f"{server.base_url}/healthz")

    assert answer.status_code == 200
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.port > 0


def test_a_server_serves_on_the_port_it_is_given() -> None:
    port = free_port()

    with SimulatorServer("takeaway", SimulatorOptions(accounts=1), port=port) as server:
        answer = httpx.get(f"http://127.0.0.1:{port}/healthz")

    assert answer.json()["provider"] == "takeaway"
    assert server.port == port


def test_a_stopped_server_releases_its_port() -> None:
    server = SimulatorServer("bikeshare", SimulatorOptions(accounts=1)).start()
    url = f"{server.base_url}/healthz"

    server.stop()

    with pytest.raises(httpx.ConnectError):
        httpx.get(url)
    server.stop()  # stopping twice is harmless


def test_a_server_has_no_url_before_it_starts() -> None:
    server = SimulatorServer("bikeshare")

    with pytest.raises(SimulatorError, match="not running"):
        _ = server.base_url


def test_approving_on_a_page_that_is_not_a_consent_form_fails() -> None:
    with (
        SimulatorServer("logistics", SimulatorOptions(accounts=1)) as server,
        pytest.raises(SimulatorError, match="400"),
    ):
        approve_url(f"{server.base_url}/oauth/authorize?client_id=carbonhub", "L000001")


def test_every_built_in_provider_has_a_simulator() -> None:
    assert set(PROVIDERS) == {"bikeshare", "takeaway", "logistics", "transit"}


def test_an_unknown_provider_is_named_in_the_error() -> None:
    with pytest.raises(KeyError, match="no simulator 'bank'"):
        create_simulator("bank")


@pytest.mark.parametrize(
    "switches",
    [
        {"error_rate": 1.5},
        {"duplicate_rate": -0.1},
        {"start": date(2023, 7, 2), "end": date(2023, 7, 1)},
        {"rate_limit": 0},
        {"token_ttl": 0},
        {"latency_ms": -1},
        {"client_secret": ""},
    ],
)
def test_options_that_make_no_sense_are_refused(switches: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must"):
        SimulatorOptions(**switches)


def test_the_simulate_command_serves_the_provider_with_its_switches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served: dict[str, Any] = {}

    def fake_run(app: Any, **kwargs: Any) -> None:
        served.update(
            kwargs, options=app.state.simulator.options, slug=app.state.simulator.spec.slug
        )

    monkeypatch.setattr("carbonhub.cli.simulate.uvicorn.run", fake_run)

    result = CliRunner().invoke(
        simulate,
        ["transit", "--port", "9107", "--seed", "5", "--accounts", "20", "--start", "2023-07-01",
         "--error-rate", "0.1", "--shuffle", "--rate-limit", "50"],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert (served["slug"], served["host"], served["port"]) == ("transit", "127.0.0.1", 9107)
    options = served["options"]
    assert (options.seed, options.accounts, options.start) == (5, 20, date(2023, 7, 1))
    assert (options.error_rate, options.shuffle, options.rate_limit) == (0.1, True, 50.0)
    assert options.end == date(2023, 10, 31)


def test_the_simulate_command_refuses_contradictory_switches() -> None:
    result = CliRunner().invoke(simulate, ["bikeshare", "--port", "0", "--start", "2023-11-01"])

    assert result.exit_code == 2
    assert "end must not be before start" in result.output
