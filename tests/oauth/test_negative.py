"""Negative cases of the authorisation server and the resource server (GraphQL).

Drawn from RFC 9700 (OAuth 2.0 Security BCP), RFC 6749, RFC 7636 (PKCE), RFC 7009 (revocation),
RFC 7662 (introspection), RFC 9068 (JWT access tokens), RFC 9207 (``iss``) and the negative
tests of the OpenID conformance suite. Every case asserts the RFC 6749 error code, or for the
resource server a 401 with a ``WWW-Authenticate`` challenge; none may end in a 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import select, update
from sqlmodel import col

from carbonhub.auth.clients import NewClient
from carbonhub.auth.keys import rotate_signing_key
from carbonhub.auth.server import CodeGrant, RotatingRefreshGrant
from carbonhub.auth.server import _db as server_session
from carbonhub.db import write_session
from carbonhub.hub import Hub
from carbonhub.models import (
    AccessToken,
    AuthorizationCode,
    OAuthClient,
    OAuthGrant,
    RefreshToken,
    utcnow,
)
from tests.fixtures.accounts import Citizen
from tests.oauth.conftest import (
    BASE_URL,
    REDIRECT_URI,
    Browser,
    BrowserAt,
    MakeClient,
    pkce_pair,
    query_of,
)

# -- helpers ---------------------------------------------------------------------------------


def error_of(response: Any, status: int = 400) -> str:
    """The RFC 6749 ``error`` of a JSON error response (asserting its status and no-store)."""
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    error: str = response.json()["error"]
    return error


def error_redirect(response: Any) -> dict[str, str]:
    """The parameters of an error sent back to the registered redirect URI (RFC 6749 §4.1.2.1)."""
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    query = query_of(location)
    assert query["iss"] == BASE_URL  # RFC 9207: error responses name the issuer too
    assert "code" not in query
    return query


def error_page(response: Any) -> str:
    """The text of an error page shown to the citizen instead of redirecting anywhere."""
    assert response.status_code == 400, response.text
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    text: str = response.text
    return text


def refused(response: Any, reason: str = "") -> None:
    """GraphQL answered 401 with an RFC 6750 ``invalid_token`` challenge (not 500, not 200)."""
    assert response.status_code == 401, response.text
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="invalid_token"')
    assert reason in challenge
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def served(response: Any) -> dict[str, Any]:
    """GraphQL answered 200 without errors; the data."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A compact JWS from its parts (for tokens no honest library would produce)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(signature)}"


def claims_of(token: str) -> dict[str, Any]:
    """The (unverified) claims of a compact JWT."""
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def header_of(token: str) -> dict[str, Any]:
    """The (unverified) protected header of a compact JWT."""
    part = token.split(".")[0]
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def good_claims(hub: Hub, **changes: Any) -> dict[str, Any]:
    """Claims the hub would accept (fresh, its issuer and audience), with ``changes``."""
    now = int(time.time())
    claims = {
        "iss": hub.settings.issuer,
        "aud": hub.settings.audience,
        "sub": "agency_x",
        "client_id": "agency_x",
        "scope": "region:read",
        "iat": now,
        "exp": now + 300,
        "jti": "forged-jti",
    }
    claims.update(changes)
    return claims


def signed_by_hub(hub: Hub, claims: dict[str, Any]) -> str:
    """A JWT signed with the hub's own current key (so only the claims can be wrong)."""
    key = hub.keys.signing_key
    header = {"alg": key.algorithm, "typ": "at+jwt", "kid": key.kid}
    token: str = jwt.encode(header, claims, key.key, algorithms=[key.algorithm])
    return token


def post_pairs(browser: Browser, path: str, client: NewClient, pairs: list[tuple[str, str]]) -> Any:
    """POST a form whose parameters may repeat, authenticating ``client`` with Basic."""
    assert client.client_secret is not None
    return browser.http.post(
        path,
        content=urlencode(pairs),
        headers={"content-type": "application/x-www-form-urlencoded"},
        auth=(client.client_id, client.client_secret),
    )


REGION_QUERY = '{ region(code: "110000") { report(period: "2023") { participants } } }'


# -- authorisation codes: single use, bound to client, redirect URI and verifier ------------------


