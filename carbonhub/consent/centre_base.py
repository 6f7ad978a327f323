"""The consent centre's plumbing: paths, the signed-in citizen, transactions, forms, rendering.

Shared by the page handlers of :mod:`carbonhub.consent.centre` and
:mod:`carbonhub.consent.centre_records`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from carbonhub.actors import RegionTree
from carbonhub.auth.account_pages import LOGIN_PATH
from carbonhub.auth.csrf import CsrfFailure
from carbonhub.auth.keys import KeyRing
from carbonhub.auth.pages import Pages
from carbonhub.auth.sessions import signed_in_account
from carbonhub.consent.centre_text import (
    LANGUAGE_COOKIE,
    LANGUAGE_NAMES,
    LANGUAGES,
    choose_language,
    text_of,
)
from carbonhub.consent.centre_views import Describer
from carbonhub.consent.service import ConsentService
from carbonhub.db import read_session, write_session
from carbonhub.methodology import Catalogue, ProgrammeDirectory
from carbonhub.models import CitizenAccount
from carbonhub.settings import Settings

CENTRE = "/consent/"
VERIFY_PATH = "/receipts/verify"
JWKS_PATH = "/.well-known/jwks.json"
REGIONAL_CONSENT_DAYS = 365
_SEE_OTHER = 303
MAX_RECEIPT_BYTES = 64 * 1024
DONE_NOTICES = ("granted", "approved", "denied", "revoked")
T = TypeVar("T")


class Rejected(Exception):
    """A form the centre cannot accept; the message is shown to the citizen."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=_SEE_OTHER)


def form_values(form: Mapping[str, Any] | FormData, name: str) -> tuple[str, ...]:
    if isinstance(form, FormData):
        return tuple(v for v in form.getlist(name) if isinstance(v, str))
    value = form.get(name)
    return (value,) if isinstance(value, str) else ()


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


class CentreBase:
    """What every page handler needs; one instance per application."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        keys: KeyRing,
        consents: ConsentService,
        catalogue: Catalogue,
        programmes: ProgrammeDirectory,
        regions: RegionTree,
        pages: Pages,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.keys = keys
        self.consents = consents
        self.catalogue = catalogue
        self.programmes = programmes
        self.regions = regions
        self.pages = pages
        self.zone = ZoneInfo(settings.timezone)

    # -- plumbing -----------------------------------------------------------------------------

    def _describer(self, language: str) -> Describer:
        return Describer(language, self.catalogue, self.programmes, self.regions, self.zone)

    async def _account(self, request: Request) -> CitizenAccount | None:
        return await run_in_threadpool(signed_in_account, self.engine, request)

    @staticmethod
    def _to_login(request: Request) -> Response:
        target = request.url.path
        if request.url.query and request.method == "GET":
            target = f"{target}?{request.url.query}"
        return see_other(f"{LOGIN_PATH}?{urlencode({'next': target})}")

    async def _read(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with read_session(self.engine) as session:
                return work(session)

        return await run_in_threadpool(run)

    async def _write(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with write_session(self.engine) as session:
                return work(session)

        return await run_in_threadpool(run)

    async def _checked_form(self, request: Request, language: str) -> FormData:
        try:
            form = await request.form(max_files=0, max_fields=64)
        except HTTPException as exc:
            raise Rejected(text_of(language)["error_form"]) from exc
        try:
            self.pages.csrf.check_csrf(request, form)
        except CsrfFailure as exc:
            raise Rejected(str(exc), status=403) from exc
        return form

    def _render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any],
        *,
        status: int = 200,
        error: str | None = None,
    ) -> Response:
        language, remember = choose_language(request)
        switch = [
            (code, LANGUAGE_NAMES[code], f"{request.url.path}?{urlencode({'lang': code})}")
            for code in LANGUAGES
        ]
        response = self.pages.render(
            request,
            f"centre/{template}",
            {
                "t": text_of(language),
                "lang": language,
                "languages": switch,
                "error": error,
                "jwks_url": JWKS_PATH,
                "verify_url": VERIFY_PATH,
                **context,
            },
            status=status,
            headers={"content-language": language, "vary": "Accept-Language, Cookie"},
        )
        if remember:
            response.set_cookie(
                LANGUAGE_COOKIE,
                language,
                max_age=365 * 24 * 3600,
                path="/",
                secure=self.settings.is_production,
                httponly=True,
                samesite="lax",
            )
        return response

    def _error(self, request: Request, message: str, status: int) -> Response:
        return self._render(
            request, "message.html", {"title_key": "error_title"}, status=status, error=message
        )
