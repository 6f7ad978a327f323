"""Fixtures for the hub's side of connectors: a hub with the ``cups`` test plugin enabled."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from datetime import date, datetime, timedelta
from importlib.metadata import EntryPoint
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from carbonhub.app import create_app
from carbonhub.auth.clients import create_client
from carbonhub.auth.scopes import ClientKind
from carbonhub.connectors.linking import LinkTerms
from carbonhub.connectors.registry import GROUP, ConnectorRegistry, load
from carbonhub.connectors.runner import SyncReport
from carbonhub.connectors.service import Connectors
from carbonhub.connectors.signing import signed_headers
from carbonhub.connectors.simulators import SimulatorOptions
from carbonhub.consent.service import ConsentTerms
from carbonhub.db import read_session, write_session
from carbonhub.demo.providers import RunningProviders, account_id, link_simulated, running_providers
from carbonhub.hub import Hub
from carbonhub.models import LedgerEntry, LinkedAccount, utcnow

SECRET = "cups-signing-secret"
CUPS = EntryPoint(name="cups", value="tests.connectors.hub.plugins:CupConnector", group=GROUP)
RAISING = EntryPoint(
    name="raising", value="tests.connectors.hub.plugins:RaisingConnector", group=GROUP
)


@pytest.fixture
def connectors(hub: Hub) -> Connectors:
    """The hub with the cups and raising test plugins enabled (signing secret set)."""
    config = {"signing_secret": SECRET}
    return Connectors(hub, ConnectorRegistry([load(CUPS, config), load(RAISING, config)]))


@pytest.fixture
def app_client(hub: Hub, connectors: Connectors) -> Iterator[TestClient]:
    """The app over HTTP, with those connectors and no periodic sync."""
    app = create_app(hub=hub, connectors=connectors, scheduler=False)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield client


@pytest.fixture
def connector_token(hub: Hub, app_client: TestClient) -> Callable[[str], str]:
    """An access token of a new connector client for ``slug`` (client credentials)."""

    def token(slug: str = "cups") -> str:
        with write_session(hub.engine) as session:
            client = create_client(session, kind=ClientKind.CONNECTOR, name=slug, connector=slug)
        assert client.client_secret is not None
        answer = app_client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(client.client_id, client.client_secret),
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    return token


@pytest.fixture
def link(hub: Hub) -> Callable[..., str]:
    """Link ``member`` at ``slug`` to ``person_id``, with an ingest consent unless told not to."""

    def make(person_id: str, member: str, slug: str = "cups", *, consent: bool = True) -> str:
        now = utcnow()
        with write_session(hub.engine) as session:
            consent_id = None
            if consent:
                terms = ConsentTerms(
                    "data_ingest", slug, ("use",), date(2023, 1, 1), date(2027, 1, 1),
                    now + timedelta(days=365),
                )  # fmt: skip
                consent_id = hub.consents().grant(session, person_id, terms, now=now).id
            account = LinkedAccount(
                id=f"la_{member}", person_id=person_id, connector=slug, subject=member,
                consent_id=consent_id,
            )  # fmt: skip
            session.add(account)
        return account.id

    return make


def refill(
    record_id: str, member: str, at: str = "2023-07-01T09:00:00+08:00", **extra: Any
) -> dict[str, Any]:
    """A cups provider record."""
    return {"id": record_id, "member": member, "at": at, **extra}


def signed_push(
    client: TestClient,
    token: str | None,
    records: list[Any],
    *,
    slug: str = "cups",
    secret: str = SECRET,
    now: datetime | None = None,
) -> httpx.Response:
    """POST a signed push of ``records`` as the cups provider would."""
    body = json.dumps({"refills": records}).encode()
    headers = signed_headers(secret.encode(), body, now or utcnow())
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.post(f"/connectors/{slug}/events", content=body, headers=headers)


# -- simulated providers ----------------------------------------------------------------------

SEASON = {"start": date(2023, 7, 1), "end": date(2023, 7, 20)}
LINK_TERMS = LinkTerms(data_from=date(2023, 1, 1), data_to=date(2024, 12, 31))


def fast_hub(hub: Hub, **settings: Any) -> Hub:
    """The hub with quick retries (tests never wait seconds for a backoff)."""
    changed = hub.settings.model_copy(
        update={"sync_backoff_s": 0.01, "sync_backoff_max_s": 0.05, **settings}
    )
    return replace(hub, settings=changed)


@pytest.fixture
def providers() -> Callable[..., Any]:
    """Start simulators: ``providers(slugs, **options)`` -> RunningProviders (stopped after)."""
    stack = ExitStack()

    def start(
        slugs: tuple[str, ...] = ("bikeshare",), *, page_size: int = 200, **options: Any
    ) -> RunningProviders:
        merged = {"accounts": 6, **SEASON, **options}
        simulators = running_providers(SimulatorOptions(**merged), slugs, page_size=page_size)
        return stack.enter_context(simulators)

    with stack:
        yield start


@pytest.fixture
def linked(make_person: Callable[..., str]) -> Callable[..., list[str]]:
    """Link accounts 1..n of each provider to new persons (one person per account number)."""

    def make(
        connectors: Connectors,
        count: int,
        slugs: tuple[str, ...] = ("bikeshare",),
        make: Callable[..., str] = make_person,
    ) -> list[str]:
        persons = [make(consents=False) for _ in range(count)]
        for number, person in enumerate(persons, start=1):
            for slug in slugs:
                link_simulated(
                    connectors,
                    person,
                    slug,
                    account_id(slug, number),
                    now=utcnow(),
                    terms=LINK_TERMS,
                )
        return persons

    return make


def ledger_of(hub: Hub) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Every entry by (source, external id): what a correct sync must produce, order aside."""
    with read_session(hub.engine) as session:
        rows = session.scalars(select(LedgerEntry))
        return {
            (e.source, e.external_id): (
                e.person_id, e.behaviour_code, e.quantity_milli, e.unit, e.reduction_mg, e.status,
                e.occurred_at,
            )
            for e in rows
        }  # fmt: skip


def sync(connectors: Connectors, **runner: Any) -> SyncReport:
    """Run one sync to its end."""
    return asyncio.run(connectors.runner(**runner).sync())
