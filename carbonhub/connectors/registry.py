"""Discovering connectors through entry points and loading the enabled ones with their config.

Built-in connectors are registered in carbonhub's own ``pyproject.toml`` under the
``carbonhub.connectors`` group, exactly like a third-party plugin. The app factory and the CLI
build one :class:`ConnectorRegistry` from the settings:

- ``CARBONHUB_CONNECTORS`` unset: every installed connector is optional; one that fails to
  import, is not a valid plugin or lacks its configuration is logged and skipped.
- ``CARBONHUB_CONNECTORS=a,b``: exactly those; any that is missing or broken stops startup
  with a :class:`~carbonhub.errors.ConfigurationError` naming it.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from carbonhub.connectors.base import (
    SLUG_PATTERN,
    Connector,
    ConnectorConfig,
    ConnectorInfo,
    ConnectorPlugin,
)
from carbonhub.errors import ConfigurationError, NotFound
from carbonhub.settings import Settings

GROUP = "carbonhub.connectors"
log = logging.getLogger(__name__)


class PluginError(Exception):
    """An installed connector cannot be used (import error, bad metadata, bad configuration)."""


@dataclass(slots=True)
class LoadedConnector:
    """An enabled connector: its plugin (class) and its validated configuration."""

    plugin: ConnectorPlugin
    config: ConnectorConfig
    _offline: Connector | None = field(default=None, repr=False, compare=False)

    @property
    def info(self) -> ConnectorInfo:
        """What the connector declares about itself."""
        return self.plugin.info

    def open(self, http: httpx.AsyncClient) -> Connector:
        """A connector instance using ``http`` for its provider requests."""
        return self.plugin(self.config, http)

    def offline(self) -> Connector:
        """An instance for work without the network (normalize, verify, oauth), made once."""
        if self._offline is None:
            self._offline = self.plugin(self.config, _offline_client())
        return self._offline


class ConnectorRegistry:
    """The enabled connectors of a running hub, by slug."""

    def __init__(self, loaded: Iterable[LoadedConnector]) -> None:
        self._by_slug = {c.info.slug: c for c in loaded}

    @classmethod
    def from_settings(
        cls, settings: Settings, *, available: Iterable[EntryPoint] | None = None
    ) -> ConnectorRegistry:
        """Load the connectors the settings enable (see the module docstring for the rules)."""
        found = {ep.name: ep for ep in (available or entry_points(group=GROUP))}
        configs = read_connectors_file(settings.connectors_file)
        enabled = _enabled(settings.connectors)
        unknown = sorted(set(configs) - set(found))
        if unknown:
            log.warning(
                "connectors file configures %s, which no installed package provides", unknown
            )
        if enabled is None:
            return cls(_optional(found, configs))
        missing = [slug for slug in enabled if slug not in found]
        if missing:
            raise ConfigurationError(
                f"connector(s) {', '.join(missing)} enabled in CARBONHUB_CONNECTORS but not "
                f"installed; installed: {', '.join(sorted(found)) or 'none'}"
            )
        loaded = []
        for slug in enabled:
            try:
                loaded.append(load(found[slug], configs.get(slug, {})))
            except PluginError as exc:
                raise ConfigurationError(f"connector {slug} cannot start: {exc}") from exc
        return cls(loaded)

    def get(self, slug: str) -> LoadedConnector:
        """The enabled connector ``slug``, or NotFound."""
        try:
            return self._by_slug[slug]
        except KeyError:
            raise NotFound(f"no enabled connector {slug!r}") from None

    def slugs(self) -> list[str]:
        """The enabled connectors' slugs, sorted."""
        return sorted(self._by_slug)

    def all(self) -> list[LoadedConnector]:
        """The enabled connectors, by slug."""
        return [self._by_slug[s] for s in self.slugs()]

    def __contains__(self, slug: object) -> bool:
        return slug in self._by_slug


def load(entry_point: EntryPoint, raw_config: Mapping[str, Any]) -> LoadedConnector:
    """Import one entry point, check it is a connector plugin, validate its configuration."""
    try:
        plugin = entry_point.load()
    except Exception as exc:  # any import-time failure of third-party code
        raise PluginError(
            f"importing {entry_point.value} failed: {type(exc).__name__}: {exc}"
        ) from exc
    info = getattr(plugin, "info", None)
    if not isinstance(info, ConnectorInfo) or not callable(plugin):
        raise PluginError(
            f"{entry_point.value} is not a connector class with a ConnectorInfo `info`"
        )
    problems = check_info(info)
    if info.slug != entry_point.name:
        problems.append(
            f"its slug {info.slug!r} differs from the entry point name {entry_point.name!r}"
        )
    if problems:
        raise PluginError("; ".join(problems))
    try:
        config = info.config_model.model_validate(dict(raw_config))
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors()
        )
        raise PluginError(f"configuration is not valid: {details}") from None
    return LoadedConnector(plugin, config)


def check_info(info: ConnectorInfo) -> list[str]:
    """What is wrong with a connector's declared metadata (empty when nothing is)."""
    problems = []
    if not re.fullmatch(SLUG_PATTERN, info.slug):
        problems.append(f"slug {info.slug!r} does not match {SLUG_PATTERN}")
    if not info.behaviours:
        problems.append("it declares no behaviours")
    if not (info.pull or info.push or info.names_persons):
        problems.append("it neither pulls nor accepts pushes")
    if not (isinstance(info.config_model, type) and issubclass(info.config_model, BaseModel)):
        problems.append("its config_model is not a pydantic model")
    return problems


def _offline_client() -> httpx.AsyncClient:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"offline connector instance may not call {request.url}")

    return httpx.AsyncClient(transport=httpx.MockTransport(refuse), trust_env=False)


def read_connectors_file(path: Path | None) -> dict[str, dict[str, Any]]:
    """The connectors file's tables by slug (empty without a file)."""
    if path is None:
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"cannot read the connectors file {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"the connectors file {path} is not valid TOML: {exc}") from exc
    tables = {k: v for k, v in document.items() if isinstance(v, dict)}
    if len(tables) != len(document):
        raise ConfigurationError(f"the connectors file {path} must hold one table per connector")
    return tables


def _enabled(setting: str | None) -> list[str] | None:
    if setting is None or not setting.strip() or setting.strip() == "*":
        return None
    return [s.strip() for s in setting.split(",") if s.strip()]


def _optional(
    found: Mapping[str, EntryPoint], configs: Mapping[str, Mapping[str, Any]]
) -> list[LoadedConnector]:
    loaded = []
    for slug in sorted(found):
        try:
            loaded.append(load(found[slug], configs.get(slug, {})))
        except PluginError as exc:
            # an installed connector nobody configured is normal; a broken one is worth a warning
            level = (
                logging.WARNING
                if slug in configs or "configuration" not in str(exc)
                else logging.INFO
            )
            log.log(level, "connector %s skipped: %s", slug, exc)
    return loaded
