"""Rate limits over HTTP against the real app: per IP, per client, the credential guard, the
exemptions, and the 429 answer itself (in-process counters; Redis in test_redis.py)."""

from __future__ import annotations

import base64
import json

import pytest
from starlette.websockets import WebSocketDisconnect

from carbonhub.auth.scopes import ClientKind
from tests.fixtures.accounts import Citizen
from tests.oauth.conftest import Browser
from tests.ratelimit.conftest import REGION_QUERY, access_token, at_ip, bearer

ME = {"query": "{ me { id } }"}


def unsigned_token(**claims: str) -> str:
    """A JWT-shaped token with the given claims and no valid signature (what a forger sends)."""

    def part(data: dict[str, str]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'at+jwt'})}.{part(claims)}.c2ln"


def test_given_an_ip_at_its_limit_when_it_asks_once_more_then_429_with_retry_after_and_a_graphql_error(
    limited_app,
) -> None:
    with at_ip(limited_app(rate_limit_per_ip="3/minute")) as http:
        answers = [http.post("/graphql", json=REGION_QUERY) for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 60
    error = refused.json()["errors"][0]
    assert "rate limit" in error["message"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfter": retry_after}


def test_given_one_ip_over_its_limit_then_another_ip_is_still_served(limited_app) -> None:
    app = limited_app(rate_limit_per_ip="2/minute")
    with at_ip(app, "203.0.113.1") as first:
        for _ in range(3):
            first.post("/graphql", json=REGION_QUERY)
        assert first.post("/graphql", json=REGION_QUERY).status_code == 429

    with at_ip(app, "203.0.113.2") as second:
        assert second.post("/graphql", json=REGION_QUERY).status_code == 200


def test_given_the_ip_limit_then_report_and_account_pages_count_too(limited_app) -> None:
    with at_ip(limited_app(rate_limit_per_ip="2/minute")) as http:
        http.get("/account/login")
        http.get("/reports/region/110000", params={"period": "2023"})
        refused = http.post("/graphql", json=REGION_QUERY)

    assert refused.status_code == 429


def test_health_and_readiness_are_never_limited(limited_app) -> None:
    with at_ip(limited_app(rate_limit_per_ip="1/minute")) as http:
        statuses = {http.get(path).status_code for path in ["/healthz", "/readyz"] * 5}

    assert statuses == {200}


def test_given_the_limiter_disabled_then_nothing_is_ever_answered_429(limited_app) -> None:
    app = limited_app(
        rate_limit_enabled=False, rate_limit_per_ip="1/minute", rate_limit_token_endpoint="1/minute"
    )
    with at_ip(app) as http:
        statuses = {http.post("/graphql", json=REGION_QUERY).status_code for _ in range(5)}
        statuses |= {http.post("/oauth/token", data={}).status_code for _ in range(5)}

    assert 429 not in statuses


def test_given_the_stricter_token_endpoint_limit_then_the_third_token_request_is_refused_oauth_style(
    limited_app,
) -> None:
    app = limited_app(rate_limit_per_ip="100/minute", rate_limit_token_endpoint="2/minute")
    with at_ip(app) as http:
        answers = [
            http.post("/oauth/token", data={"grant_type": "client_credentials"}) for _ in range(3)
        ]
        api = http.post("/graphql", json=REGION_QUERY)

    assert all(a.status_code != 429 for a in answers[:2])
    refused = answers[2]
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "rate_limited"
    assert body["retry_after"] == int(refused.headers["retry-after"]) >= 1
    assert "rate limit" in body["error_description"]
    assert api.status_code == 200  # the IP's general budget is not spent by the guard


def test_given_token_requests_spent_the_guard_then_signing_in_is_refused_but_the_page_shows(
    limited_app, make_citizen
) -> None:
    citizen: Citizen = make_citizen()
    app = limited_app(rate_limit_per_ip="100/minute", rate_limit_token_endpoint="2/minute")
    with at_ip(app) as http:
        for _ in range(2):
            http.post("/oauth/token", data={"grant_type": "client_credentials"})
        page = http.get("/account/login")
        signing_in = http.post(
            "/account/login", data={"username": citizen.username, "password": citizen.password}
        )

    assert page.status_code == 200
    assert signing_in.status_code == 429


def test_given_a_client_that_spent_its_budget_then_it_is_refused_and_another_client_is_served(
    limited_app, make_client
) -> None:
    greedy, other = make_client(name="Greedy"), make_client(name="Other")
    app = limited_app(rate_limit_per_ip="100/minute", rate_limit_per_client="3/minute")
    with at_ip(app) as http:
        token = access_token(http, greedy)  # the token request is the client's first
        served = [http.post("/graphql", json=REGION_QUERY, headers=bearer(token)) for _ in range(2)]
        refused = http.post("/graphql", json=REGION_QUERY, headers=bearer(token))
        other_token = access_token(http, other)
        other_served = http.post("/graphql", json=REGION_QUERY, headers=bearer(other_token))

    assert [a.status_code for a in served] == [200, 200]
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    assert other_served.status_code == 200


def test_given_a_client_over_its_limit_then_its_token_requests_are_refused_too(
    limited_app, make_client
) -> None:
    agency = make_client()
    app = limited_app(rate_limit_per_ip="100/minute", rate_limit_per_client="2/minute")
    with at_ip(app) as http:
        access_token(http, agency)
        access_token(http, agency)
        refused = http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(agency.client_id, agency.client_secret or ""),
        )

    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"


def test_given_forged_tokens_naming_a_client_then_they_get_401_and_do_not_spend_its_budget(
    limited_app, make_client
) -> None:
    victim = make_client()
    app = limited_app(rate_limit_per_ip="100/minute", rate_limit_per_client="2/minute")
    with at_ip(app) as http:
        forged = unsigned_token(client_id=victim.client_id, sub=victim.client_id)
        forgeries = [
            http.post("/graphql", json=REGION_QUERY, headers=bearer(forged)) for _ in range(5)
        ]
        wrong_secret = [
            http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(victim.client_id, "guessed"),
            )
            for _ in range(3)
        ]
        token = access_token(http, victim)
        served = http.post("/graphql", json=REGION_QUERY, headers=bearer(token))

    assert {a.status_code for a in forgeries} == {401}
    assert {a.status_code for a in wrong_secret} == {401}
    assert served.status_code == 200