def test_given_a_redeemed_code_when_it_is_replayed_then_invalid_grant_and_its_tokens_are_revoked(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    authorisation = browser.authorise(app_client, citizen)
    first = browser.redeem(app_client, authorisation)
    assert first.status_code == 200, first.text
    tokens = first.json()
    served(browser.graphql(tokens["access_token"]))

    assert error_of(browser.redeem(app_client, authorisation)) == "invalid_grant"

    refused(browser.graphql(tokens["access_token"]), "revoked")
    assert error_of(browser.refresh(app_client, tokens["refresh_token"])) == "invalid_grant"


def grant_of(hub: Hub, access_token: str) -> str:
    """The grant (token family) an access token belongs to."""
    with write_session(hub.engine) as session:
        grant_id = session.scalar(
            select(col(AccessToken.grant_id)).where(
                col(AccessToken.jti) == claims_of(access_token)["jti"]
            )
        )
    assert grant_id is not None
    return grant_id


def test_given_two_concurrent_redemptions_of_a_code_then_the_loser_gets_invalid_grant_and_both_families_die(
    browser: Browser,
    hub: Hub,
    app_client: NewClient,
    citizen: Citizen,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The race: both redemptions pass the lookup before either spends the code (PostgreSQL
    # read committed). Simulated deterministically: right after this redemption's lookup, the
    # "winner" (another family of the same client) spends the code.
    winner = browser.tokens(app_client, citizen)
    winner_grant = grant_of(hub, winner["access_token"])
    authorisation = browser.authorise(app_client)
    lookup = CodeGrant.query_authorization_code

    def raced(grant: CodeGrant, code: str, client: Any) -> Any:
        record = lookup(grant, code, client)
        if record is not None:
            server_session().execute(
                update(AuthorizationCode)
                .where(col(AuthorizationCode.code_hash) == record.code_hash)
                .values(used_at=utcnow(), grant_id=winner_grant)
            )
        return record

    monkeypatch.setattr(CodeGrant, "query_authorization_code", raced)

    assert error_of(browser.redeem(app_client, authorisation)) == "invalid_grant"

    refused(browser.graphql(winner["access_token"]), "revoked")
    with write_session(hub.engine) as session:
        live = session.scalars(
            select(col(OAuthGrant.id)).where(col(OAuthGrant.revoked_at).is_(None))
        ).all()
    assert live == []


def test_given_two_concurrent_uses_of_a_refresh_token_then_the_loser_gets_invalid_grant_and_the_family_dies(
    browser: Browser,
    app_client: NewClient,
    citizen: Citizen,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tokens = browser.tokens(app_client, citizen)
    lookup = RotatingRefreshGrant.authenticate_refresh_token

    def raced(grant: RotatingRefreshGrant, refresh_token: str) -> Any:
        record = lookup(grant, refresh_token)
        if record is not None:  # the concurrent use spends it now
            server_session().execute(
                update(RefreshToken)
                .where(col(RefreshToken.token_hash) == record.token_hash)
                .values(used_at=utcnow())
            )
        return record

    monkeypatch.setattr(RotatingRefreshGrant, "authenticate_refresh_token", raced)

    assert error_of(browser.refresh(app_client, tokens["refresh_token"])) == "invalid_grant"

    refused(browser.graphql(tokens["access_token"]), "revoked")


def test_given_a_code_of_client_a_when_client_b_redeems_it_then_invalid_grant(
    browser: Browser, app_client: NewClient, other_app: NewClient, citizen: Citizen
) -> None:
    authorisation = browser.authorise(app_client, citizen)

    assert error_of(browser.redeem(other_app, authorisation)) == "invalid_grant"


def test_given_a_code_when_the_token_request_names_another_redirect_uri_then_invalid_grant(
    browser: Browser, make_client: MakeClient, citizen: Citizen
) -> None:
    client = make_client(redirect_uris=(REDIRECT_URI, "http://127.0.0.1:9999/other"))
    authorisation = browser.authorise(client, citizen)

    answer = browser.redeem(client, authorisation, redirect_uri="http://127.0.0.1:9999/other")

    assert error_of(answer) == "invalid_grant"


def test_given_a_code_when_the_verifier_is_wrong_then_invalid_grant(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    authorisation = browser.authorise(app_client, citizen)
    other_verifier, _ = pkce_pair()

    answer = browser.redeem(app_client, authorisation, code_verifier=other_verifier)

    assert error_of(answer) == "invalid_grant"


def test_given_a_code_when_the_token_request_has_no_verifier_then_invalid_request(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    authorisation = browser.authorise(app_client, citizen)

    answer = browser.redeem(app_client, authorisation, code_verifier="")

    assert error_of(answer) == "invalid_request"


def test_given_a_public_client_when_it_redeems_without_a_verifier_then_invalid_request(
    browser: Browser, public_app: NewClient, citizen: Citizen
) -> None:
    authorisation = browser.authorise(public_app, citizen)

    answer = browser.redeem(public_app, authorisation, code_verifier="")

    assert error_of(answer) == "invalid_request"


def test_given_a_code_older_than_its_lifetime_when_redeemed_then_invalid_grant(
    browser: Browser, browser_at: BrowserAt, app_client: NewClient, citizen: Citizen
) -> None:
    ten_minutes_ago = browser_at(utcnow() - timedelta(minutes=10))
    authorisation = ten_minutes_ago.authorise(app_client, citizen)

    assert error_of(browser.redeem(app_client, authorisation)) == "invalid_grant"


def test_given_no_such_code_when_redeemed_then_invalid_grant(
    browser: Browser, app_client: NewClient
) -> None:
    verifier, _ = pkce_pair()
    answer = browser.token(
        app_client,
        grant_type="authorization_code",
        code="made-up-code",
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
    )

    assert error_of(answer) == "invalid_grant"


def test_given_a_code_when_the_token_request_repeats_the_code_parameter_then_invalid_request(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    authorisation = browser.authorise(app_client, citizen)
    pairs = [
        ("grant_type", "authorization_code"),
        ("code", "made-up-code"),
        ("code", authorisation.code),
        ("redirect_uri", REDIRECT_URI),
        ("code_verifier", authorisation.verifier),
    ]

    answer = post_pairs(browser, "/oauth/token", app_client, pairs)

    assert error_of(answer) == "invalid_request"
    assert browser.redeem(app_client, authorisation).status_code == 200  # the code is unspent


def test_given_an_agency_client_when_it_redeems_a_code_then_unauthorized_client(
    browser: Browser, app_client: NewClient, agency_client: NewClient, citizen: Citizen
) -> None:
    authorisation = browser.authorise(app_client, citizen)

    assert error_of(browser.redeem(agency_client, authorisation)) == "unauthorized_client"


def test_given_a_confidential_app_when_it_redeems_without_its_secret_then_invalid_client(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    authorisation = browser.authorise(app_client, citizen)

    answer = browser.http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": app_client.client_id,
            "code": authorisation.code,
            "redirect_uri": authorisation.redirect_uri,
            "code_verifier": authorisation.verifier,
        },
    )

    assert error_of(answer, 401) == "invalid_client"


def test_given_a_code_when_the_token_request_omits_the_redirect_uri_then_invalid_grant(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    # RFC 6749 §4.1.3: required when the authorisation request included it
    authorisation = browser.authorise(app_client, citizen)

    assert error_of(browser.redeem(app_client, authorisation, redirect_uri="")) == "invalid_grant"


# -- the authorisation request: redirect URIs matched exactly, no open redirect ------------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        pytest.param("http://127.0.0.1:9999/cb/evil", id="extra-path"),
        pytest.param("http://127.0.0.1:9999/c", id="prefix"),
        pytest.param("http://127.0.0.1:9999/cb/", id="trailing-slash"),
        pytest.param("http://127.0.0.1:9998/cb", id="other-port"),
        pytest.param("http://127.0.0.1:9999@evil.example/cb", id="userinfo-trick"),
        pytest.param("https://127.0.0.1:9999/cb", id="other-scheme"),
        pytest.param("http://127.0.0.1:9999/cb?next=https://evil.example", id="query-added"),
        pytest.param("http://127.0.0.1:9999/CB", id="case-changed"),
        pytest.param("http://localhost:9999/cb", id="other-loopback-name"),
        pytest.param("http://127.0.0.1:9999/cb#frag", id="fragment-added"),
    ],
)
def test_given_a_registered_redirect_uri_when_another_is_asked_then_an_error_page_not_a_redirect(
    browser: Browser, app_client: NewClient, citizen: Citizen, redirect_uri: str
) -> None:
    browser.sign_in(citizen)
    _, challenge = pkce_pair()

    answer = browser.ask(browser.params(app_client, challenge, redirect_uri=redirect_uri))

    page = error_page(answer)
    assert "invalid_request" in page
    assert "evil.example" not in answer.headers.get("location", "")


def test_given_an_authorisation_request_without_redirect_uri_then_an_error_page(
    browser: Browser, app_client: NewClient
) -> None:
    _, challenge = pkce_pair()

    answer = browser.ask(browser.params(app_client, challenge, redirect_uri=None))

    assert "invalid_request" in error_page(answer)


def test_given_an_unknown_client_id_when_authorising_then_an_error_page_naming_invalid_client(
    browser: Browser, app_client: NewClient
) -> None:
    _, challenge = pkce_pair()

    answer = browser.ask(browser.params(app_client, challenge, client_id="app_unknown"))

    assert "invalid_client" in error_page(answer)


def test_given_a_request_repeating_a_parameter_when_authorising_then_an_error_page(
    browser: Browser, app_client: NewClient
) -> None:
    _, challenge = pkce_pair()
    pairs = [*browser.params(app_client, challenge).items(), ("scope", "consent:manage")]

    assert "invalid_request" in error_page(browser.ask(pairs))


def test_given_a_request_repeating_the_code_challenge_then_invalid_request_is_sent_back(
    browser: Browser, app_client: NewClient
) -> None:
    _, challenge = pkce_pair()
    _, other = pkce_pair()
    pairs = [*browser.params(app_client, challenge).items(), ("code_challenge", other)]

    assert error_redirect(browser.ask(pairs))["error"] == "invalid_request"


# -- PKCE at the authorisation endpoint (S256 for every client) --------------------------------


def test_given_no_code_challenge_when_authorising_then_invalid_request_is_sent_back(
    browser: Browser, app_client: NewClient
) -> None:
    params = browser.params(app_client, "", code_challenge=None, code_challenge_method=None)

    query = error_redirect(browser.ask(params))

    assert query["error"] == "invalid_request"
    assert query["state"] == params["state"]


def test_given_the_plain_pkce_method_when_authorising_then_invalid_request_is_sent_back(
    browser: Browser, app_client: NewClient
) -> None:
    verifier, _ = pkce_pair()
    params = browser.params(app_client, verifier, code_challenge_method="plain")

    assert error_redirect(browser.ask(params))["error"] == "invalid_request"


def test_given_a_challenge_without_its_method_when_authorising_then_invalid_request(
    browser: Browser, app_client: NewClient
) -> None:
    # RFC 7636 §4.3: no method means "plain", which this server refuses
    _, challenge = pkce_pair()
    params = browser.params(app_client, challenge, code_challenge_method=None)

    assert error_redirect(browser.ask(params))["error"] == "invalid_request"


def test_given_a_malformed_code_challenge_when_authorising_then_invalid_request(
    browser: Browser, app_client: NewClient
) -> None:
    params = browser.params(app_client, "too-short")

    assert error_redirect(browser.ask(params))["error"] == "invalid_request"


# -- response types and grant types RFC 9700 forbids ------------------------------------------


@pytest.mark.parametrize("response_type", ["token", "code token", "id_token token"])
def test_given_the_implicit_response_type_when_authorising_then_unsupported_response_type(
    browser: Browser, app_client: NewClient, response_type: str
) -> None:
    _, challenge = pkce_pair()
    params = browser.params(app_client, challenge, response_type=response_type)

    query = error_redirect(browser.ask(params))

    assert query["error"] == "unsupported_response_type"
    assert "access_token" not in query


def test_given_the_password_grant_when_asking_for_a_token_then_unsupported_grant_type(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    answer = browser.token(
        app_client, grant_type="password", username=citizen.username, password=citizen.password
    )

    assert error_of(answer) == "unsupported_grant_type"


def test_given_an_app_client_when_it_uses_client_credentials_then_unauthorized_client(
    browser: Browser, app_client: NewClient
) -> None:
    # an app acts for citizens only: it has no standing of its own
    assert error_of(browser.credentials(app_client)) == "unauthorized_client"


def test_given_a_client_credentials_token_then_no_refresh_token_is_issued(
    browser: Browser, agency_client: NewClient
) -> None:
    answer = browser.credentials(agency_client)

    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert "refresh_token" not in answer.json()


# -- scopes: never more than the client may hold, never more than granted ------------------------


def test_given_an_app_when_it_asks_for_an_agency_scope_then_invalid_scope_is_sent_back(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    browser.sign_in(citizen)
    _, challenge = pkce_pair()
    params = browser.params(app_client, challenge, scope="ledger:read region:read")

    query = error_redirect(browser.ask(params))

    assert query["error"] == "invalid_scope"
    assert query["state"] == params["state"]


def test_given_a_token_for_one_scope_when_refreshing_for_more_then_invalid_scope(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    tokens = browser.tokens(app_client, citizen, scope="ledger:read")

    answer = browser.refresh(
        app_client, tokens["refresh_token"], scope="ledger:read consent:manage"
    )

    assert error_of(answer) == "invalid_scope"


def test_given_an_agency_client_when_it_asks_for_admin_then_invalid_scope(
    browser: Browser, agency_client: NewClient
) -> None:
    assert error_of(browser.credentials(agency_client, scope="admin")) == "invalid_scope"


# -- client authentication at the token endpoint ----------------------------------------------


def test_given_a_wrong_client_secret_when_asking_for_a_token_then_invalid_client(
    browser: Browser, agency_client: NewClient
) -> None:
    answer = browser.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(agency_client.client_id, "not-the-secret"),
    )

    assert error_of(answer, 401) == "invalid_client"
    assert answer.headers["www-authenticate"].startswith("Basic")


def test_given_an_unknown_client_when_asking_for_a_token_then_invalid_client(
    browser: Browser,
) -> None:
    answer = browser.http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=("agency_nobody", "x")
    )

    assert error_of(answer, 401) == "invalid_client"


def test_given_a_confidential_client_without_credentials_then_invalid_client(
    browser: Browser, agency_client: NewClient
) -> None:
    answer = browser.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": agency_client.client_id},
    )

    assert error_of(answer, 401) == "invalid_client"


def test_given_the_secret_of_another_client_when_asking_for_a_token_then_invalid_client(
    browser: Browser, agency_client: NewClient, operator_client: NewClient
) -> None:
    assert operator_client.client_secret is not None
    answer = browser.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(agency_client.client_id, operator_client.client_secret),
    )

    assert error_of(answer, 401) == "invalid_client"


def test_given_a_wrong_secret_in_the_body_when_asking_for_a_token_then_invalid_client(
    browser: Browser, agency_client: NewClient
) -> None:
    answer = browser.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": agency_client.client_id,
            "client_secret": "not-the-secret",
        },
    )

    assert error_of(answer, 401) == "invalid_client"


def test_given_a_public_client_when_it_uses_client_credentials_then_invalid_client(
    browser: Browser, public_app: NewClient
) -> None:
    assert error_of(browser.credentials(public_app), 401) == "invalid_client"


# -- refresh tokens: rotated, reuse revokes the family -----------------------------------------


def test_given_a_rotated_refresh_token_when_reused_then_invalid_grant_and_the_family_is_revoked(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    first = browser.tokens(app_client, citizen)
    rotated = browser.refresh(app_client, first["refresh_token"])
    assert rotated.status_code == 200, rotated.text
    newest = rotated.json()
    assert newest["refresh_token"] != first["refresh_token"]
    served(browser.graphql(newest["access_token"]))

    assert error_of(browser.refresh(app_client, first["refresh_token"])) == "invalid_grant"

    assert error_of(browser.refresh(app_client, newest["refresh_token"])) == "invalid_grant"
    refused(browser.graphql(newest["access_token"]), "revoked")
    refused(browser.graphql(first["access_token"]), "revoked")


def test_given_a_refresh_token_of_client_a_when_client_b_uses_it_then_invalid_grant(
    browser: Browser, app_client: NewClient, other_app: NewClient, citizen: Citizen
) -> None:
    tokens = browser.tokens(app_client, citizen)

    assert error_of(browser.refresh(other_app, tokens["refresh_token"])) == "invalid_grant"
    assert browser.refresh(app_client, tokens["refresh_token"]).status_code == 200


def test_given_an_access_token_when_presented_as_a_refresh_token_then_invalid_grant(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    tokens = browser.tokens(app_client, citizen)

    assert error_of(browser.refresh(app_client, tokens["access_token"])) == "invalid_grant"


def test_given_a_refresh_token_past_its_lifetime_when_used_then_invalid_grant(
    browser: Browser, browser_at: BrowserAt, app_client: NewClient, citizen: Citizen, hub: Hub
) -> None:
    long_ago = browser_at(utcnow() - timedelta(days=hub.settings.refresh_token_days + 1))
    tokens = long_ago.tokens(app_client, citizen)

    assert error_of(browser.refresh(app_client, tokens["refresh_token"])) == "invalid_grant"


# -- revocation (RFC 7009) ---------------------------------------------------------------------


def test_given_a_revoked_access_token_when_calling_graphql_then_401(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    tokens = browser.tokens(app_client, citizen)

    revoked = browser.post("/oauth/revoke", app_client, {"token": tokens["access_token"]})

    assert revoked.status_code == 200
    refused(browser.graphql(tokens["access_token"]), "revoked")


def test_given_a_revoked_refresh_token_then_its_whole_family_is_gone(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    tokens = browser.tokens(app_client, citizen)

    revoked = browser.post(
        "/oauth/revoke",
        app_client,
        {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
    )

    assert revoked.status_code == 200
    assert error_of(browser.refresh(app_client, tokens["refresh_token"])) == "invalid_grant"
    refused(browser.graphql(tokens["access_token"]), "revoked")


def test_given_a_token_of_another_client_when_revoking_it_then_refused_and_still_live(
    browser: Browser, app_client: NewClient, other_app: NewClient, citizen: Citizen
) -> None:
    tokens = browser.tokens(app_client, citizen)

    answer = browser.post("/oauth/revoke", other_app, {"token": tokens["refresh_token"]})

    assert error_of(answer) == "invalid_grant"
    served(browser.graphql(tokens["access_token"]))
    assert browser.refresh(app_client, tokens["refresh_token"]).status_code == 200


def test_given_an_unknown_token_when_revoking_it_then_200_as_rfc_7009_says(
    browser: Browser, app_client: NewClient
) -> None:
    answer = browser.post("/oauth/revoke", app_client, {"token": "never-issued"})

    assert answer.status_code == 200


def test_given_a_wrong_or_unknown_token_type_hint_when_revoking_then_the_token_is_still_found(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    # RFC 7009 §2.1: a token not found under the hint is searched under every type
    tokens = browser.tokens(app_client, citizen)

    wrong = browser.post(
        "/oauth/revoke",
        app_client,
        {"token": tokens["refresh_token"], "token_type_hint": "access_token"},
    )
    unknown = browser.post(
        "/oauth/revoke",
        app_client,
        {"token": tokens["access_token"], "token_type_hint": "id_token"},
    )

    assert (wrong.status_code, unknown.status_code) == (200, 200)
    assert error_of(browser.refresh(app_client, tokens["refresh_token"])) == "invalid_grant"
    refused(browser.graphql(tokens["access_token"]), "revoked")


def test_given_no_token_parameter_when_revoking_or_introspecting_then_invalid_request(
    browser: Browser, app_client: NewClient
) -> None:
    for path in ("/oauth/revoke", "/oauth/introspect"):
        answer = browser.post(path, app_client, {"token_type_hint": "access_token"})
        assert error_of(answer) == "invalid_request"


def test_given_a_client_revoked_by_an_operator_then_its_tokens_and_credentials_fail(
    browser: Browser, hub: Hub, agency_client: NewClient
) -> None:
    token = browser.credentials(agency_client).json()["access_token"]

    with write_session(hub.engine) as session:
        session.execute(
            update(OAuthClient)
            .where(col(OAuthClient.client_id) == agency_client.client_id)
            .values(revoked_at=utcnow())
        )

    refused(browser.graphql(token, REGION_QUERY), "revoked")
    assert error_of(browser.credentials(agency_client), 401) == "invalid_client"


# -- introspection (RFC 7662) ------------------------------------------------------------------


def test_given_a_token_of_another_client_when_introspecting_then_active_is_false(
    browser: Browser, app_client: NewClient, other_app: NewClient, citizen: Citizen
) -> None:
    tokens = browser.tokens(app_client, citizen)

    for token in (tokens["access_token"], tokens["refresh_token"]):
        answer = browser.post("/oauth/introspect", other_app, {"token": token})
        assert answer.status_code == 200
        assert answer.json() == {"active": False}


def test_given_its_own_access_token_when_the_client_introspects_then_the_rfc_7662_fields(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    tokens = browser.tokens(app_client, citizen)
    claims = claims_of(tokens["access_token"])

    answer = browser.post("/oauth/introspect", app_client, {"token": tokens["access_token"]})

    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    assert answer.json() == {
        "active": True,
        "client_id": app_client.client_id,
        "scope": "ledger:read",
        "token_type": "Bearer",
        "sub": citizen.account.person_id,
        "aud": f"{BASE_URL}/graphql",
        "iss": BASE_URL,
        "exp": claims["exp"],
        "iat": claims["iat"],
        "jti": claims["jti"],
    }


def test_given_a_revoked_token_when_its_client_introspects_then_active_is_false(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    tokens = browser.tokens(app_client, citizen)
    browser.post("/oauth/revoke", app_client, {"token": tokens["refresh_token"]})

    for token in (tokens["access_token"], tokens["refresh_token"]):
        answer = browser.post("/oauth/introspect", app_client, {"token": token})
        assert answer.json() == {"active": False}


def test_given_an_expired_access_token_when_its_client_introspects_then_active_is_false(
    browser: Browser, browser_at: BrowserAt, agency_client: NewClient
) -> None:
    token = browser_at(utcnow() - timedelta(hours=1)).credentials(agency_client).json()

    answer = browser.post("/oauth/introspect", agency_client, {"token": token["access_token"]})

    assert answer.json() == {"active": False}


def test_given_an_operator_client_when_introspecting_any_token_then_active(
    browser: Browser, agency_client: NewClient, operator_client: NewClient
) -> None:
    token = browser.credentials(agency_client).json()["access_token"]

    answer = browser.post("/oauth/introspect", operator_client, {"token": token})

    assert answer.json()["active"] is True
    assert answer.json()["client_id"] == agency_client.client_id


def test_given_no_client_authentication_when_introspecting_then_invalid_client(
    browser: Browser, agency_client: NewClient
) -> None:
    token = browser.credentials(agency_client).json()["access_token"]

    answer = browser.http.post("/oauth/introspect", data={"token": token})

    assert error_of(answer, 401) == "invalid_client"


# -- the consent page: framing, CSRF, the citizen's refusal -------------------------------------


def test_given_the_consent_page_then_it_cannot_be_framed_or_cached(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    browser.sign_in(citizen)
    _, challenge = pkce_pair()

    page = browser.ask(browser.params(app_client, challenge))

    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert 'value="approve"' in page.text
    assert app_client.name in page.text


def test_given_the_citizen_denies_then_access_denied_is_sent_back_with_state_and_iss(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    browser.sign_in(citizen)
    _, challenge = pkce_pair()
    params = browser.params(app_client, challenge)

    query = error_redirect(browser.decide(browser.ask(params), "deny"))

    assert query["error"] == "access_denied"
    assert query["state"] == params["state"]


def test_given_a_decision_without_the_csrf_token_then_403_and_no_code(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    browser.sign_in(citizen)
    _, challenge = pkce_pair()
    form = {**browser.params(app_client, challenge), "decision": "approve"}

    answer = browser.http.post("/oauth/authorize", data=form)

    assert answer.status_code == 403
    assert "location" not in answer.headers


def test_given_an_approval_then_the_redirect_names_the_issuer_and_echoes_state(
    browser: Browser, app_client: NewClient, citizen: Citizen
) -> None:
    authorisation = browser.authorise(app_client, citizen, state="xyz-state")

    assert authorisation.query["iss"] == BASE_URL
    assert authorisation.query["state"] == "xyz-state"


# -- access tokens at the resource server (RFC 9068, RFC 6750) -----------------------------------


def test_given_an_unsigned_alg_none_token_then_401(browser: Browser, hub: Hub) -> None:
    token = compact(
        {"alg": "none", "typ": "at+jwt", "kid": hub.keys.signing_key.kid}, good_claims(hub)
    )

    refused(browser.graphql(token, REGION_QUERY))


def test_given_an_hs256_token_keyed_with_the_public_key_then_401(
    browser: Browser, hub: Hub
) -> None:
    signing = hub.keys.signing_key
    header = {"alg": "HS256", "typ": "at+jwt", "kid": signing.kid}
    unsigned = compact(header, good_claims(hub)).rsplit(".", 1)[0]
    for secret in (
        signing.key.as_pem(private=False),
        json.dumps(signing.key.as_dict(private=False)).encode(),
    ):
        mac = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
        refused(browser.graphql(f"{unsigned}.{b64(mac)}", REGION_QUERY))


def test_given_a_token_for_another_audience_then_401(browser: Browser, hub: Hub) -> None:
    token = signed_by_hub(hub, good_claims(hub, aud="https://other.example/graphql"))

    refused(browser.graphql(token, REGION_QUERY), "aud")


def test_given_a_token_from_another_issuer_then_401(browser: Browser, hub: Hub) -> None:
    token = signed_by_hub(hub, good_claims(hub, iss="https://evil.example"))

    refused(browser.graphql(token, REGION_QUERY), "iss")


def test_given_an_expired_access_token_then_401(
    browser: Browser, browser_at: BrowserAt, agency_client: NewClient
) -> None:
    an_hour_ago = browser_at(utcnow() - timedelta(hours=1))
    answer = an_hour_ago.credentials(agency_client)
    assert answer.status_code == 200, answer.text

    refused(browser.graphql(answer.json()["access_token"], REGION_QUERY), "expired")


def test_given_a_token_with_an_unknown_kid_then_401(browser: Browser, hub: Hub) -> None:
    stranger = ECKey.generate_key("P-256", private=True, parameters={"kid": "k_stranger"})
    header = {"alg": "ES256", "typ": "at+jwt", "kid": "k_stranger"}
    token = jwt.encode(header, good_claims(hub), stranger, algorithms=["ES256"])

    refused(browser.graphql(token, REGION_QUERY), "not signed by a key of this hub")


def test_given_a_token_signed_by_a_foreign_key_under_the_hubs_kid_then_401(
    browser: Browser, hub: Hub
) -> None:
    kid = hub.keys.signing_key.kid
    stranger = ECKey.generate_key("P-256", private=True, parameters={"kid": kid})
    header = {"alg": "ES256", "typ": "at+jwt", "kid": kid}
    token = jwt.encode(header, good_claims(hub), stranger, algorithms=["ES256"])

    refused(browser.graphql(token, REGION_QUERY), "signature")


def test_given_a_token_carrying_its_own_key_in_the_header_then_401(
    browser: Browser, hub: Hub
) -> None:
    # CVE-2018-0114 style: an embedded "jwk" must never be trusted
    kid = hub.keys.signing_key.kid
    stranger = ECKey.generate_key("P-256", private=True, parameters={"kid": kid})
    header = {"alg": "ES256", "typ": "at+jwt", "kid": kid, "jwk": stranger.as_dict(private=False)}
    token = jwt.encode(header, good_claims(hub), stranger, algorithms=["ES256"])

    refused(browser.graphql(token, REGION_QUERY), "signature")


def test_given_a_hub_signed_token_without_an_expiry_then_401(browser: Browser, hub: Hub) -> None:
    claims = good_claims(hub)
    del claims["exp"]

    refused(browser.graphql(signed_by_hub(hub, claims), REGION_QUERY), "exp")


def test_given_a_jwt_that_is_not_typed_as_an_access_token_then_401(
    browser: Browser, hub: Hub
) -> None:
    key = hub.keys.signing_key
    header = {"alg": key.algorithm, "typ": "JWT", "kid": key.kid}
    token = jwt.encode(header, good_claims(hub), key.key, algorithms=[key.algorithm])

    refused(browser.graphql(token, REGION_QUERY), "at+jwt")


def test_given_a_well_signed_token_the_hub_never_issued_then_401(
    browser: Browser, hub: Hub
) -> None:
    refused(browser.graphql(signed_by_hub(hub, good_claims(hub)), REGION_QUERY), "revoked")


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("garbage", id="garbage"),
        pytest.param("a.b.c", id="three-garbage-parts"),
        pytest.param("eyJhbGciOiJFUzI1NiJ9..", id="empty-parts"),
        pytest.param("\u00e9t\u00e9", id="non-ascii"),
    ],
)
def test_given_a_garbage_bearer_token_then_401(browser: Browser, token: str) -> None:
    refused(browser.graphql(token, REGION_QUERY))


def test_given_a_valid_token_sent_with_another_scheme_then_401(
    browser: Browser, agency_client: NewClient
) -> None:
    token = browser.credentials(agency_client).json()["access_token"]

    refused(browser.graphql(token, REGION_QUERY, scheme="Token"))
    refused(browser.graphql(token, REGION_QUERY, scheme="Basic"))


def test_given_no_token_in_production_then_a_401_challenge_for_protected_data(
    browser: Browser,
) -> None:
    answer = browser.graphql(None, REGION_QUERY)

    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")


# -- signing keys and discovery ---------------------------------------------------------------


def test_given_a_key_rotation_then_old_tokens_verify_and_new_ones_use_the_new_kid(
    browser: Browser, hub: Hub, agency_client: NewClient
) -> None:
    before = browser.credentials(agency_client).json()["access_token"]
    old_kid = header_of(before)["kid"]

    new_kid = rotate_signing_key(hub.engine)
    hub.keys.load()  # what every replica does within a minute (or at once on an unknown kid)

    served(browser.graphql(before, REGION_QUERY))
    after = browser.credentials(agency_client).json()["access_token"]
    assert header_of(after)["kid"] == new_kid != old_kid
    served(browser.graphql(after, REGION_QUERY))
    published = {key["kid"] for key in browser.http.get("/.well-known/jwks.json").json()["keys"]}
    assert {old_kid, new_kid} <= published


def test_given_the_metadata_then_s256_only_no_implicit_or_password_and_iss_supported(
    browser: Browser,
) -> None:
    metadata = browser.http.get("/.well-known/oauth-authorization-server").json()

    assert metadata["issuer"] == BASE_URL
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["response_types_supported"] == ["code"]
    assert "implicit" not in metadata["grant_types_supported"]
    assert "password" not in metadata["grant_types_supported"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    for endpoint in ("authorization", "token", "revocation", "introspection"):
        assert urlsplit(metadata[f"{endpoint}_endpoint"]).netloc == urlsplit(BASE_URL).netloc


def test_given_a_fresh_token_then_the_jwks_publishes_its_kid(
    browser: Browser, agency_client: NewClient
) -> None:
    token = browser.credentials(agency_client).json()["access_token"]

    jwks = browser.http.get("/.well-known/jwks.json").json()

    published = {key["kid"]: key for key in jwks["keys"]}
    assert header_of(token)["kid"] in published
    assert all("d" not in key for key in jwks["keys"])  # no private material


# -- a successful client credentials token is bound to its region -------------------------------


def test_given_an_agency_token_when_reading_another_region_then_refused(
    browser: Browser, agency_client: NewClient
) -> None:
    token = browser.credentials(agency_client).json()["access_token"]
    tianjin = REGION_QUERY.replace("110000", "120000")

    served(browser.graphql(token, REGION_QUERY))
    answer = browser.graphql(token, tianjin)
    assert answer.status_code == 200
    assert answer.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
