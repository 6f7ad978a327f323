"""The four built-in connectors pass the connector conformance suite, pulling from simulators."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import httpx
import pytest

from carbonhub.connectors.base import Connector, ProviderAccount
from carbonhub.connectors.builtin.bikeshare import BikeshareConnector
from carbonhub.connectors.builtin.logistics import LogisticsConnector
from carbonhub.connectors.builtin.takeaway import TakeawayConnector
from carbonhub.connectors.builtin.transit import TransitConnector
from carbonhub.connectors.simulators import SimulatorServer, link_account
from carbonhub.connectors.testing import AccountLinker, BadSample, ConnectorConformance, GoodSample
from tests.connectors.builtin.samples import ORDER, RIDE, TRIP, WAYBILL
from tests.connectors.simulators.helpers import account, busiest

SECRET = "conformance-signing-secret"


class SimulatedProvider(ConnectorConformance):
    """Pull tests against the provider's simulator, linking its busiest account."""

    provider: ClassVar[str]
    fuzz_examples = 100

    @pytest.fixture
    def simulator(self, serve: Callable[..., SimulatorServer]) -> SimulatorServer:
        return serve(self.provider)

    @pytest.fixture
    def connector_config(self, simulator: SimulatorServer) -> Mapping[str, Any]:
        return {**self.config, "base_url": simulator.base_url, "page_size": 25}

    @pytest.fixture
    def provider_account(self, simulator: SimulatorServer) -> AccountLinker:
        who = account(self.provider, busiest(simulator, self.provider))

        async def link(connector: Connector, http: httpx.AsyncClient) -> ProviderAccount:
            tokens = await asyncio.to_thread(link_account, simulator.base_url, who)
            return ProviderAccount(tokens["account_id"], tokens["access_token"])

        return link


class TestBikeshareConformance(SimulatedProvider):
    provider = "bikeshare"
    connector_class = BikeshareConnector
    good_samples = (GoodSample(RIDE, "transport.bike_share"),)
    bad_samples = (
        BadSample({**RIDE, "vehicle": "ebike"}, "not_covered"),
        BadSample({**RIDE, "distance_m": -5}, "malformed"),
    )


class TestTakeawayConformance(SimulatedProvider):
    provider = "takeaway"
    connector_class = TakeawayConnector
    config: ClassVar[Mapping[str, Any]] = {"signing_secret": SECRET}
    good_samples = (GoodSample(ORDER, "food.no_utensils"),)
    bad_samples = (
        BadSample({**ORDER, "status": "cancelled"}, "cancelled"),
        BadSample({**ORDER, "tableware": "standard"}, "not_green"),
        BadSample({**ORDER, "paid_at": "yesterday"}, "malformed"),
    )
    push_body = b'{"orders": [{"order_no": "T000009-000001", "uid": "T000009", "paid_at": 1688000000, "tableware": "none", "status": "completed"}]}'


class TestLogisticsConformance(SimulatedProvider):
    provider = "logistics"
    connector_class = LogisticsConnector
    config: ClassVar[Mapping[str, Any]] = {"signing_secret": SECRET}
    good_samples = (GoodSample(WAYBILL, "use.e_waybill"),)
    bad_samples = (
        BadSample({**WAYBILL, "electronic": False}, "not_covered"),
        BadSample({**WAYBILL, "pieces": 0}, "malformed"),
    )
    push_body = b'{"items": [{"waybill_no": "L000009-000001", "receiver_id": "L000009", "signed_at": 1688000000000, "electronic": true, "pieces": 1}]}'


class TestTransitConformance(SimulatedProvider):
    provider = "transit"
    connector_class = TransitConnector
    good_samples = (
        GoodSample(TRIP, "transport.metro"),
        GoodSample(
            {
                **TRIP,
                "trip_id": "M000001-000002",
                "mode": "bus",
                "tap_in": "2023-06-15T10:02:00Z",
                "tap_out": "2023-06-15T10:20:00Z",
                "distance_km": "4.6",
            },
            "transport.bus",
        ),
    )
    bad_samples = (
        BadSample({**TRIP, "mode": "ferry"}, "not_covered"),
        BadSample({**TRIP, "distance_km": "NaN"}, "malformed"),
    )
