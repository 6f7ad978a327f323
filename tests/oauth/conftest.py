"""OAuth fixtures: a production-like hub behind https, registered clients, and a browser that
walks the authorisation code flow (sign in, consent page, decision) and calls the endpoints.

``live_hub`` serves the app with uvicorn on loopback for end-to-end flows with real HTTP
clients. Everything runs on SQLite and PostgreSQL through the ``engine`` fixture. Time-dependent cases
(an expired code, an expired access token) do not sleep: they mint the code or the token through
an authorisation server whose clock is set in the past (:func:`server_app_at`) and present it to
the real app.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import uvicorn
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from carbonhub.app import create_app
from carbonhub.auth.account_pages import account_routes
from carbonhub.auth.clients import NewClient, create_client
from carbonhub.auth.endpoints import OAuthEndpoints
from carbonhub.auth.pages import Pages
from carbonhub.auth.scopes import ClientKind
from carbonhub.auth.server import HubAuthorizationServer
from carbonhub.db import write_session
from carbonhub.hub import Hub, open_hub
from carbonhub.settings import Settings
from tests.fixtures.accounts import FAST_ARGON2, Citizen

BASE_URL = "https://127.0.0.1:8443"
REDIRECT_URI = "http://127.0.0.1:9999/cb"
ME = "{ me { id } }"


@pytest.fixture
def settings(engine: Engine) -> Settings:
    """Production settings (no developer conveniences) of a hub served at ``BASE_URL``."""
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        env="production",
        public_url=BASE_URL,
        privacy_k=3,
        password_time_cost=FAST_ARGON2["password_time_cost"],
        password_memory_kib=FAST_ARGON2["password_memory_kib"],
    )


# -- clients ---------------------------------------------------------------------------------


MakeClient = Callable[..., NewClient]


@pytest.fixture
def make_client(hub: Hub) -> MakeClient:
    """Register an OAuth client (an ``app`` with ``REDIRECT_URI`` unless told otherwise)."""

    def make(
        kind: ClientKind = ClientKind.APP, name: str = "Green app", **options: Any
    ) -> NewClient:
        if kind is ClientKind.APP:
            options.setdefault("redirect_uris", (REDIRECT_URI,))
        with write_session(hub.engine) as session:
            return create_client(session, kind=kind, name=name, **options)

    return make


@pytest.fixture
def app_client(make_client: MakeClient) -> NewClient:
    """A confidential citizen-facing app."""
    return make_client()


@pytest.fixture
def other_app(make_client: MakeClient) -> NewClient:
    """A second confidential app with the same redirect URI (a would-be code thief)."""
    return make_client(name="Other app")


@pytest.fixture
def public_app(make_client: MakeClient) -> NewClient:
    """A public app (no secret; PKCE alone protects its codes)."""
    return make_client(name="Phone app", public=True)


@pytest.fixture
def agency_client(make_client: MakeClient) -> NewClient:
    """Beijing's agency client (client credentials, bound to region 110000)."""
    return make_client(ClientKind.AGENCY, name="Beijing agency", region_code="110000")


@pytest.fixture
def operator_client(make_client: MakeClient) -> NewClient:
    """An operator client (may introspect any token)."""
    return make_client(ClientKind.OPERATOR, name="Operations")


@pytest.fixture
def citizen(make_citizen: Callable[..., Citizen]) -> Citizen:
    """A registered citizen who will sign in and approve apps."""
    return make_citizen()


