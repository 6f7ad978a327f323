"""Signed double-submit CSRF tokens, the Origin check and the shared key."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select
from starlette.responses import Response

from carbonhub.auth.csrf import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CsrfFailure,
    CsrfProtection,
    load_or_create_key,
    origin_of,
)
from carbonhub.db import read_session, write_session
from carbonhub.models import ServerKey, utcnow
from tests.fixtures.accounts import request_with


@pytest.fixture
def csrf(engine, settings) -> CsrfProtection:
    return CsrfProtection(engine, settings.model_copy(update={"public_url": "https://hub.example"}))


def issued(csrf: CsrfProtection) -> tuple[str, str]:
    """A fresh (cookie value, form token) pair, as a first page view gets them."""
    response = Response()
    token = csrf.csrf_token(request_with(), response)
    cookie = response.headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]
    return cookie, token


def test_given_the_cookie_and_its_token_then_the_form_is_accepted(csrf) -> None:
    cookie, token = issued(csrf)

    csrf.check_csrf(request_with(cookies={CSRF_COOKIE: cookie}), {CSRF_FIELD: token})


def test_given_a_cookie_already_then_the_same_token_is_issued_and_no_cookie_set(csrf) -> None:
    cookie, token = issued(csrf)
    response = Response()

    again = csrf.csrf_token(request_with(cookies={CSRF_COOKIE: cookie}), response)

    assert again == token
    assert "set-cookie" not in response.headers


def test_the_form_token_is_not_the_cookie_value(csrf) -> None:
    cookie, token = issued(csrf)

    assert token != cookie


@pytest.mark.parametrize("missing", ["cookie", "token", "both"])
def test_given_a_missing_cookie_or_token_then_the_form_is_refused(csrf, missing) -> None:
    cookie, token = issued(csrf)
    cookies = {} if missing in ("cookie", "both") else {CSRF_COOKIE: cookie}
    form = {} if missing in ("token", "both") else {CSRF_FIELD: token}

    with pytest.raises(CsrfFailure):
        csrf.check_csrf(request_with(cookies=cookies), form)


def test_given_the_token_of_another_cookie_then_the_form_is_refused(csrf) -> None:
    cookie, _ = issued(csrf)
    _, other_token = issued(csrf)

    with pytest.raises(CsrfFailure):
        csrf.check_csrf(request_with(cookies={CSRF_COOKIE: cookie}), {CSRF_FIELD: other_token})


def test_given_the_cookie_value_itself_as_the_token_then_the_form_is_refused(csrf) -> None:
    cookie, _ = issued(csrf)

    with pytest.raises(CsrfFailure):
        csrf.check_csrf(request_with(cookies={CSRF_COOKIE: cookie}), {CSRF_FIELD: cookie})


@pytest.mark.parametrize(
    "origin", ["http://testserver", "https://hub.example", "https://HUB.example:443"]
)
def test_given_an_origin_of_the_hub_then_the_form_is_accepted(csrf, origin) -> None:
    cookie, token = issued(csrf)
    request = request_with(cookies={CSRF_COOKIE: cookie}, headers={"origin": origin})

    csrf.check_csrf(request, {CSRF_FIELD: token})


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "null", "http://testserver:8080", "https://hub.example.evil"]
)
def test_given_a_foreign_origin_then_the_form_is_refused_even_with_a_good_token(
    csrf, origin
) -> None:
    cookie, token = issued(csrf)
    request = request_with(cookies={CSRF_COOKIE: cookie}, headers={"origin": origin})

    with pytest.raises(CsrfFailure, match="another site"):
        csrf.check_csrf(request, {CSRF_FIELD: token})


def test_two_protections_of_one_hub_share_the_key_so_tokens_survive_restarts(
    engine, settings
) -> None:
    cookie, token = issued(CsrfProtection(engine, settings))

    CsrfProtection(engine, settings).check_csrf(
        request_with(cookies={CSRF_COOKIE: cookie}), {CSRF_FIELD: token}
    )


def test_given_processes_starting_together_then_they_agree_on_one_key(engine) -> None:
    with ThreadPoolExecutor(max_workers=6) as pool:
        keys = set(pool.map(lambda _: load_or_create_key(engine), range(6)))

    with read_session(engine) as session:
        rows = session.scalars(select(ServerKey).where(ServerKey.purpose == "csrf")).all()
    assert len(keys) == 1
    assert len(rows) == 1
    assert len(next(iter(keys))) == 32
    assert rows[0].created_at.tzinfo is not None


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Hub.Example:443/oauth/authorize?x=1", "https://hub.example"),
        ("http://127.0.0.1:8000/", "http://127.0.0.1:8000"),
        ("http://[::1]:80", "http://[::1]"),
        ("null", None),
        ("javascript:alert(1)", None),
        ("https://host:notaport", None),
    ],
)
def test_origins_are_normalised(url, origin) -> None:
    assert origin_of(url) == origin


def test_given_the_key_was_retired_then_a_new_key_is_made_and_old_tokens_fail(
    engine, settings
) -> None:
    cookie, token = issued(CsrfProtection(engine, settings))
    with write_session(engine) as session:
        for key in session.scalars(select(ServerKey)):
            key.retired_at = utcnow()

    fresh = CsrfProtection(engine, settings)

    with pytest.raises(CsrfFailure):
        fresh.check_csrf(request_with(cookies={CSRF_COOKIE: cookie}), {CSRF_FIELD: token})
    with read_session(engine) as session:
        kids = sorted(session.scalars(select(ServerKey.kid)))
    assert kids == ["csrf-1", "csrf-2"]
