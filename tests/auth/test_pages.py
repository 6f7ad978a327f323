"""The account pages over HTTP: register, sign in, sign out, "my account"; CSRF and headers."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from carbonhub.auth.csrf import CSRF_COOKIE
from carbonhub.auth.pages import Pages, safe_next, security_headers
from carbonhub.auth.sessions import SESSION_COOKIE, token_digest
from carbonhub.db import read_session
from carbonhub.models import CitizenAccount, LoginSession
from tests.fixtures.accounts import PASSWORD, request_with

GOOD = {
    "username": "wang.fang",
    "password": "green commute 2023",
    "password_confirmation": "green commute 2023",
    "home_region": "110108",
}


def csrf_of(web, path: str = "/account/login") -> str:
    """Open a page the way a browser does and read the form's CSRF token."""
    page = web.get(path)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def post(web, path: str, data: dict[str, str], *, token_from: str | None = None, **kwargs):
    form = {"csrf_token": csrf_of(web, token_from or path), **data}
    return web.post(path, data=form, **kwargs)


def sign_in(web, username: str, password: str = PASSWORD, next_url: str | None = None):
    data = {"username": username, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return post(web, "/account/login", data)


# -- registration -----------------------------------------------------------------------------


def test_the_registration_form_offers_districts_grouped_by_city_in_both_languages(web) -> None:
    page = web.get("/account/register")

    assert page.status_code == 200
    assert '<optgroup label="北京市 Beijing">' in page.text
    assert '<option value="110108" >海淀区 Haidian District</option>' in page.text
    assert '<optgroup label="上海市 Shanghai">' in page.text
    assert 'value="110000"' not in page.text  # a city is not a place of residence


def test_given_a_good_form_when_registering_then_303_to_my_account_signed_in(web, engine) -> None:
    response = post(web, "/account/register", GOOD)

    assert response.status_code == 303
    assert response.headers["location"] == "/account/"
    home = web.get("/account/")
    assert home.status_code == 200
    assert "wang.fang" in home.text
    with read_session(engine) as session:
        account = session.scalars(select(CitizenAccount)).one()
    assert account.person_id in home.text


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"password_confirmation": "green commute 2024"}, "The two passwords differ"),
        ({"password": "short", "password_confirmation": "short"}, "at least 10 characters"),
        ({"username": "Wang Fang"}, "lower-case letters"),
        ({"home_region": ""}, "Choose the district"),
        ({"home_region": "110000"}, "is not a district"),
    ],
)
def test_given_a_bad_form_when_registering_then_400_with_the_reason_and_no_account(
    web, engine, change, says
) -> None:
    response = post(web, "/account/register", {**GOOD, **change})

    assert response.status_code == 400
    assert says in response.text
    assert GOOD["password"] not in response.text
    assert SESSION_COOKIE not in response.cookies
    with read_session(engine) as session:
        assert session.scalars(select(CitizenAccount)).all() == []


def test_given_a_taken_username_when_registering_then_400_and_the_choices_are_kept(
    web, make_citizen
) -> None:
    make_citizen("wang.fang")

    response = post(web, "/account/register", {**GOOD, "home_region": "310104"})

    assert response.status_code == 400
    assert "is taken" in response.text
    assert 'value="wang.fang"' in response.text
    assert '<option value="310104" selected>' in response.text


def test_what_a_citizen_typed_is_shown_back_escaped(web) -> None:
    response = post(web, "/account/register", {**GOOD, "username": '"><script>alert(1)</script>'})

    assert response.status_code == 400
    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;alert(1)" in response.text


def test_given_no_csrf_token_when_registering_then_403_and_no_account(web, engine) -> None:
    web.get("/account/register")

    response = web.post("/account/register", data=GOOD)

    assert response.status_code == 403
    assert "reload the page" in response.text
    with read_session(engine) as session:
        assert session.scalars(select(CitizenAccount)).all() == []


def test_given_a_post_from_another_site_when_registering_then_403(web) -> None:
    response = post(web, "/account/register", GOOD, headers={"origin": "https://evil.example"})

    assert response.status_code == 403
    assert "another site" in response.text


def test_an_unreadable_form_is_a_400_page_not_a_traceback(web) -> None:
    token = csrf_of(web)

    response = web.post(
        "/account/login",
        data={"csrf_token": token, "username": "x"},
        files={"upload": ("a.txt", b"files are not accepted")},
    )

    assert response.status_code == 400
    assert "could not be read" in response.text
    assert "Traceback" not in response.text


# -- sign-in ----------------------------------------------------------------------------------


def test_given_the_right_password_when_signing_in_then_303_to_my_account(web, make_citizen) -> None:
    citizen = make_citizen()

    response = sign_in(web, citizen.username)

    assert response.status_code == 303
    assert response.headers["location"] == "/account/"
    assert citizen.username in web.get("/account/").text


@pytest.mark.parametrize("who", ["wrong password", "unknown username"])
def test_given_bad_credentials_when_signing_in_then_400_saying_nothing_about_which(
    web, make_citizen, who
) -> None:
    citizen = make_citizen()
    username = citizen.username if who == "wrong password" else "nobody.here"

    response = sign_in(web, username, "not the password")

    assert response.status_code == 400
    assert "Wrong username or password." in response.text
    assert SESSION_COOKIE not in response.cookies


