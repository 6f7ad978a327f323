"""Federation fixtures: carbonhub, an HR subgraph and an Apollo gateway as real processes.

The stack starts once per test session, on loopback ports, in this order:

1. a migrated SQLite file holding a small world: an employer with three employees in Haidian
   (Alice and Bob share their data with it, Carol does not), their July 2023 bike rides, the
   OAuth clients, and Alice's citizen token from the authorisation-code flow;
2. ``carbonhub serve`` on that file with production settings (no token means anonymous);
3. ``infra/supergraph/hr-subgraph.mjs`` with a directory naming those persons;
4. ``compose.mjs`` over the SDL each subgraph serves from ``{ _service { sdl } }`` (what a
   router fetches), and ``gateway.mjs`` serving the supergraph it printed.

Alice's token comes from the authorisation-code flow run in this process against the same
database and settings (production session cookies are ``Secure``, and the served hub speaks
plain http on loopback); the enterprise token comes from the served hub's token endpoint.
Both are real tokens signed with the hub's key. Without node, or without
``infra/supergraph/node_modules`` (``make pytest`` installs it), these tests skip; under
``CI=true`` they fail instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from starlette.testclient import TestClient

from carbonhub.actors import complete_uscc, employ, register_enterprise, register_person
from carbonhub.app import create_app
from carbonhub.auth.accounts import register_citizen
from carbonhub.auth.clients import NewClient, create_client
from carbonhub.auth.passwords import PasswordHasher
from carbonhub.auth.scopes import ClientKind
from carbonhub.db import create_db_engine, write_session
from carbonhub.hub import Hub, open_hub
from carbonhub.settings import Settings
from tests.fixtures.accounts import FAST_ARGON2, PASSWORD, Citizen
from tests.fixtures.actors import event, share_everything
from tests.fixtures.database import IN_CI
from tests.fixtures.processes import Running, free_port, healthy, start
from tests.oauth.conftest import REDIRECT_URI, Browser

REPO = Path(__file__).resolve().parents[2]
SUPERGRAPH = REPO / "infra" / "supergraph"
CARBONHUB = str(Path(sys.executable).with_name("carbonhub"))
HAIDIAN = "110108"
ESG_CONTACT = "esg@jinglv.example.cn"
HR_RECORDS = [("JL-001", "Logistics"), ("JL-002", "Logistics"), ("JL-003", "Finance")]


# -- node and the supergraph tools -------------------------------------------------------------


def node_or_skip() -> str:
    """The ``node`` executable, when it and the supergraph packages are installed.

    Otherwise skip, or fail under CI=true, where the federation check must never vanish.
    """
    node = shutil.which("node")
    if node is None:
        reason = "node is not installed"
    elif not (SUPERGRAPH / "node_modules" / "@apollo" / "gateway").is_dir():
        reason = f"{SUPERGRAPH.relative_to(REPO)}/node_modules is missing (run make pytest)"
    else:
        return node
    if IN_CI:
        pytest.fail(f"CI requires the federation tests: {reason}")
    pytest.skip(f"federation tests need Node.js and the supergraph packages: {reason}")


@pytest.fixture(scope="session")
def node() -> str:
    return node_or_skip()


def node_environment() -> dict[str, str]:
    """This environment without Apollo credentials (no managed federation, no usage reports)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("APOLLO_")}
    return {**env, "APOLLO_TELEMETRY_DISABLED": "true", "NODE_ENV": "test"}


@dataclass(frozen=True)
class Composition:
    """What ``compose.mjs`` did: its exit code, the supergraph SDL (stdout) and its errors."""

    returncode: int
    supergraph: str
    stderr: str


Compose = Callable[..., Composition]


