"""Cross-site request forgery protection for the hub's own HTML forms (signed double submit).

A cookie ``carbonhub_csrf`` carries a random value; every form carries HMAC(key, that value).
A forged cross-site form can make the browser send the cookie, but cannot read it to compute
the matching form field, and the key never leaves the server. When the browser says where a
request comes from (``Origin``), it must be the hub itself.

The key is a ``server_key`` row of purpose ``csrf``, created by the first process that needs
one; concurrent first uses agree on the same row.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from sqlmodel import col
from starlette.requests import HTTPConnection
from starlette.responses import Response

from carbonhub.db import insert_ignoring_conflicts, read_session, write_session
from carbonhub.errors import AccessDenied
from carbonhub.models import ServerKey, table_of, utcnow
from carbonhub.settings import Settings

CSRF_COOKIE = "carbonhub_csrf"
CSRF_FIELD = "csrf_token"
KEY_PURPOSE = "csrf"
_MAX_COOKIE_LENGTH = 64
_DEFAULT_PORTS = {"http": 80, "https": 443}


class CsrfFailure(AccessDenied):
    """A form submission that cannot be shown to come from the hub's own page (HTTP 403)."""


@dataclass(frozen=True, slots=True)
class CsrfIssue:
    """The form token of a request, and the cookie value to set when the request had none."""

    token: str
    new_cookie: str | None


class CsrfProtection:
    """Issue and check the CSRF tokens of one hub (its database holds the key)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        """Protect the forms of the hub on ``engine``; the key is read on first use."""
        self._engine = engine
        self._settings = settings
        self._key: bytes | None = None
        self._lock = threading.Lock()

    def key(self) -> bytes:
        """The HMAC key, read (or created) once per process: a short query the first time."""
        with self._lock:
            if self._key is None:
                self._key = load_or_create_key(self._engine)
            return self._key

    def issue(self, request: HTTPConnection) -> CsrfIssue:
        """The form token for ``request``, reusing its cookie so that open tabs stay valid."""
        cookie = _usable(request.cookies.get(CSRF_COOKIE))
        new_cookie = None
        if cookie is None:
            cookie = new_cookie = secrets.token_urlsafe(32)
        return CsrfIssue(token=self._sign(cookie), new_cookie=new_cookie)

    def set_cookie(self, response: Response, value: str) -> None:
        """Put a CSRF cookie value on ``response`` (HttpOnly, SameSite=Lax, Secure outside development)."""
        response.set_cookie(
            CSRF_COOKIE,
            value,
            max_age=self._settings.session_hours * 3600,
            path="/",
            secure=self._settings.is_production,
            httponly=True,
            samesite="lax",
        )

    def csrf_token(self, request: HTTPConnection, response: Response) -> str:
        """The token to put in a form's ``csrf_token`` field; sets the cookie on ``response`` if needed."""
        issued = self.issue(request)
        if issued.new_cookie is not None:
            self.set_cookie(response, issued.new_cookie)
        return issued.token

    def check_csrf(self, request: HTTPConnection, form: Mapping[str, Any]) -> None:
        """Raise :class:`CsrfFailure` unless the submitted form is one the hub served.

        Fails when the cookie or the form token is missing or they do not match, or when an
        ``Origin`` header names neither the request's own origin nor the hub's public URL.
        """
        origin = request.headers.get("origin")
        if origin is not None and origin_of(origin) not in self._allowed_origins(request):
            raise CsrfFailure("This form was sent from another site; it was not accepted.")
        cookie = _usable(request.cookies.get(CSRF_COOKIE))
        submitted = form.get(CSRF_FIELD)
        if cookie is None or not isinstance(submitted, str) or not submitted:
            raise CsrfFailure(
                "The form has expired or cookies are blocked; reload the page and try again."
            )
        if not hmac.compare_digest(submitted.encode(), self._sign(cookie).encode()):
            raise CsrfFailure("The form has expired; reload the page and try again.")

    def _allowed_origins(self, request: HTTPConnection) -> set[str | None]:
        return {origin_of(str(request.url)), origin_of(self._settings.public_url)} - {None}

    def _sign(self, cookie: str) -> str:
        digest = hmac.new(self.key(), b"carbonhub-csrf\x00" + cookie.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def origin_of(url: str) -> str | None:
    """The normalised web origin (``scheme://host[:port]``) of a URL or Origin header, or None.

    Default ports are dropped and scheme and host lower-cased, so ``https://Hub.example:443``
    and ``https://hub.example`` are the same origin. ``null`` and non-http(s) give None.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def _usable(cookie: str | None) -> str | None:
    if not cookie or len(cookie) > _MAX_COOKIE_LENGTH:
        return None
    return cookie


def _active_key(session: Session) -> ServerKey | None:
    return session.scalars(
        select(ServerKey)
        .where(col(ServerKey.purpose) == KEY_PURPOSE, col(ServerKey.retired_at).is_(None))
        .order_by(col(ServerKey.created_at).desc(), col(ServerKey.kid).desc())
        .limit(1)
    ).one_or_none()


def load_or_create_key(engine: Engine) -> bytes:
    """The active CSRF key of the hub, created if there is none.

    Processes starting together all try to insert the same next key id; the database keeps
    one row (the other inserts are ignored) and all then read that row.
    """
    with read_session(engine) as session:
        existing = _active_key(session)
        if existing is not None:
            return _decode(existing.private_key)
    with write_session(engine) as session:
        if _active_key(session) is None:
            # The next key's id depends only on the retired keys, which concurrent starters
            # see alike, so they all insert the same id and the database keeps one row.
            retired = session.scalar(
                select(func.count())
                .select_from(ServerKey)
                .where(
                    col(ServerKey.purpose) == KEY_PURPOSE, col(ServerKey.retired_at).is_not(None)
                )
            )
            generation = (retired or 0) + 1
            row = {
                "kid": f"{KEY_PURPOSE}-{generation}",
                "purpose": KEY_PURPOSE,
                "algorithm": "HS256",
                "private_key": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
                "created_at": utcnow(),
            }
            insert_ignoring_conflicts(session, table_of(ServerKey), [row], ["kid"])
    with read_session(engine) as session:
        created = _active_key(session)
        if created is None:  # retired between the insert and this read: astonishing
            raise RuntimeError("no active CSRF key after creating one")
        return _decode(created.private_key)


def _decode(stored: str) -> bytes:
    return base64.urlsafe_b64decode(stored.encode())
