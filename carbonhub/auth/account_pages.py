"""The citizen's account pages: register, sign in, sign out and "my account".

Plain HTML forms that work without JavaScript. Every POST checks the CSRF token and answers
with a 303 redirect (never 307, which would replay the credentials to the next URL); a
rejected form is shown again with the reason and status 400 (403 for a failed CSRF check).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from carbonhub.actors import RegionTree
from carbonhub.auth.accounts import authenticate, register_citizen
from carbonhub.auth.csrf import CsrfFailure
from carbonhub.auth.pages import DEFAULT_NEXT, Pages, safe_next
from carbonhub.auth.passwords import PasswordHasher
from carbonhub.auth.sessions import (
    clear_session_cookie,
    end_session,
    set_session_cookie,
    signed_in_account,
    start_session,
)
from carbonhub.db import write_session
from carbonhub.errors import CarbonhubError
from carbonhub.models import utcnow
from carbonhub.periods import local_date
from carbonhub.settings import Settings

LOGIN_PATH = "/account/login"
_SEE_OTHER = 303


@dataclass(frozen=True, slots=True)
class DistrictGroup:
    """The districts of one city, for an ``<optgroup>``: (code, "中文名 English name") pairs."""

    label: str
    districts: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class RegistrationConsent:
    """A consent offered on the registration form as a separate, unticked, revocable choice.

    The consent layer sits above this one, so it hands the form its words (the notice in both
    languages) and a function that gives the consent, instead of being imported here.
    ``give(session, person_id, home_region_code, now)`` runs inside the registration's
    transaction, so the account and the consent are created together or not at all.
    """

    field: str
    label_en: str
    label_zh: str
    notice_en: str
    notice_zh: str
    give: Callable[[Session, str, str, datetime], None]


def district_groups(regions: RegionTree) -> tuple[DistrictGroup, ...]:
    """Every district a citizen can live in, grouped by city, named in Chinese and English."""

    def label(code: str) -> str:
        zh, en = regions.name(code)
        return f"{zh} {en}"

    return tuple(
        DistrictGroup(
            label=label(city),
            districts=tuple(
                (code, label(code)) for code in regions.leaves_under(city) if code != city
            ),
        )
        for city in regions.roots()
    )


def account_routes(
    engine: Engine,
    settings: Settings,
    regions: RegionTree,
    *,
    pages: Pages | None = None,
    registration_consent: RegistrationConsent | None = None,
) -> list[BaseRoute]:
    """The routes of the account pages and of their stylesheet (``/static``).

    ``pages`` lets the application share one :class:`Pages` (and so one CSRF key cache) with
    its other pages, such as the OAuth authorisation page. ``registration_consent``, when
    given, is offered on the registration form (unticked; PIPL Art. 16: never bundled).
    """
    handlers = _AccountPages(
        engine,
        settings,
        pages or Pages(engine, settings),
        PasswordHasher.from_settings(settings),
        district_groups(regions),
        registration_consent,
    )
    return [
        Route("/account/", handlers.home, methods=["GET"], name="account"),
        Route("/account/register", handlers.register, methods=["GET", "POST"], name="register"),
        Route(LOGIN_PATH, handlers.login, methods=["GET", "POST"], name="login"),
        Route("/account/logout", handlers.logout, methods=["POST"], name="logout"),
        Mount("/static", app=StaticFiles(packages=[("carbonhub.auth", "static")]), name="static"),
    ]


class _RejectedForm(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=_SEE_OTHER)


class _AccountPages:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        pages: Pages,
        hasher: PasswordHasher,
        districts: tuple[DistrictGroup, ...],
        registration_consent: RegistrationConsent | None = None,
    ) -> None:
        self.engine = engine
        self.registration_consent = registration_consent
        self.settings = settings
        self.pages = pages
        self.hasher = hasher
        self.districts = districts
        self.zone = ZoneInfo(settings.timezone)

    async def _checked_form(self, request: Request) -> FormData:
        try:
            form = await request.form(max_files=0, max_fields=16)
        except HTTPException as exc:
            raise _RejectedForm("The form could not be read; send it again.") from exc
        try:
            self.pages.csrf.check_csrf(request, form)
        except CsrfFailure as exc:
            raise _RejectedForm(str(exc), status=403) from exc
        return form

    async def home(self, request: Request) -> Response:
        account = await run_in_threadpool(signed_in_account, self.engine, request)
        if account is None:
            return _see_other(f"{LOGIN_PATH}?{urlencode({'next': DEFAULT_NEXT})}")
        return self.pages.render(
            request,
            "account.html",
            {"username": account.username, "person_id": account.person_id},
        )

    async def register(self, request: Request) -> Response:
        next_url = safe_next(request.query_params.get("next"))
        if request.method == "GET":
            if await run_in_threadpool(signed_in_account, self.engine, request):
                return _see_other(next_url)
            return self._register_form(request, next_url)
        username = region = ""
        consenting = False
        try:
            form = await self._checked_form(request)
            username, region = _text(form, "username"), _text(form, "home_region")
            offer = self.registration_consent
            consenting = offer is not None and _text(form, offer.field) == "yes"
            next_url = safe_next(_text(form, "next"))
            password = _text(form, "password")
            if password != _text(form, "password_confirmation"):
                raise _RejectedForm("The two passwords differ; type the same password twice.")
            if not region:
                raise _RejectedForm("Choose the district you live in.")
            token = await run_in_threadpool(self._register, username, password, region, consenting)
        except _RejectedForm as exc:
            return self._register_form(
                request, next_url, str(exc), exc.status, username, region, consenting
            )
        except CarbonhubError as exc:
            return self._register_form(
                request, next_url, str(exc), 400, username, region, consenting
            )
        response = _see_other(next_url)
        set_session_cookie(response, token, self.settings)
        return response

    def _register(self, username: str, password: str, region: str, consenting: bool) -> str:
        now = utcnow()
        with write_session(self.engine) as session:
            account = register_citizen(
                session,
                self.hasher,
                username=username,
                password=password,
                home_region_code=region,
                since=local_date(now, self.zone),
            )
            if consenting and self.registration_consent is not None:
                self.registration_consent.give(session, account.person_id, region, now)
            return start_session(session, account, self.settings)

    def _register_form(
        self,
        request: Request,
        next_url: str,
        error: str | None = None,
        status: int = 200,
        username: str = "",
        region: str = "",
        consenting: bool = False,
    ) -> Response:
        return self.pages.render(
            request,
            "register.html",
            {
                "error": error,
                "next": next_url,
                "username": username,
                "region": region,
                "district_groups": self.districts,
                "consent_offer": self.registration_consent,
                "consenting": consenting,
            },
            status=status,
        )

    async def login(self, request: Request) -> Response:
        next_url = safe_next(request.query_params.get("next"))
        if request.method == "GET":
            return self._login_form(request, next_url)
        username = ""
        try:
            form = await self._checked_form(request)
            username, next_url = _text(form, "username"), safe_next(_text(form, "next"))
            token = await run_in_threadpool(
                self._sign_in, request, username, _text(form, "password")
            )
            if token is None:
                raise _RejectedForm("Wrong username or password.")
        except _RejectedForm as exc:
            return self._login_form(request, next_url, str(exc), exc.status, username)
        response = _see_other(next_url)
        set_session_cookie(response, token, self.settings)
        return response

    def _sign_in(self, request: Request, username: str, password: str) -> str | None:
        with write_session(self.engine) as session:
            account = authenticate(session, self.hasher, username, password)
            if account is None:
                return None
            token = start_session(session, account, self.settings)
        # The session the browser came with (if any) ends: one browser, one session.
        end_session(self.engine, request)
        return token

    def _login_form(
        self,
        request: Request,
        next_url: str,
        error: str | None = None,
        status: int = 200,
        username: str = "",
    ) -> Response:
        return self.pages.render(
            request,
            "login.html",
            {"error": error, "next": next_url, "username": username},
            status=status,
        )

    async def logout(self, request: Request) -> Response:
        try:
            await self._checked_form(request)
        except _RejectedForm as exc:
            return self.pages.render(
                request,
                "error.html",
                {"title": "Not signed out", "message": str(exc)},
                status=exc.status,
            )
        await run_in_threadpool(end_session, self.engine, request)
        response = _see_other(LOGIN_PATH)
        clear_session_cookie(response, self.settings)
        return response
