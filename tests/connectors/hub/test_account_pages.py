"""The citizen's provider accounts page: link through the provider's OAuth page, come back
linked (with an ingest consent), unlink. Forms carry CSRF tokens; anonymous visitors sign in."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from carbonhub.app import create_app
from carbonhub.connectors.simulators import approve_url
from tests.fixtures.accounts import PASSWORD


@pytest.fixture
def site(hub, providers, fast_settings):
    from dataclasses import replace

    fast = replace(hub, settings=fast_settings)
    running = providers(("bikeshare",))
    app = create_app(hub=fast, connectors=running.connectors(fast), scheduler=False)
    with TestClient(app, base_url="http://127.0.0.1:8000", follow_redirects=False) as client:
        yield client


def csrf(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def sign_in(client: TestClient, username: str) -> None:
    token = csrf(client, "/account/login")
    answer = client.post(
        "/account/login", data={"csrf_token": token, "username": username, "password": PASSWORD}
    )
    assert answer.status_code == 303, answer.text


def test_given_an_anonymous_visitor_then_the_accounts_page_sends_them_to_sign_in(site):
    answer = site.get("/connectors/accounts")

    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/account/login?next=")


def test_given_a_citizen_who_links_and_approves_at_the_provider_then_the_page_shows_the_account(
    site, make_citizen
):
    citizen = make_citizen()
    sign_in(site, citizen.username)
    token = csrf(site, "/connectors/accounts")

    start = site.post(
        "/connectors/bikeshare/link", data={"csrf_token": token, "category": "transport"}
    )
    assert start.status_code == 303
    back = urlsplit(approve_url(start.headers["location"], "B000002"))
    done = site.get(f"{back.path}?{back.query}")
    page = site.get(done.headers["location"])

    assert done.headers["location"] == "/connectors/accounts?done=bikeshare"
    assert '<dd class="subject">B000002</dd>' in page.text
    assert '<dd class="status">active</dd>' in page.text
    assert "http://127.0.0.1:" in page.headers["content-security-policy"]  # the link redirect


def test_given_a_linked_account_when_unlinked_then_the_page_offers_to_link_again(
    site, make_citizen
):
    citizen = make_citizen()
    sign_in(site, citizen.username)
    start = site.post(
        "/connectors/bikeshare/link", data={"csrf_token": csrf(site, "/connectors/accounts")}
    )
    back = urlsplit(approve_url(start.headers["location"], "B000003"))
    site.get(f"{back.path}?{back.query}")

    gone = site.post(
        "/connectors/bikeshare/unlink", data={"csrf_token": csrf(site, "/connectors/accounts")}
    )
    page = site.get(gone.headers["location"])

    assert "B000003" not in page.text
    assert 'action="/connectors/bikeshare/link"' in page.text


def test_given_a_link_form_without_its_csrf_token_then_403(site, make_citizen):
    sign_in(site, make_citizen().username)

    answer = site.post("/connectors/bikeshare/link", data={"category": "transport"})

    assert answer.status_code == 403


def test_given_a_provider_refusal_then_the_citizen_comes_back_with_the_reason(site, make_citizen):
    sign_in(site, make_citizen().username)
    start = site.post(
        "/connectors/bikeshare/link", data={"csrf_token": csrf(site, "/connectors/accounts")}
    )
    back = urlsplit(approve_url(start.headers["location"], "B000004", decision="deny"))

    done = site.get(f"{back.path}?{back.query}")

    assert done.status_code == 303
    assert "error=" in done.headers["location"]
    assert "access_denied" in site.get(done.headers["location"]).text
