"""Server-side browser sessions of signed-in citizens.

The cookie holds a random token; the ``login_session`` table holds only its SHA-256, so a copy
of the table signs nobody in. Every sign-in gets a new token (no session fixation), and ending
a session is a row update that takes effect on the next request.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session
from sqlmodel import col
from starlette.requests import HTTPConnection
from starlette.responses import Response

from carbonhub.db import read_session, write_session
from carbonhub.models import CitizenAccount, LoginSession, utcnow
from carbonhub.settings import Settings

SESSION_COOKIE = "carbonhub_session"
# token_urlsafe(32) gives 43 characters; anything much longer is not one of ours.
_MAX_TOKEN_LENGTH = 64


def token_digest(token: str) -> str:
    """The SHA-256 hex digest under which a session token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, account: CitizenAccount, settings: Settings) -> str:
    """Open a new login session for ``account``; returns the token to put in the cookie."""
    if account.id is None:
        raise ValueError("the account must be flushed before a session can be started")
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        LoginSession(
            token_hash=token_digest(token),
            account_id=account.id,
            created_at=now,
            expires_at=now + timedelta(hours=settings.session_hours),
        )
    )
    session.flush()
    return token


def _cookie_token(request: HTTPConnection) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return None
    return token


def signed_in_account(engine: Engine, request: HTTPConnection) -> CitizenAccount | None:
    """The citizen the request's session cookie signs in, or None.

    None when there is no cookie, or its session is unknown, ended or expired, or the account
    is disabled. Synchronous: call it through ``run_in_threadpool`` from async code.
    """
    token = _cookie_token(request)
    if token is None:
        return None
    statement = (
        select(CitizenAccount)
        .join(LoginSession, col(LoginSession.account_id) == col(CitizenAccount.id))
        .where(
            col(LoginSession.token_hash) == token_digest(token),
            col(LoginSession.ended_at).is_(None),
            col(LoginSession.expires_at) > utcnow(),
            col(CitizenAccount.disabled_at).is_(None),
        )
    )
    with read_session(engine) as session:
        return session.scalars(statement).one_or_none()


def end_session(engine: Engine, request: HTTPConnection) -> None:
    """End the session the request's cookie names (nothing happens when there is none)."""
    token = _cookie_token(request)
    if token is None:
        return
    with write_session(engine) as session:
        session.execute(
            update(LoginSession)
            .where(
                col(LoginSession.token_hash) == token_digest(token),
                col(LoginSession.ended_at).is_(None),
            )
            .values(ended_at=utcnow())
        )


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    """Put the session token on ``response``.

    HttpOnly (no script reads it), SameSite=Lax (sent on the top-level GET that an OAuth
    client's redirect to the authorisation page is, not on cross-site POSTs), Secure outside
    development, and living as long as the session.
    """
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_hours * 3600,
        path="/",
        secure=settings.is_production,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    """Tell the browser to forget the session cookie."""
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=settings.is_production, httponly=True, samesite="lax"
    )
