"""What each built-in connector declares: registration, behaviours, OAuth endpoints."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from carbonhub.connectors.base import ConnectorInfo, ProviderConfig
from carbonhub.connectors.simulators import create_simulator
from carbonhub.methodology import packaged_registry
from tests.connectors.builtin.support import CONNECTORS, PROVIDER_SLUGS, offline


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_the_entry_point_names_the_connector_class(provider: str) -> None:
    (found,) = entry_points(group="carbonhub.connectors", name=provider)

    assert found.load() is CONNECTORS[provider]


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_the_slug_is_the_module_name_and_the_behaviours_are_catalogued(provider: str) -> None:
    info: ConnectorInfo = CONNECTORS[provider].info
    catalogue = packaged_registry().catalogue

    categories = {catalogue.category_of()[code] for code in info.behaviours}

    assert info.slug == provider == CONNECTORS[provider].__module__.rsplit(".", 1)[1]
    assert categories == set(info.categories)
    assert info.pull is True
    assert info.push is (provider in {"takeaway", "logistics"})
    assert info.config_model is ProviderConfig


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_the_oauth_endpoints_and_scope_are_the_simulated_providers(provider: str) -> None:
    oauth = offline(provider).oauth()
    simulator = create_simulator(provider).state.simulator

    assert oauth is not None
    assert oauth.authorize_url == "http://127.0.0.1:9/oauth/authorize"
    assert oauth.token_url == "http://127.0.0.1:9/oauth/token"
    assert oauth.scope == simulator.spec.scope
