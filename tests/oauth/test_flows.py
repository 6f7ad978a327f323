"""End-to-end OAuth flows over real HTTP: uvicorn serves the hub, authlib's httpx client is the
OAuth client, and a cookie-keeping httpx client is the citizen's browser."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from authlib.integrations.httpx_client import OAuth2Client

from carbonhub.auth.clients import NewClient, create_client
from carbonhub.auth.scopes import ClientKind
from carbonhub.db import write_session
from tests.fixtures.accounts import Citizen
from tests.oauth.conftest import LiveHub, MakeClient, hidden_inputs, query_of

# The client's redirect URI: a loopback port nothing listens on; the browser never follows it.
REDIRECT_URI = "http://127.0.0.1:9/cb"
ME = "{ me { id } }"
REGION_REPORT = '{ region(code: "%s") { code report(period: "2023") { participants } } }'


@pytest.fixture
def make_client(live_hub: LiveHub) -> MakeClient:
    """Register a client on the served hub (an app with ``REDIRECT_URI`` by default)."""

    def make(
        kind: ClientKind = ClientKind.APP, name: str = "Green app", **options: Any
    ) -> NewClient:
        if kind is ClientKind.APP:
            options.setdefault("redirect_uris", (REDIRECT_URI,))
        with write_session(live_hub.hub.engine) as session:
            return create_client(session, kind=kind, name=name, **options)

    return make


@pytest.fixture
def browser(live_hub: LiveHub) -> Iterator[httpx.Client]:
    """The citizen's browser: keeps cookies, never follows a redirect by itself."""
    with httpx.Client(base_url=live_hub.base_url, follow_redirects=False, timeout=10) as client:
        yield client


def sign_in_and_approve(browser: httpx.Client, authorization_url: str, citizen: Citizen) -> str:
    """Open the authorisation URL, sign in when asked, press Allow; the redirect's Location."""
    asked = browser.get(authorization_url)
    assert asked.status_code == 303, asked.text
    login_url = asked.headers["location"]
    assert login_url.startswith("/account/login?next=")

    login_page = browser.get(login_url)
    assert login_page.status_code == 200
    form = hidden_inputs(login_page.text)
    signed_in = browser.post(
        "/account/login",
        data={**form, "username": citizen.username, "password": citizen.password},
    )
    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.headers["location"].startswith("/oauth/authorize?")

    consent_page = browser.get(signed_in.headers["location"])
    assert consent_page.status_code == 200, consent_page.text
    assert "Green app" in consent_page.text
    decided = browser.post(
        "/oauth/authorize", data={**hidden_inputs(consent_page.text), "decision": "approve"}
    )
    assert decided.status_code == 302, decided.text
    location: str = decided.headers["location"]
    return location


def graphql(client: httpx.Client | OAuth2Client, url: str, query: str) -> dict[str, Any]:
    """POST a GraphQL query through ``client`` (which adds the bearer token); the JSON body."""
    answer = client.post(url, json={"query": query})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_given_a_citizen_when_an_app_runs_the_code_flow_with_pkce_then_it_reads_me_and_refreshes(
    live_hub: LiveHub,
    browser: httpx.Client,
    make_client: MakeClient,
    make_citizen: Callable[..., Citizen],
) -> None:
    citizen = make_citizen()
    app = make_client()
    verifier = secrets.token_urlsafe(48)
    with OAuth2Client(
        app.client_id,
        app.client_secret,
        scope="ledger:read",
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
        timeout=10,
    ) as oauth:
        url, state = oauth.create_authorization_url(
            live_hub.url("/oauth/authorize"), code_verifier=verifier
        )

        location = sign_in_and_approve(browser, url, citizen)

        assert location.startswith(REDIRECT_URI + "?")
        response = query_of(location)
        assert response["state"] == state
        assert response["iss"] == live_hub.base_url  # RFC 9207 mix-up defence
        token = oauth.fetch_token(
            live_hub.url("/oauth/token"),
            authorization_response=location,
            state=state,
            code_verifier=verifier,
        )
        assert token["token_type"] == "Bearer"
        assert token["scope"] == "ledger:read"
        me = graphql(oauth, live_hub.url("/graphql"), ME)
        assert me == {"data": {"me": {"id": citizen.account.person_id}}}

        refreshed = oauth.refresh_token(live_hub.url("/oauth/token"))

        assert refreshed["access_token"] != token["access_token"]
        assert refreshed["refresh_token"] != token["refresh_token"]
        assert oauth.token["access_token"] == refreshed["access_token"]
        me = graphql(oauth, live_hub.url("/graphql"), ME)
        assert me == {"data": {"me": {"id": citizen.account.person_id}}}


def test_given_an_agency_client_when_it_uses_client_credentials_then_its_region_only(
    live_hub: LiveHub, make_client: MakeClient
) -> None:
    agency = make_client(ClientKind.AGENCY, name="Beijing agency", region_code="110000")
    with OAuth2Client(agency.client_id, agency.client_secret, timeout=10) as oauth:
        token = oauth.fetch_token(live_hub.url("/oauth/token"), grant_type="client_credentials")
        assert token["scope"] == "region:read"
        assert "refresh_token" not in token

        beijing = graphql(oauth, live_hub.url("/graphql"), REGION_REPORT % "110000")
        tianjin = graphql(oauth, live_hub.url("/graphql"), REGION_REPORT % "120000")

    assert "errors" not in beijing, beijing
    assert beijing["data"]["region"]["code"] == "110000"
    assert isinstance(beijing["data"]["region"]["report"]["participants"], int)
    assert tianjin["data"] is None
    assert [e["extensions"]["code"] for e in tianjin["errors"]] == ["NOT_FOUND"]
