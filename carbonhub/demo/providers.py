"""The demo's data providers: simulators on 127.0.0.1, connectors configured for them, and
citizens linking their provider accounts through each provider's real OAuth page.

Also used by tests and benchmarks that need linked accounts: :func:`link_simulated` plays the
citizen in the browser (open the provider's consent page, approve it, come back to the hub's
callback), everything else is the hub's own linking code.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from carbonhub.connectors.linking import LinkFailed, LinkTerms
from carbonhub.connectors.registry import GROUP, ConnectorRegistry, load
from carbonhub.connectors.service import Connectors
from carbonhub.connectors.simulators import (
    SimulatorError,
    SimulatorOptions,
    SimulatorServer,
    approve_url,
)
from carbonhub.db import write_session
from carbonhub.hub import Hub
from carbonhub.models import LinkedAccount

PROVIDER_SLUGS = ("bikeshare", "transit", "takeaway", "logistics")
ACCOUNT_LETTER = {"bikeshare": "B", "takeaway": "T", "logistics": "L", "transit": "M"}
STARTUP_SECONDS = 30
SIGNING_SECRET = "demo-signing-secret"  # noqa: S105  (the simulated providers' shared secret)


def account_id(slug: str, number: int) -> str:
    """The simulator's id of account ``number`` (1-based) at provider ``slug``."""
    return f"{ACCOUNT_LETTER[slug]}{number:06d}"


@dataclass(frozen=True, slots=True)
class RunningProviders:
    """Simulators that are serving (their base URLs by slug) and the connectors that reach them."""

    urls: Mapping[str, str]
    options: SimulatorOptions
    page_size: int = 500  # connectors cap it at what their provider allows

    def config(self, slug: str) -> dict[str, Any]:
        """The connectors-file table of ``slug``."""
        return {
            "base_url": self.urls[slug],
            "client_id": self.options.client_id,
            "client_secret": self.options.client_secret,
            "signing_secret": SIGNING_SECRET,
            "page_size": self.page_size,
        }

    def toml(self) -> str:
        """A connectors file for ``CARBONHUB_CONNECTORS_FILE`` (e.g. for ``carbonhub sync``)."""
        lines = []
        for slug in self.urls:
            lines.append(f"[{slug}]")
            lines.extend(f"{key} = {_toml(value)}" for key, value in self.config(slug).items())
            lines.append("")
        return "\n".join(lines)

    def connectors(self, hub: Hub) -> Connectors:
        """The hub's connectors with every simulated provider enabled (plus the csv import)."""
        found = {ep.name: ep for ep in entry_points(group=GROUP)}
        loaded = [load(found[slug], self.config(slug)) for slug in self.urls]
        loaded.append(load(found["csv"], {}))
        return Connectors(hub, ConnectorRegistry(loaded))


@contextmanager
def running_providers(
    options: SimulatorOptions,
    slugs: Sequence[str] = PROVIDER_SLUGS,
    *,
    page_size: int = 500,
) -> Iterator[RunningProviders]:
    """Serve a simulator of each provider in this process (threads; for tests)."""
    with ExitStack() as stack:
        urls = {
            slug: stack.enter_context(SimulatorServer(slug, options)).base_url for slug in slugs
        }
        yield RunningProviders(urls, options, page_size)


@contextmanager
def provider_processes(
    options: SimulatorOptions,
    slugs: Sequence[str] = PROVIDER_SLUGS,
    *,
    page_size: int = 500,
) -> Iterator[RunningProviders]:
    """Serve each provider's simulator in a process of its own (``carbonhub simulate``).

    The demo and the benchmarks use processes so that the providers' work does not compete
    with the hub's for one interpreter lock, as it would not in a real city.
    """
    processes: list[subprocess.Popen[bytes]] = []
    try:
        urls = {}
        for slug in slugs:
            port = _free_port()
            processes.append(
                subprocess.Popen(  # noqa: S603  (our own CLI, arguments from our own options)
                    _simulate_command(slug, port, options),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            urls[slug] = f"http://127.0.0.1:{port}"
        for (slug, url), process in zip(urls.items(), processes, strict=True):
            _wait_until_serving(slug, url, process)
        yield RunningProviders(urls, options, page_size)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _simulate_command(slug: str, port: int, options: SimulatorOptions) -> list[str]:
    return [
        sys.executable, "-c", "from carbonhub.cli import main; main()", "simulate", slug,
        "--port", str(port), "--seed", str(options.seed), "--accounts", str(options.accounts),
        "--start", options.start.isoformat(), "--end", options.end.isoformat(),
        "--activity", str(options.activity), "--error-rate", str(options.error_rate),
        "--duplicate-rate", str(options.duplicate_rate),
        "--malformed-rate", str(options.malformed_rate), "--latency-ms", str(options.latency_ms),
        "--client-id", options.client_id, "--client-secret", options.client_secret,
    ]  # fmt: skip


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_serving(slug: str, url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SimulatorError(f"the {slug} simulator exited with {process.returncode}")
        try:
            httpx.get(f"{url}/oauth/authorize", timeout=1.0)
        except httpx.TransportError:
            time.sleep(0.1)
            continue
        return
    raise SimulatorError(f"the {slug} simulator did not start within {STARTUP_SECONDS} s")


def link_simulated(
    connectors: Connectors,
    person_id: str,
    slug: str,
    account: str,
    *,
    now: datetime,
    terms: LinkTerms | None = None,
    browser: httpx.Client | None = None,
) -> LinkedAccount:
    """Link ``account`` at a simulated provider to ``person_id`` through the provider's pages.

    ``browser``: the HTTP client standing in for the citizen's browser (reuse one for many).
    """
    with write_session(connectors.hub.engine) as session:
        url = connectors.linking.start(session, person_id, slug, terms or LinkTerms(), now=now)
    location = approve_url(url, account, client=browser)
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
