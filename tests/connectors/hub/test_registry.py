"""The connector registry: entry-point discovery, enabled vs optional, configuration."""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from carbonhub.connectors.registry import GROUP, ConnectorRegistry
from carbonhub.errors import ConfigurationError, NotFound
from carbonhub.settings import Settings


def ep(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group=GROUP)


GOOD = ep("cups", "tests.connectors.hub.plugins:CupConnector")
BROKEN_IMPORT = ep("ghost", "tests.connectors.hub.no_such_module:Connector")
NOT_A_PLUGIN = ep("noinfo", "tests.connectors.hub.plugins:NoInfo")
BAD_SLUG = ep("badslug", "tests.connectors.hub.plugins:BadSlugConnector")


def test_given_every_installed_connector_optional_when_one_is_broken_then_it_is_logged_and_skipped(
    caplog: pytest.LogCaptureFixture,
):
    with caplog.at_level(logging.WARNING, logger="carbonhub.connectors.registry"):
        registry = ConnectorRegistry.from_settings(
            Settings(), available=[GOOD, BROKEN_IMPORT, NOT_A_PLUGIN, BAD_SLUG]
        )

    assert registry.slugs() == ["cups"]
    skipped = " ".join(r.getMessage() for r in caplog.records)
    assert "ghost skipped" in skipped
    assert "noinfo skipped" in skipped
    assert "badslug skipped" in skipped


def test_given_an_enabled_connector_that_is_not_installed_then_startup_stops_naming_it():
    with pytest.raises(ConfigurationError, match=r"transit.*not installed; installed: cups"):
        ConnectorRegistry.from_settings(Settings(connectors="cups,transit"), available=[GOOD])


def test_given_an_enabled_connector_that_fails_to_import_then_startup_stops_with_the_reason():
    with pytest.raises(ConfigurationError, match=r"ghost cannot start: importing .* failed"):
        ConnectorRegistry.from_settings(Settings(connectors="ghost"), available=[BROKEN_IMPORT])


def test_given_enabled_connectors_then_only_those_are_loaded():
    registry = ConnectorRegistry.from_settings(
        Settings(connectors="cups"), available=[GOOD, BROKEN_IMPORT]
    )

    assert registry.slugs() == ["cups"]
    with pytest.raises(NotFound):
        registry.get("ghost")


def test_given_a_connectors_file_then_each_connector_gets_its_table_as_validated_config(
    tmp_path: Path,
):
    file = tmp_path / "connectors.toml"
    file.write_text('[cups]\nbase_url = "http://127.0.0.1:9"\npage_size = 50\n', encoding="utf-8")

    registry = ConnectorRegistry.from_settings(
        Settings(connectors="cups", connectors_file=file), available=[GOOD]
    )

    config = registry.get("cups").config
    assert config.model_dump()["page_size"] == 50
    assert config.model_dump()["base_url"] == "http://127.0.0.1:9"


def test_given_an_invalid_config_for_an_enabled_connector_then_startup_names_the_field(
    tmp_path: Path,
):
    file = tmp_path / "connectors.toml"
    file.write_text('[cups]\npage_size = "many"\nsurprise = 1\n', encoding="utf-8")

    with pytest.raises(ConfigurationError, match=r"cups cannot start: configuration.*page_size"):
        ConnectorRegistry.from_settings(
            Settings(connectors="cups", connectors_file=file), available=[GOOD]
        )


def test_given_a_connectors_file_that_is_not_toml_then_the_error_names_the_file(tmp_path: Path):
    file = tmp_path / "connectors.toml"
    file.write_text("[cups\n", encoding="utf-8")

    with pytest.raises(ConfigurationError, match="not valid TOML"):
        ConnectorRegistry.from_settings(Settings(connectors_file=file), available=[GOOD])


def test_given_the_installed_distribution_then_the_builtins_are_registered_as_entry_points():
    from importlib.metadata import entry_points

    names = {e.name for e in entry_points(group=GROUP)}

    assert {"bikeshare", "takeaway", "logistics", "transit", "csv"} <= names
