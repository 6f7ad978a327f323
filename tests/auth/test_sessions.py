"""Server-side login sessions: what the cookie holds, what the table holds, when they end."""

from __future__ import annotations

from datetime import timedelta
from http.cookies import SimpleCookie

from sqlalchemy import select
from starlette.responses import Response

from carbonhub.auth.sessions import (
    SESSION_COOKIE,
    clear_session_cookie,
    end_session,
    set_session_cookie,
    signed_in_account,
    start_session,
    token_digest,
)
from carbonhub.db import read_session, write_session
from carbonhub.models import CitizenAccount, LoginSession, utcnow
from carbonhub.settings import Settings
from tests.fixtures.accounts import request_with


def started(engine, settings, account) -> str:
    with write_session(engine) as session:
        return start_session(session, account, settings)


def with_cookie(token: str):
    return request_with(cookies={SESSION_COOKIE: token})


def test_given_a_started_session_then_the_table_holds_only_the_tokens_digest(
    engine, fast_settings, make_citizen
) -> None:
    citizen = make_citizen()

    token = started(engine, fast_settings, citizen.account)

    with read_session(engine) as session:
        row = session.scalars(select(LoginSession)).one()
    assert len(token) >= 43
    assert row.token_hash == token_digest(token) != token
    assert row.expires_at - row.created_at == timedelta(hours=fast_settings.session_hours)


def test_given_a_session_cookie_then_the_request_is_signed_in_as_its_citizen(
    engine, fast_settings, make_citizen
) -> None:
    citizen = make_citizen()
    token = started(engine, fast_settings, citizen.account)

    account = signed_in_account(engine, with_cookie(token))

    assert account is not None
    assert account.username == citizen.username


def test_each_sign_in_gets_a_new_token(engine, fast_settings, make_citizen) -> None:
    citizen = make_citizen()

    assert started(engine, fast_settings, citizen.account) != started(
        engine, fast_settings, citizen.account
    )


def test_without_a_cookie_or_with_an_unknown_token_nobody_is_signed_in(
    engine, fast_settings, make_citizen
) -> None:
    started(engine, fast_settings, make_citizen().account)

    assert signed_in_account(engine, request_with()) is None
    assert signed_in_account(engine, with_cookie("forged-token")) is None
    assert signed_in_account(engine, with_cookie("x" * 5000)) is None


def test_given_an_expired_session_then_nobody_is_signed_in(
    engine, fast_settings, make_citizen
) -> None:
    token = started(engine, fast_settings, make_citizen().account)
    with write_session(engine) as session:
        session.get(LoginSession, token_digest(token)).expires_at = utcnow() - timedelta(seconds=1)

    assert signed_in_account(engine, with_cookie(token)) is None


def test_given_an_ended_session_then_its_cookie_signs_nobody_in_and_others_stay(
    engine, fast_settings, make_citizen
) -> None:
    citizen = make_citizen()
    ended = started(engine, fast_settings, citizen.account)
    other = started(engine, fast_settings, citizen.account)

    end_session(engine, with_cookie(ended))

    assert signed_in_account(engine, with_cookie(ended)) is None
    assert signed_in_account(engine, with_cookie(other)) is not None


def test_given_a_disabled_account_then_its_sessions_sign_nobody_in(
    engine, fast_settings, make_citizen
) -> None:
    citizen = make_citizen()
    token = started(engine, fast_settings, citizen.account)
    with write_session(engine) as session:
        session.get(CitizenAccount, citizen.account.id).disabled_at = utcnow()

    assert signed_in_account(engine, with_cookie(token)) is None


def cookie_of(response: Response) -> str:
    return response.headers["set-cookie"]


def test_the_session_cookie_is_httponly_lax_and_lives_as_long_as_the_session() -> None:
    response = Response()

    set_session_cookie(response, "tok", Settings(session_hours=2))

    header = cookie_of(response)
    morsel = SimpleCookie(header)[SESSION_COOKIE]
    assert morsel.value == "tok"
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "lax"
    assert morsel["path"] == "/"
    assert morsel["max-age"] == "7200"
    assert "secure" not in header.lower()


def test_in_production_the_session_cookie_is_secure() -> None:
    response = Response()

    set_session_cookie(response, "tok", Settings(env="production"))

    assert SimpleCookie(cookie_of(response))[SESSION_COOKIE]["secure"] is True


def test_clearing_the_session_cookie_expires_it() -> None:
    response = Response()

    clear_session_cookie(response, Settings())

    morsel = SimpleCookie(cookie_of(response))[SESSION_COOKIE]
    assert morsel.value == ""
    assert morsel["max-age"] == "0"
