"""The simulators' OAuth server: code flow with PKCE S256, single-use codes, refresh rotation."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client

from carbonhub.connectors.simulators import (
    SimulatorError,
    SimulatorServer,
    approve_url,
    link_account,
    s256,
)
from tests.connectors.simulators.helpers import (
    Clock,
    account,
    data_request,
    linked_token,
    records_of,
)

REDIRECT_URI = "http://127.0.0.1:8000/connectors/bikeshare/callback"
CLIENT = ("carbonhub", "carbonhub-secret")
Serve = Callable[..., SimulatorServer]
Shared = Callable[[str], SimulatorServer]


def authorize_query(verifier: str, **overrides: str | None) -> dict[str, str]:
    """The parameters of an authorisation request, with some changed (None: left out)."""
    query: dict[str, str | None] = {
        "response_type": "code",
        "client_id": "carbonhub",
        "redirect_uri": REDIRECT_URI,
        "scope": "rides:read",
        "state": "st-42",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
        **overrides,
    }
    return {name: value for name, value in query.items() if value is not None}


def obtain_code(server: SimulatorServer, verifier: str, who: str = "B000001") -> str:
    """A fresh authorisation code for ``who`` (the citizen approved)."""
    url = f"{server.base_url}/oauth/authorize?{urlencode(authorize_query(verifier))}"
    return parse_qs(urlsplit(approve_url(url, who)).query)["code"][0]


def exchange(http: httpx.Client, server: SimulatorServer, **form: str) -> httpx.Response:
    """A token request authenticated with the client's Basic credentials."""
    return http.post(f"{server.base_url}/oauth/token", data=form, auth=CLIENT)


def test_the_authorize_page_is_a_form_carrying_the_request(
    shared: Shared, http: httpx.Client
) -> None:
    server = shared("bikeshare")
    query = authorize_query(secrets.token_urlsafe(48))

    page = http.get(f"{server.base_url}/oauth/authorize", params=query)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/oauth/authorize">' in page.text
    for name, value in query.items():
        assert f'<input type="hidden" name="{name}" value="{value}">' in page.text
    assert 'name="account"' in page.text
    assert 'name="decision" value="approve"' in page.text
    assert 'name="decision" value="deny"' in page.text


def test_the_authorize_page_escapes_what_the_request_carries(
    shared: Shared, http: httpx.Client
) -> None:
    server = shared("bikeshare")
    query = authorize_query(secrets.token_urlsafe(48), state='"><script>alert(1)</script>')

    page = http.get(f"{server.base_url}/oauth/authorize", params=query)

    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "&quot;&gt;&lt;script&gt;" in page.text


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"code_challenge_method": None}, id="no-method"),
        pytest.param({"code_challenge": None}, id="no-challenge"),
        pytest.param({"code_challenge_method": "plain"}, id="plain"),
        pytest.param({"client_id": "someone-else"}, id="unknown-client"),
        pytest.param({"redirect_uri": "https://evil.example/callback"}, id="foreign-redirect"),
        pytest.param({"response_type": "token"}, id="implicit"),
        pytest.param({"scope": "rides:read rides:write"}, id="wider-scope"),
    ],
)
def test_an_unacceptable_authorisation_request_is_refused_with_400(
    shared: Shared, http: httpx.Client, overrides: dict[str, str | None]
) -> None:
    server = shared("bikeshare")
    query = authorize_query(secrets.token_urlsafe(48), **overrides)

    page = http.get(f"{server.base_url}/oauth/authorize", params=query)

    assert page.status_code == 400


def test_an_unknown_account_is_refused_on_the_form(shared: Shared) -> None:
    server = shared("bikeshare")  # accounts B000001..B000005
    url = (
        f"{server.base_url}/oauth/authorize?{urlencode(authorize_query(secrets.token_urlsafe(48)))}"
    )

    with pytest.raises(SimulatorError, match="400"):
        approve_url(url, "B000006")


def test_denying_redirects_with_access_denied_and_the_state(shared: Shared) -> None:
    server = shared("bikeshare")
    url = (
        f"{server.base_url}/oauth/authorize?{urlencode(authorize_query(secrets.token_urlsafe(48)))}"
    )

    location = approve_url(url, "B000001", decision="deny")

    assert location.startswith(REDIRECT_URI + "?")
    assert parse_qs(urlsplit(location).query) == {"error": ["access_denied"], "state": ["st-42"]}