# -- the browser -------------------------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    """A fresh PKCE ``(code_verifier, S256 code_challenge)``."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def query_of(location: str) -> dict[str, str]:
    """The query parameters of a redirect's ``Location`` (first value of each)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def hidden_inputs(page: str) -> dict[str, str]:
    """The hidden form fields of an HTML page."""
    pairs = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in pairs}


@dataclass
class Authorisation:
    """What the client gets back from an approved authorisation request."""

    code: str
    verifier: str
    redirect_uri: str
    query: dict[str, str] = field(default_factory=dict)


class Browser:
    """A citizen's browser and the clients' back channel against one app (no redirects followed)."""

    def __init__(self, http: TestClient) -> None:
        self.http = http

    # -- authorisation (front channel) ------------------------------------------------------

    def sign_in(self, citizen: Citizen) -> None:
        """Sign ``citizen`` in through the login form."""
        page = self.http.get("/account/login")
        assert page.status_code == 200, page.text
        csrf = hidden_inputs(page.text)["csrf_token"]
        signed_in = self.http.post(
            "/account/login",
            data={
                "username": citizen.username,
                "password": citizen.password,
                "csrf_token": csrf,
                "next": "/account/",
            },
        )
        assert signed_in.status_code == 303, signed_in.text

    @staticmethod
    def params(client: NewClient, challenge: str, **overrides: str | None) -> dict[str, str]:
        """Authorisation request parameters; an override of None leaves a parameter out."""
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "ledger:read",
            "state": "state-" + secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **overrides,
        }
        return {k: v for k, v in params.items() if v is not None}

    def ask(self, params: dict[str, str] | list[tuple[str, str]]) -> Any:
        """GET the authorisation endpoint (the consent page, an error page or a redirect)."""
        return self.http.get(f"/oauth/authorize?{urlencode(params)}")

    def decide(self, consent_page: Any, decision: str = "approve") -> Any:
        """Press Allow or Deny on a consent page."""
        assert consent_page.status_code == 200, consent_page.text
        form = {**hidden_inputs(consent_page.text), "decision": decision}
        return self.http.post("/oauth/authorize", data=form)

    def authorise(
        self, client: NewClient, citizen: Citizen | None = None, **overrides: str | None
    ) -> Authorisation:
        """Run the front channel to the end: (sign in,) consent page, Allow; the code."""
        if citizen is not None:
            self.sign_in(citizen)
        verifier, challenge = pkce_pair()
        params = self.params(client, challenge, **overrides)
        answer = self.decide(self.ask(params))
        assert answer.status_code == 302, answer.text
        query = query_of(answer.headers["location"])
        assert query["state"] == params["state"]
        return Authorisation(query["code"], verifier, params["redirect_uri"], query)

    # -- back channel ----------------------------------------------------------------------

    def token(self, client: NewClient | None, **data: str) -> Any:
        """POST the token endpoint, authenticating ``client`` with HTTP Basic (None: no auth)."""
        return self.post("/oauth/token", client, data)

    def post(self, path: str, client: NewClient | None, data: dict[str, str]) -> Any:
        """POST form ``data`` to ``path``; a confidential client authenticates with Basic."""
        if client is not None and client.client_secret is None:
            data = {**data, "client_id": client.client_id}
        if client is None or client.client_secret is None:
            return self.http.post(path, data=data)
        return self.http.post(path, data=data, auth=(client.client_id, client.client_secret))

    def redeem(self, client: NewClient, authorisation: Authorisation, **overrides: str) -> Any:
        """Exchange an authorisation code at the token endpoint."""
        data = {
            "grant_type": "authorization_code",
            "code": authorisation.code,
            "redirect_uri": authorisation.redirect_uri,
            "code_verifier": authorisation.verifier,
            **overrides,
        }
        return self.token(client, **{k: v for k, v in data.items() if v})

    def tokens(
        self, client: NewClient, citizen: Citizen, **overrides: str | None
    ) -> dict[str, Any]:
        """A citizen's tokens for ``client``: sign in, approve, redeem."""
        answer = self.redeem(client, self.authorise(client, citizen, **overrides))
        assert answer.status_code == 200, answer.text
        tokens: dict[str, Any] = answer.json()
        return tokens

    def refresh(self, client: NewClient, refresh_token: str, **extra: str) -> Any:
        """Use a refresh token."""
        return self.token(client, grant_type="refresh_token", refresh_token=refresh_token, **extra)

    def credentials(self, client: NewClient, **extra: str) -> Any:
        """Ask for a token with the client credentials grant."""
        return self.token(client, grant_type="client_credentials", **extra)

    def graphql(self, token: str | None, query: str = ME, *, scheme: str = "Bearer") -> Any:
        """POST a GraphQL query with ``Authorization: <scheme> <token>`` (UTF-8 bytes)."""
        headers = {} if token is None else {b"authorization": f"{scheme} {token}".encode()}
        return self.http.post("/graphql", json={"query": query}, headers=headers)


@pytest.fixture
def app(hub: Hub) -> Starlette:
    """The hub's application, as ``carbonhub serve`` runs it."""
    return create_app(hub=hub)


@pytest.fixture
def browser(app: Starlette) -> Iterator[Browser]:
    """A browser and back channel on the hub's app over https."""
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as http:
        yield Browser(http)


def server_app_at(hub: Hub, clock: Callable[[], datetime]) -> Starlette:
    """The OAuth endpoints and sign-in pages of ``hub`` with its server's clock at ``clock``."""
    pages = Pages(hub.engine, hub.settings)
    server = HubAuthorizationServer(hub.engine, hub.settings, hub.keys, clock=clock)
    return Starlette(
        routes=[
            *OAuthEndpoints(server, pages).routes(),
            *account_routes(hub.engine, hub.settings, hub.regions, pages=pages),
        ]
    )


BrowserAt = Callable[[datetime], Browser]


@pytest.fixture
def browser_at(hub: Hub) -> Iterator[BrowserAt]:
    """A browser on an authorisation server whose clock stands at a given instant."""
    opened: list[TestClient] = []

    def at(instant: datetime) -> Browser:
        http = TestClient(
            server_app_at(hub, lambda: instant), base_url=BASE_URL, follow_redirects=False
        )
        opened.append(http.__enter__())
        return Browser(http)

    yield at
    for http in opened:
        http.__exit__(None, None, None)


# -- a hub served over real HTTP ---------------------------------------------------------------


@dataclass(frozen=True)
class LiveHub:
    """A hub served by uvicorn on loopback: its base URL and the hub behind it."""

    base_url: str
    hub: Hub

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


@pytest.fixture
def live_hub(engine: Engine) -> Iterator[LiveHub]:
    """The hub's app served by uvicorn on 127.0.0.1 (a free port) in a background thread.

    The socket is bound before the hub is built, so the issuer names the real port. A
    development hub: its cookies work over plain http on loopback (authlib allows http there).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        env="development",
        public_url=base_url,
        privacy_k=3,
        password_time_cost=FAST_ARGON2["password_time_cost"],
        password_memory_kib=FAST_ARGON2["password_memory_kib"],
    )
    hub = open_hub(settings, engine=engine, upgrade=False)
    config = uvicorn.Config(
        create_app(hub=hub),
        lifespan="off",
        http="h11",
        ws="none",
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(500):  # up to ~5 s for the server to come up
            if server.started or not thread.is_alive():
                break
            time.sleep(0.01)
        assert server.started, "uvicorn did not start"
        yield LiveHub(base_url, hub)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"
