"""Fixtures of the export tests: a production hub, its world, real OAuth clients and tokens.

The hub runs with production settings, so a request without a token is anonymous (the
development hub would make it the developer superuser). Tokens are real: each client gets
one from ``/oauth/token`` with the client credentials grant, as an agency's script would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from carbonhub.app import create_app
from carbonhub.auth.clients import NewClient, create_client
from carbonhub.auth.scopes import ClientKind
from carbonhub.db import write_session
from carbonhub.hub import Hub
from carbonhub.settings import Settings
from tests.fixtures.accounts import FAST_ARGON2
from tests.fixtures.actors import event
from tests.graphql.conftest import World
from tests.graphql.conftest import world as graphql_world

BASE_URL = "https://127.0.0.1:8443"
PERIOD = "2023-07"
LONELY_DISTRICT = "110119"  # Yanqing: one resident, so its cell is suppressed


@pytest.fixture
def settings(engine: Engine) -> Settings:
    """Production settings (no developer superuser) with k = 3."""
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        env="production",
        public_url=BASE_URL,
        privacy_k=3,
        **FAST_ARGON2,
    )


world = graphql_world  # the GraphQL tests' world: Haidian, Chaoyang and one employer


@pytest.fixture
def report_world(world: World, make_person: Callable[..., str], post: Callable[..., Any]) -> World:
    """The GraphQL world plus one resident of Yanqing: a district cell that must be suppressed."""
    lonely = make_person(LONELY_DISTRICT)
    post([event(lonely, "transport.bike_share", "2023-07-05 00:30", km="3", duration_s=900)])
    return world


@pytest.fixture
def make_client(hub: Hub) -> Callable[..., NewClient]:
    """Register an OAuth client of ``kind`` bound as given."""

    def make(kind: ClientKind, **binding: Any) -> NewClient:
        with write_session(hub.engine) as session:
            return create_client(session, kind=kind, name=f"{kind.value} client", **binding)

    return make


@pytest.fixture
def http(hub: Hub) -> Iterator[TestClient]:
    """An HTTP client of the whole app over https."""
    with TestClient(create_app(hub=hub), base_url=BASE_URL) as client:
        yield client


@dataclass(frozen=True)
class Tokens:
    """Access tokens of real clients, by what they are bound to."""

    beijing: str  # agency of 110000
    haidian: str  # agency of 110108
    employer: str  # the world's employer's ESG client
    other_enterprise: str  # another enterprise's ESG client


def token_of(http: TestClient, client: NewClient) -> str:
    """An access token from the token endpoint (client credentials grant)."""
    assert client.client_secret is not None
    answer = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.client_secret),
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


@pytest.fixture
def tokens(
    http: TestClient,
    world: World,
    make_client: Callable[..., NewClient],
    make_enterprise: Callable[..., str],
) -> Tokens:
    """Tokens of the Beijing and Haidian agencies and of two enterprises' ESG clients.

    On the GraphQL world, where no cell is suppressed; a test that needs a suppressed cell
    asks for ``report_world`` too.
    """
    other = make_enterprise("沪绿物流有限公司", region="310115")
    return Tokens(
        beijing=token_of(http, make_client(ClientKind.AGENCY, region_code="110000")),
        haidian=token_of(http, make_client(ClientKind.AGENCY, region_code="110108")),
        employer=token_of(http, make_client(ClientKind.ENTERPRISE, enterprise_id=world.employer)),
        other_enterprise=token_of(http, make_client(ClientKind.ENTERPRISE, enterprise_id=other)),
    )


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of ``token``."""
    return {"Authorization": f"Bearer {token}"}