def test_the_hubs_oauth_client_links_an_account_with_pkce(shared: Shared) -> None:
    server = shared("bikeshare")

    async def link() -> dict[str, Any]:
        async with AsyncOAuth2Client(
            *CLIENT, scope="rides:read", redirect_uri=REDIRECT_URI, code_challenge_method="S256"
        ) as client:
            verifier = secrets.token_urlsafe(48)
            url, _ = client.create_authorization_url(
                f"{server.base_url}/oauth/authorize", code_verifier=verifier
            )
            location = await asyncio.to_thread(approve_url, url, "B000002")
            token: dict[str, Any] = await client.fetch_token(
                f"{server.base_url}/oauth/token",
                authorization_response=location,
                code_verifier=verifier,
            )
            return token

    token = asyncio.run(link())

    assert token["token_type"] == "Bearer"
    assert token["account_id"] == "B000002"
    assert token["scope"] == "rides:read"
    assert token["expires_in"] == 3600
    assert token["access_token"]
    assert token["refresh_token"]


def test_a_code_is_single_use(shared: Shared, http: httpx.Client) -> None:
    server = shared("bikeshare")
    verifier = secrets.token_urlsafe(48)
    code = obtain_code(server, verifier)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    assert exchange(http, server, **form, code_verifier=verifier).status_code == 200

    again = exchange(http, server, **form, code_verifier=verifier)

    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_a_code_with_the_wrong_verifier_is_refused(shared: Shared, http: httpx.Client) -> None:
    server = shared("bikeshare")
    code = obtain_code(server, secrets.token_urlsafe(48))

    answer = exchange(
        http,
        server,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=secrets.token_urlsafe(48),
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_a_code_expires_after_a_minute(serve: Serve, http: httpx.Client, clock: Clock) -> None:
    server = serve("bikeshare")
    verifier = secrets.token_urlsafe(48)
    code = obtain_code(server, verifier)
    clock.advance(seconds=61)

    answer = exchange(
        http,
        server,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"


def test_client_credentials_in_the_body_are_accepted(shared: Shared, http: httpx.Client) -> None:
    server = shared("bikeshare")
    verifier = secrets.token_urlsafe(48)
    code = obtain_code(server, verifier)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
        "client_id": CLIENT[0],
        "client_secret": CLIENT[1],
    }

    answer = http.post(f"{server.base_url}/oauth/token", data=form)

    assert answer.status_code == 200
    assert answer.json()["account_id"] == "B000001"


def test_a_wrong_client_secret_gets_401_invalid_client(shared: Shared, http: httpx.Client) -> None:
    server = shared("bikeshare")
    tokens = link_account(server.base_url, "B000001")

    answer = http.post(
        f"{server.base_url}/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=("carbonhub", "guessed"),
    )

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def test_an_unsupported_grant_type_is_refused(shared: Shared, http: httpx.Client) -> None:
    server = shared("bikeshare")

    answer = exchange(http, server, grant_type="password", username="B000001", password="x")

    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"


def test_refreshing_rotates_both_tokens(shared: Shared, http: httpx.Client) -> None:
    server = shared("bikeshare")
    first = link_account(server.base_url, "B000001")

    answer = exchange(
        http, server, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )

    second = answer.json()
    assert answer.status_code == 200
    assert second["account_id"] == "B000001"
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert data_request(http, server, second["access_token"], "bikeshare").status_code == 200


def test_a_rotated_refresh_token_stops_working(shared: Shared, http: httpx.Client) -> None:
    server = shared("bikeshare")
    first = link_account(server.base_url, "B000001")
    exchange(http, server, grant_type="refresh_token", refresh_token=first["refresh_token"])

    again = exchange(http, server, grant_type="refresh_token", refresh_token=first["refresh_token"])

    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("provider", ["bikeshare", "takeaway", "logistics", "transit"])
@pytest.mark.parametrize("token", [None, "not-a-token"], ids=["missing", "unknown"])
def test_data_endpoints_answer_401_without_a_valid_token(
    shared: Shared, http: httpx.Client, provider: str, token: str | None
) -> None:
    server = shared(provider)

    answer = data_request(http, server, token, provider)

    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_an_expired_access_token_gets_401(serve: Serve, http: httpx.Client, clock: Clock) -> None:
    server = serve("transit", token_ttl=60)
    token = linked_token(server, "transit")
    clock.advance(seconds=61)

    answer = data_request(http, server, token, "transit")

    assert answer.status_code == 401


def test_a_token_only_sees_its_own_accounts_records(shared: Shared, http: httpx.Client) -> None:
    server = shared("logistics")
    token = linked_token(server, "logistics", 2)

    records = records_of("logistics", data_request(http, server, token, "logistics"))

    assert records
    assert {r["receiver_id"] for r in records} == {account("logistics", 2)}
