"""What a conformance test class declares and the fixtures every standard test uses."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

import httpx
import pytest
from pydantic import ValidationError

from carbonhub.connectors import signing
from carbonhub.connectors.base import (
    Connector,
    ConnectorConfig,
    ConnectorInfo,
    ConnectorPlugin,
    ProviderAccount,
)
from carbonhub.connectors.testing.samples import BadSample, GoodSample

AccountLinker = Callable[[Connector, httpx.AsyncClient], Awaitable[ProviderAccount]]
"""Links an account at a live provider: ``(connector, http) -> ProviderAccount``."""


def _refuse_network(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"the offline connector instance may not call {request.url}")


class ConformanceBase:
    """The declarations a test class sets, the fixtures it may override, the shared helpers."""

    connector_class: ClassVar[ConnectorPlugin]
    config: ClassVar[Mapping[str, Any]] = {}
    good_samples: ClassVar[Sequence[GoodSample]] = ()
    bad_samples: ClassVar[Sequence[BadSample]] = ()
    push_body: ClassVar[bytes | None] = None  # a sample push body with good records
    push_secret: ClassVar[bytes] = b"conformance-signing-secret"
    home_region: ClassVar[str] = "110108"  # where the replay test's stand-in persons live
    max_pages: ClassVar[int] = 1000
    fuzz_examples: ClassVar[int] = 200

    # --- fixtures a subclass may override ------------------------------------------------

    @pytest.fixture
    def connector_config(self) -> Mapping[str, Any]:
        """The raw configuration (one table of the connectors file); ``config`` by default."""
        return self.config

    @pytest.fixture
    def provider_account(self) -> AccountLinker | None:
        """For pull connectors: how to link an account at a live (or simulated) provider."""
        return None

    @pytest.fixture
    def http_transport(self) -> httpx.AsyncBaseTransport | None:
        """The transport of the pull tests' HTTP client (None: the real network)."""
        return None

    @pytest.fixture
    def connector(self, connector_config: Mapping[str, Any]) -> Iterator[Connector]:
        """An instance for offline work (normalize, verify, oauth); any request fails."""
        http = httpx.AsyncClient(transport=httpx.MockTransport(_refuse_network))
        try:
            yield self.plugin(self.validated(connector_config), http)
        finally:
            asyncio.run(http.aclose())

    # --- helpers a subclass may override -------------------------------------------------

    def sign(self, body: bytes, secret: bytes, at: datetime) -> dict[str, str]:
        """The headers the provider sends with a push (carbonhub's signed-push format)."""
        return signing.signed_headers(secret, body, at)

    def with_location(self, record: Mapping[str, Any], location: Mapping[str, Any]) -> Any:
        """``record`` carrying location data (added at its top level)."""
        return {**record, **location}

    # --- what the tests read ----------------------------------------------------------

    @property
    def plugin(self) -> ConnectorPlugin:
        """The connector class under test (``connector_class``)."""
        plugin: ConnectorPlugin | None = getattr(type(self), "connector_class", None)
        if plugin is None:
            pytest.fail(f"{type(self).__name__} must set connector_class")
        return plugin

    @property
    def info(self) -> ConnectorInfo:
        """The plugin's declared metadata."""
        info = getattr(self.plugin, "info", None)
        if not isinstance(info, ConnectorInfo):
            pytest.fail(f"{self.plugin!r} has no ConnectorInfo `info` class attribute")
        return info

    def validated(self, raw: Mapping[str, Any]) -> ConnectorConfig:
        """``raw`` validated by the plugin's config model, as the registry does."""
        try:
            return self.info.config_model.model_validate(dict(raw))
        except ValidationError as exc:
            pytest.fail(f"the sample configuration is not valid for {self.info.slug}: {exc}")

    def good(self) -> Sequence[GoodSample]:
        """The good samples (at least one is required)."""
        if not self.good_samples:
            pytest.fail(f"{type(self).__name__} must declare good_samples")
        return self.good_samples