def test_a_safe_next_path_is_where_signing_in_leads(web, make_citizen) -> None:
    citizen = make_citizen()
    target = "/oauth/authorize?client_id=app&scope=ledger%3Aread"

    page = web.get("/account/login", params={"next": target})
    response = sign_in(web, citizen.username, next_url=target)

    assert 'name="next" value="/oauth/authorize?client_id=app&amp;scope=ledger%3Aread"' in page.text
    assert response.status_code == 303
    assert response.headers["location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "evil.example",
        "javascript:alert(1)",
        "",
    ],
)
def test_an_unsafe_next_is_replaced_by_my_account(web, make_citizen, target) -> None:
    citizen = make_citizen()

    response = sign_in(web, citizen.username, next_url=target)

    assert response.status_code == 303
    assert response.headers["location"] == "/account/"


def test_signing_in_replaces_the_browsers_session_no_fixation(web, engine, make_citizen) -> None:
    citizen = make_citizen()
    sign_in(web, citizen.username)
    before = web.cookies[SESSION_COOKIE]

    sign_in(web, citizen.username)
    after = web.cookies[SESSION_COOKIE]

    assert after != before
    with read_session(engine) as session:
        assert session.get(LoginSession, token_digest(before)).ended_at is not None
        assert session.get(LoginSession, token_digest(after)).ended_at is None


# -- my account and sign-out -------------------------------------------------------------------


def test_my_account_without_signing_in_leads_to_the_sign_in_page(web) -> None:
    response = web.get("/account/")

    assert response.status_code == 303
    assert response.headers["location"] == "/account/login?next=%2Faccount%2F"


def test_signing_out_ends_the_session_and_leads_to_the_sign_in_page(web, make_citizen) -> None:
    citizen = make_citizen()
    sign_in(web, citizen.username)
    token = web.cookies[SESSION_COOKIE]

    response = post(web, "/account/logout", {}, token_from="/account/")

    assert response.status_code == 303
    assert response.headers["location"] == "/account/login"
    web.cookies.set(SESSION_COOKIE, token)  # a copy of the old cookie signs nobody in
    assert web.get("/account/").status_code == 303


def test_signing_out_without_the_csrf_token_is_refused(web, make_citizen) -> None:
    citizen = make_citizen()
    sign_in(web, citizen.username)

    response = web.post("/account/logout", data={})

    assert response.status_code == 403
    assert web.get("/account/").status_code == 200


# -- headers, assets, rendering ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/account/login", "/account/register"])
def test_pages_forbid_framing_and_caching_and_set_the_csrf_cookie(web, path) -> None:
    response = web.get(path)

    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "form-action 'self';" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "same-origin"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{CSRF_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie


def test_the_stylesheet_is_served(web) -> None:
    response = web.get("/static/carbonhub.css")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")


def test_a_page_whose_form_redirects_elsewhere_may_name_that_origin() -> None:
    csp = security_headers(["https://app.example/callback?x=1", "not a url"])[
        "content-security-policy"
    ]

    assert "form-action 'self' https://app.example;" in csp


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/consent/?tab=grants", "/consent/?tab=grants"),
        ("/", "/"),
        (None, "/account/"),
        ("//evil.example", "/account/"),
        ("/\\evil.example", "/account/"),
        ("/\n/evil.example", "/account/"),
        ("http://evil.example", "/account/"),
        ("/" + "a" * 3000, "/account/"),
    ],
)
def test_safe_next_accepts_only_local_paths(value, expected) -> None:
    assert safe_next(value) == expected


def test_the_authorisation_page_asks_with_the_request_echoed_in_hidden_fields(
    engine, settings
) -> None:
    response = Pages(engine, settings).render(
        request_with(),
        "authorize.html",
        {
            "account_username": "wang.fang",
            "client_name": "Green <Commute> App",
            "client_kind": "app",
            "scopes": [("ledger:read", "Read your carbon ledger")],
            "hidden": {"client_id": "app-1", "state": '"><b>x'},
        },
        form_targets=["https://app.example/cb"],
    )

    html = response.body.decode()
    assert 'action="/oauth/authorize"' in html
    assert 'name="decision" value="approve"' in html
    assert 'name="decision" value="deny"' in html
    assert '<input type="hidden" name="client_id" value="app-1">' in html
    assert 'value="&#34;&gt;&lt;b&gt;x"' in html
    assert "Green &lt;Commute&gt; App" in html
    assert "Read your carbon ledger" in html
    assert re.search(r'name="csrf_token" value="[^"]+"', html)
    assert "form-action 'self' https://app.example;" in response.headers["content-security-policy"]


def test_the_error_page_shows_its_title_and_message(engine, settings) -> None:
    response = Pages(engine, settings).render(
        request_with(),
        "error.html",
        {"title": "Unknown client", "message": "No such <client>."},
        status=400,
    )

    assert response.status_code == 400
    assert "Unknown client" in response.body.decode()
    assert "No such &lt;client&gt;." in response.body.decode()
