"""The demo's data providers: simulators on 127.0.0.1, connectors configured for them, and
citizens linking their provider accounts through each provider's real OAuth page.

Also used by tests and benchmarks that need linked accounts: :func:`link_simulated` plays the
citizen in the browser (open the provider's consent page, approve it, come back to the hub's
callback), everything else is the hub's own linking code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import parse_qs, urlsplit

from carbonhub.connectors.linking import LinkFailed, LinkTerms
from carbonhub.connectors.registry import GROUP, ConnectorRegistry, load
from carbonhub.connectors.service import Connectors
from carbonhub.connectors.simulators import SimulatorOptions, SimulatorServer, approve_url
from carbonhub.db import write_session
from carbonhub.hub import Hub
from carbonhub.models import LinkedAccount

PROVIDER_SLUGS = ("bikeshare", "transit", "takeaway", "logistics")
ACCOUNT_LETTER = {"bikeshare": "B", "takeaway": "T", "logistics": "L", "transit": "M"}
SIGNING_SECRET = "demo-signing-secret"  # noqa: S105  (the simulated providers' shared secret)


def account_id(slug: str, number: int) -> str:
    """The simulator's id of account ``number`` (1-based) at provider ``slug``."""
    return f"{ACCOUNT_LETTER[slug]}{number:06d}"


@dataclass(frozen=True, slots=True)
class RunningProviders:
    """Simulators that are serving, by slug, and the connector configuration that reaches them."""

    servers: Mapping[str, SimulatorServer]
    page_size: int = 200

    def config(self, slug: str) -> dict[str, Any]:
        """The connectors-file table of ``slug``."""
        options = self.servers[slug].options
        return {
            "base_url": self.servers[slug].base_url,
            "client_id": options.client_id,
            "client_secret": options.client_secret,
            "signing_secret": SIGNING_SECRET,
            "page_size": self.page_size,
        }

    def toml(self) -> str:
        """A connectors file for ``CARBONHUB_CONNECTORS_FILE`` (e.g. for ``carbonhub sync``)."""
        lines = []
        for slug in self.servers:
            lines.append(f"[{slug}]")
            lines.extend(f"{key} = {_toml(value)}" for key, value in self.config(slug).items())
            lines.append("")
        return "\n".join(lines)

    def connectors(self, hub: Hub) -> Connectors:
        """The hub's connectors with every simulated provider enabled (plus the csv import)."""
        found = {ep.name: ep for ep in entry_points(group=GROUP)}
        loaded = [load(found[slug], self.config(slug)) for slug in self.servers]
        loaded.append(load(found["csv"], {}))
        return Connectors(hub, ConnectorRegistry(loaded))


@contextmanager
def running_providers(
    options: SimulatorOptions,
    slugs: Sequence[str] = PROVIDER_SLUGS,
    *,
    page_size: int = 200,
    **per_provider: SimulatorOptions,
) -> Iterator[RunningProviders]:
    """Serve a simulator of each provider (``per_provider`` overrides ``options`` by slug)."""
    with ExitStack() as stack:
        servers = {
            slug: stack.enter_context(SimulatorServer(slug, per_provider.get(slug, options)))
            for slug in slugs
        }
        yield RunningProviders(servers, page_size)


def link_simulated(
    connectors: Connectors,
    person_id: str,
    slug: str,
    account: str,
    *,
    now: datetime,
    terms: LinkTerms | None = None,
) -> LinkedAccount:
    """Link ``account`` at a simulated provider to ``person_id`` through the provider's pages."""
    with write_session(connectors.hub.engine) as session:
        url = connectors.linking.start(session, person_id, slug, terms or LinkTerms(), now=now)
    location = approve_url(url, account)
    query = parse_qs(urlsplit(location).query)
    if "code" not in query or "state" not in query:
        raise LinkFailed(f"{slug} did not return a code: {location}")
    return asyncio.run(
        connectors.linking.complete(slug, query["state"][0], query["code"][0], now=now)
    )


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