@pytest.fixture(scope="session")
def compose(node: str) -> Compose:
    """Run ``compose.mjs`` over ``name=(sdl, routing URL or None)`` subgraphs."""

    def run(directory: Path, **subgraphs: tuple[str, str | None]) -> Composition:
        pairs = []
        for name, (sdl, url) in subgraphs.items():
            path = directory / f"{name}.graphql"
            path.write_text(sdl, encoding="utf-8")
            pairs.append(f"{name}={path}" + (f"@{url}" if url else ""))
        done = subprocess.run(
            [node, "compose.mjs", *pairs],
            cwd=SUPERGRAPH,
            env=node_environment(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Composition(done.returncode, done.stdout, done.stderr)

    return run


# -- processes -----------------------------------------------------------------------------------


def said_ready(running: Running) -> bool:
    return " ready at " in running.log()


# -- GraphQL over HTTP ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    """A GraphQL HTTP answer: status, Bearer challenge, ``data`` and ``errors`` as sent."""

    status: int
    challenge: str | None
    data: dict[str, Any] | None
    errors: list[dict[str, Any]]

    @property
    def codes(self) -> list[str | None]:
        return [e.get("extensions", {}).get("code") for e in self.errors]

    def ok(self) -> dict[str, Any]:
        """The data, failing the test if there were errors."""
        assert not self.errors, self.errors
        assert self.data is not None
        return self.data

    def errors_at(self, *path: str | int) -> list[tuple[str, str | None]]:
        """(message, code) of the errors at ``path``."""
        return [
            (e["message"], e.get("extensions", {}).get("code"))
            for e in self.errors
            if tuple(e.get("path") or ()) == path
        ]


def ask(
    url: str, query: str, token: str | None = None, variables: dict[str, Any] | None = None
) -> Answer:
    """POST ``query`` to a GraphQL endpoint, with ``Authorization: Bearer token`` if given."""
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    response = httpx.post(
        url, json={"query": query, "variables": variables or {}}, headers=headers, timeout=30
    )
    body = response.json()
    return Answer(
        response.status_code,
        response.headers.get("www-authenticate"),
        body.get("data"),
        body.get("errors") or [],
    )


def served_sdl(url: str) -> str:
    """The SDL a router gets from a subgraph: ``{ _service { sdl } }``."""
    sdl: str = ask(url, "{ _service { sdl } }").ok()["_service"]["sdl"]
    return sdl


# -- the world -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    """An employer and its three employees; who shares with it; the session's tokens."""

    enterprise: str
    alice: str  # a citizen with an account; shares with the employer
    bob: str  # shares with the employer
    carol: str  # shares nothing with the employer
    alice_token: str
    enterprise_client: NewClient
    directory: dict[str, Any]

    @property
    def employees(self) -> list[str]:
        return [self.alice, self.bob, self.carol]


@dataclass(frozen=True)
class Database:
    """The session's database file and the settings every process of the hub shares."""

    settings: Settings
    carbonhub_url: str

    def environment(self) -> dict[str, str]:
        """The settings as ``CARBONHUB_*`` variables, over this environment without any."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("CARBONHUB_", "OTEL_", "APOLLO_"))
        }
        keys = self.settings.token_encryption_keys
        assert keys is not None
        return {
            **env,
            "CARBONHUB_DATABASE_URL": self.settings.database_url,
            "CARBONHUB_ENV": self.settings.env.value,
            "CARBONHUB_PUBLIC_URL": self.settings.public_url,
            "CARBONHUB_PRIVACY_K": str(self.settings.privacy_k),
            "CARBONHUB_ACCESS_TOKEN_MINUTES": str(self.settings.access_token_minutes),
            "CARBONHUB_TOKEN_ENCRYPTION_KEYS": keys.get_secret_value(),
            "CARBONHUB_SYNC_INTERVAL_S": "0",
            "CARBONHUB_CONNECTORS": "csv",  # needs no configuration
        }


@pytest.fixture(scope="session")
def database(
    node: str, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Database:
    """A copy of the migrated SQLite template and production settings for a hub on it.

    Asks for ``node`` first, so that without it nothing is built before the skip.
    """
    path = tmp_path_factory.mktemp("federation") / "carbonhub.db"
    shutil.copyfile(sqlite_template, path)
    url = f"http://127.0.0.1:{free_port()}"
    settings = Settings(
        database_url=f"sqlite:///{path}",
        env="production",
        public_url=url,
        privacy_k=2,
        access_token_minutes=60,
        token_encryption_keys=Fernet.generate_key().decode(),
        sync_interval_s=0,
        connectors="csv",
        password_time_cost=FAST_ARGON2["password_time_cost"],
        password_memory_kib=FAST_ARGON2["password_memory_kib"],
    )
    return Database(settings, url)


@pytest.fixture(scope="session")
def world(database: Database) -> Iterator[World]:
    """The employer, Alice, Bob and Carol, their July rides, the clients and Alice's token."""
    engine = create_db_engine(database.settings.database_url)
    try:
        hub = open_hub(database.settings, engine=engine, upgrade=False)
        hub.keys.load()  # the hub's signing key, before carbonhub serve starts on the file
        yield _build_world(hub)
    finally:
        engine.dispose()


def _build_world(hub: Hub) -> World:
    since = date(2023, 1, 1)
    hasher = PasswordHasher.from_settings(hub.settings)
    with write_session(hub.engine) as session:
        enterprise = register_enterprise(
            session,
            name="京绿科技有限公司",
            uscc=complete_uscc(f"91{HAIDIAN}", "20230001"),
            region_code=HAIDIAN,
        ).id
        account = register_citizen(
            session,
            hasher,
            username="alice",
            password=PASSWORD,
            home_region_code=HAIDIAN,
            since=since,
        )
        alice = account.person_id
        bob = register_person(session, home_region_code=HAIDIAN, since=since).id
        carol = register_person(session, home_region_code=HAIDIAN, since=since).id
        for person in (alice, bob, carol):
            employ(session, person_id=person, enterprise_id=enterprise, since=since)
        share_everything(hub, session, alice, HAIDIAN, enterprise)
        share_everything(hub, session, bob, HAIDIAN, enterprise)
        share_everything(hub, session, carol, HAIDIAN, None)  # the region only
        app = create_client(
            session, kind=ClientKind.APP, name="Green app", redirect_uris=(REDIRECT_URI,)
        )
        esg = create_client(
            session, kind=ClientKind.ENTERPRISE, name="ESG team", enterprise_id=enterprise
        )
    rides = [
        event(person, "transport.bike_share", f"2023-07-0{day} 00:30", km=str(km), duration_s=900)
        for day, (person, km) in enumerate([(alice, 4), (bob, 2), (carol, 3)], start=3)
    ]
    assert hub.poster().post(hub.engine, rides).posted == len(rides)
    return World(
        enterprise=enterprise,
        alice=alice,
        bob=bob,
        carol=carol,
        alice_token=_citizen_token(hub, app, Citizen(account, PASSWORD)),
        enterprise_client=esg,
        directory={
            "enterprises": [
                {
                    "id": enterprise,
                    "departments": ["Logistics", "Finance"],
                    "esgContact": ESG_CONTACT,
                }
            ],
            "people": [
                {"id": p, "enterpriseId": enterprise, "employeeNumber": number, "department": unit}
                for p, (number, unit) in zip((alice, bob, carol), HR_RECORDS, strict=True)
            ],
        },
    )


def _citizen_token(hub: Hub, app: NewClient, citizen: Citizen) -> str:
    """A citizen's access token from the authorisation-code flow (sign in, approve, redeem)."""
    with TestClient(
        create_app(hub=hub, scheduler=False),
        base_url="https://127.0.0.1:8443",
        follow_redirects=False,
    ) as http:
        token: str = Browser(http).tokens(app, citizen)["access_token"]
    return token


# -- the processes -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def processes() -> Iterator[ExitStack]:
    """Stops every process the session started, last started first."""
    with ExitStack() as stack:
        yield stack


@pytest.fixture(scope="session")
def carbonhub(
    database: Database, world: World, processes: ExitStack, tmp_path_factory: pytest.TempPathFactory
) -> Running:
    """``carbonhub serve`` on the world's database (production settings)."""
    logs = tmp_path_factory.mktemp("logs")
    port = database.carbonhub_url.rsplit(":", 1)[1]
    return start(
        processes,
        [CARBONHUB, "serve", "--port", port],
        url=database.carbonhub_url,
        log_file=logs / "carbonhub.log",
        env=database.environment(),
        ready=healthy,
    )


@pytest.fixture(scope="session")
def carbonhub_graphql(carbonhub: Running) -> str:
    return f"{carbonhub.url}/graphql"


@pytest.fixture(scope="session")
def hr(
    node: str, world: World, processes: ExitStack, tmp_path_factory: pytest.TempPathFactory
) -> Running:
    """The HR subgraph, its directory naming the world's employer and employees."""
    directory = tmp_path_factory.mktemp("hr") / "directory.json"
    directory.write_text(json.dumps(world.directory), encoding="utf-8")
    port = free_port()
    return start(
        processes,
        [node, "hr-subgraph.mjs", "--port", str(port), "--directory", str(directory)],
        cwd=SUPERGRAPH,
        url=f"http://127.0.0.1:{port}/",
        log_file=directory.with_name("hr.log"),
        env=node_environment(),
        ready=said_ready,
    )


@pytest.fixture(scope="session")
def gateway(
    node: str,
    compose: Compose,
    carbonhub_graphql: str,
    hr: Running,
    processes: ExitStack,
    tmp_path_factory: pytest.TempPathFactory,
) -> str:
    """The gateway on the supergraph composed from what the two running subgraphs serve."""
    directory = tmp_path_factory.mktemp("gateway")
    composed = compose(
        directory,
        carbonhub=(served_sdl(carbonhub_graphql), carbonhub_graphql),
        hr=(served_sdl(hr.url), hr.url),
    )
    assert composed.returncode == 0, composed.stderr
    supergraph = directory / "supergraph.graphql"
    supergraph.write_text(composed.supergraph, encoding="utf-8")
    port = free_port()
    running = start(
        processes,
        [node, "gateway.mjs", "--port", str(port), "--supergraph", str(supergraph)],
        cwd=SUPERGRAPH,
        url=f"http://127.0.0.1:{port}/",
        log_file=directory / "gateway.log",
        env=node_environment(),
        ready=said_ready,
    )
    return running.url


@pytest.fixture(scope="session")
def enterprise_token(carbonhub: Running, world: World) -> str:
    """The employer's ESG client's token, from the served hub (client credentials grant)."""
    client = world.enterprise_client
    assert client.client_secret is not None
    answer = httpx.post(
        f"{carbonhub.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.client_secret),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token