def test_given_one_app_then_each_citizen_using_it_has_a_budget_of_their_own(
    limited_app, make_client, make_citizen
) -> None:
    app_client = make_client(ClientKind.APP, name="Green app")
    first, second = make_citizen(), make_citizen()
    app = limited_app(rate_limit_per_ip="100/minute", rate_limit_per_client="3/minute")
    with at_ip(app) as http:
        browser = Browser(http)
        first_token = browser.tokens(app_client, first)["access_token"]
        http.cookies.clear()
        second_token = browser.tokens(app_client, second)["access_token"]
        first_answers = [
            http.post("/graphql", json=ME, headers=bearer(first_token)) for _ in range(4)
        ]
        second_answer = http.post("/graphql", json=ME, headers=bearer(second_token))

    assert [a.status_code for a in first_answers] == [200, 200, 200, 429]
    assert second_answer.status_code == 200


def test_given_no_trusted_proxy_then_x_forwarded_for_is_ignored(limited_app) -> None:
    with at_ip(limited_app(rate_limit_per_ip="2/minute"), "198.51.100.9") as http:
        answers = [
            http.post("/graphql", json=REGION_QUERY, headers={"x-forwarded-for": f"192.0.2.{i}"})
            for i in range(3)
        ]

    assert [a.status_code for a in answers] == [200, 200, 429]


def test_given_a_trusted_proxy_then_each_forwarded_client_has_its_own_budget(limited_app) -> None:
    app = limited_app(rate_limit_per_ip="2/minute", rate_limit_trusted_proxies="198.51.100.0/24")
    with at_ip(app, "198.51.100.9") as proxy:

        def ask(forwarded_for: str) -> int:
            headers = {"x-forwarded-for": forwarded_for}
            return proxy.post("/graphql", json=REGION_QUERY, headers=headers).status_code

        spoofed = [ask(f"192.0.2.{i}, 192.0.2.50") for i in range(3)]  # the client made up the left
        other = ask("192.0.2.51")

    assert spoofed == [200, 200, 429]
    assert other == 200


def test_given_an_ip_over_its_limit_then_its_websocket_handshake_to_graphql_is_closed(
    limited_app,
) -> None:
    with at_ip(limited_app(rate_limit_per_ip="1/minute")) as http:
        http.post("/graphql", json=REGION_QUERY)
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]),
        ):
            pass

    assert closed.value.code == 1008
    assert "rate limit" in closed.value.reason


def test_given_ipv6_clients_then_addresses_of_one_64_share_a_budget(limited_app) -> None:
    app = limited_app(rate_limit_per_ip="2/minute")
    with at_ip(app, "2001:db8:1:2::10") as first, at_ip(app, "2001:db8:1:2:ffff::1") as neighbour:
        first.post("/graphql", json=REGION_QUERY)
        neighbour.post("/graphql", json=REGION_QUERY)
        refused = first.post("/graphql", json=REGION_QUERY)
    with at_ip(app, "2001:db8:1:3::10") as elsewhere:
        served = elsewhere.post("/graphql", json=REGION_QUERY)

    assert refused.status_code == 429
    assert served.status_code == 200


def test_given_a_public_client_then_its_form_reaches_the_token_endpoint_and_counts(
    limited_app, make_client
) -> None:
    phone = make_client(ClientKind.APP, name="Phone app", public=True)
    app = limited_app(rate_limit_per_ip="100/minute", rate_limit_per_client="1/minute")
    form = {"grant_type": "refresh_token", "refresh_token": "unknown", "client_id": phone.client_id}
    with at_ip(app) as http:
        first = http.post("/oauth/token", data=form)
        second = http.post("/oauth/token", data=form)

    assert first.json()["error"] == "invalid_grant"  # the endpoint read the whole form
    assert second.status_code == 429
