"""The consent centre at ``/consent/``: the signed-in citizen's consents, receipts, log and data.

Server-rendered pages with plain HTML forms (no JavaScript), in Simplified Chinese and English
(:mod:`carbonhub.consent.centre_text`). The citizen sees each consent in plain words, answers
their employer's requests (approving only some categories if they like), gives or revokes the
regional-statistics consent, downloads signed receipts, reads who accessed their data, and
exports or erases everything. ``/receipts/verify`` checks a receipt for anyone.

Every POST checks the CSRF token and answers 303; a form that cannot be accepted is shown again
with the reason (400, 403 for CSRF). Database work runs in the thread pool. This module sits in
the consent layer, so it gets the hub's parts as arguments rather than importing the hub.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from joserfc.errors import JoseError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from sqlmodel import col
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from carbonhub.actors import RegionTree
from carbonhub.auth.account_pages import LOGIN_PATH, RegistrationConsent
from carbonhub.auth.csrf import CsrfFailure
from carbonhub.auth.keys import KeyRing
from carbonhub.auth.pages import Pages
from carbonhub.auth.sessions import clear_session_cookie, end_session, signed_in_account
from carbonhub.consent.access_log import entries_for_person
from carbonhub.consent.centre_text import (
    LANGUAGE_COOKIE,
    LANGUAGE_NAMES,
    LANGUAGES,
    choose_language,
    text_of,
)
from carbonhub.consent.centre_views import Describer, split_consents
from carbonhub.consent.notices import notice_for
from carbonhub.consent.receipts import verify_receipt
from carbonhub.consent.rights import erase_person, export_person
from carbonhub.consent.service import ConsentService, ConsentTerms
from carbonhub.db import read_session, write_session
from carbonhub.errors import CarbonhubError
from carbonhub.methodology import Catalogue, ProgrammeDirectory
from carbonhub.models import CitizenAccount, ConsentReceipt, Person, utcnow
from carbonhub.periods import local_date
from carbonhub.settings import Settings

CENTRE = "/consent/"
VERIFY_PATH = "/receipts/verify"
JWKS_PATH = "/.well-known/jwks.json"
REGIONAL_CONSENT_DAYS = 365
_SEE_OTHER = 303
_MAX_RECEIPT_BYTES = 64 * 1024
_DONE = ("granted", "approved", "denied", "revoked")
T = TypeVar("T")


class _Rejected(Exception):
    """A form the centre cannot accept; the message is shown to the citizen."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def regional_terms(
    programmes: ProgrammeDirectory,
    home_region: str,
    categories: tuple[str, ...],
    now: datetime,
    zone: ZoneInfo,
    language: str,
) -> ConsentTerms | None:
    """The regional-statistics consent a citizen of ``home_region`` is offered, or None.

    The recipient is the programme of the citizen's province; the data window runs from the
    start of the current year to the consent's expiry, one year from now (well within the
    notice's maximum), so the citizen's whole season counts while the consent is in force.
    """
    programme = programmes.for_region(home_region)
    if programme is None:
        return None
    expires = now + timedelta(days=REGIONAL_CONSENT_DAYS)
    today = local_date(now, zone)
    return ConsentTerms(
        purpose="regional_statistics",
        recipient_id=programme.region,
        categories=categories,
        data_from=date(today.year, 1, 1),
        data_to=local_date(expires, zone),
        expires_at=expires,
        language=language,
    )


def registration_consent(
    consents: ConsentService, catalogue: Catalogue, programmes: ProgrammeDirectory, zone: str
) -> RegistrationConsent:
    """The regional-statistics consent offered (unticked) on the registration form.

    Ticking it gives the consent for every category inside the registration's transaction;
    it is a consent like any other, revocable in the consent centre.
    """
    notice = notice_for("regional_statistics")
    en, zh = text_of("en"), text_of("zh-CN")
    every_category = tuple(c.code for c in catalogue.categories)
    time_zone = ZoneInfo(zone)

    def give(session: Session, person_id: str, home_region: str, now: datetime) -> None:
        terms = regional_terms(programmes, home_region, every_category, now, time_zone, "zh-CN")
        if terms is not None:
            consents.grant(session, person_id, terms, now=now)

    return RegistrationConsent(
        field="regional_statistics",
        label_en=en["regional_grant"],
        label_zh=zh["regional_grant"],
        notice_en=notice.text("en"),
        notice_zh=notice.text("zh-CN"),
        give=give,
    )


def consent_centre_routes(
    engine: Engine,
    settings: Settings,
    keys: KeyRing,
    consents: ConsentService,
    catalogue: Catalogue,
    programmes: ProgrammeDirectory,
    regions: RegionTree,
    *,
    pages: Pages | None = None,
) -> list[BaseRoute]:
    """The routes of the consent centre, of ``/receipts/verify`` and of their stylesheet.

    ``pages`` lets the application share one CSRF key cache with its other pages; the centre
    adds its own templates to it.
    """
    centre = _ConsentCentre(
        engine,
        settings,
        keys,
        consents,
        catalogue,
        programmes,
        regions,
        (pages or Pages(engine, settings)).including("carbonhub.consent"),
    )
    return [
        Route(CENTRE, centre.overview, methods=["GET"], name="consent_centre"),
        Route("/consent/requests/{request_id}", centre.answer, methods=["POST"]),
        Route("/consent/regional", centre.grant_regional, methods=["POST"]),
        Route("/consent/consents/{consent_id}/revoke", centre.revoke, methods=["GET", "POST"]),
        Route("/consent/receipts", centre.receipts, methods=["GET"]),
        Route("/consent/receipts/{receipt_id}.jws", centre.receipt_file, methods=["GET"]),
        Route("/consent/access-log", centre.access_log, methods=["GET"]),
        Route("/consent/data", centre.data, methods=["GET"]),
        Route("/consent/export.json", centre.export, methods=["GET"]),
        Route("/consent/erase", centre.erase, methods=["GET", "POST"]),
        Route("/consent/erased", centre.erased, methods=["GET"]),
        Route(VERIFY_PATH, centre.verify, methods=["GET", "POST"]),
        Mount(
            "/consent/static",
            app=StaticFiles(packages=[("carbonhub.consent", "static")]),
            name="consent_static",
        ),
    ]


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=_SEE_OTHER)


def _values(form: Mapping[str, Any] | FormData, name: str) -> tuple[str, ...]:
    if isinstance(form, FormData):
        return tuple(v for v in form.getlist(name) if isinstance(v, str))
    value = form.get(name)
    return (value,) if isinstance(value, str) else ()


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


class _ConsentCentre:
    """The page handlers; one instance per application."""

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
        return _see_other(f"{LOGIN_PATH}?{urlencode({'next': target})}")

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
            raise _Rejected(text_of(language)["error_form"]) from exc
        try:
            self.pages.csrf.check_csrf(request, form)
        except CsrfFailure as exc:
            raise _Rejected(str(exc), status=403) from exc
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

    # -- overview, requests, regional consent -------------------------------------------------

    async def overview(self, request: Request) -> Response:
        """Active and ended consents, pending requests, the regional offer, linked providers."""
        account = await self._account(request)
        if account is None:
            return self._to_login(request)
        return await self._overview(request, account)

    async def _overview(
        self, request: Request, account: CitizenAccount, error: str | None = None, status: int = 200
    ) -> Response:
        language, _ = choose_language(request)
        describe = self._describer(language)
        person_id = account.person_id
        now = utcnow()

        def gather(session: Session) -> dict[str, Any]:
            states = self.consents.consents_of(session, person_id, now)
            views = [describe.consent(session, s) for s in states]
            active, ended, ingest = split_consents(
                views, {s.grant.id: s.grant.kind for s in states}
            )
            person = session.get(Person, person_id)
            home = None if person is None else person.home_region_code
            programme = None if home is None else self.programmes.for_region(home)
            regional = None
            if programme is not None:
                regional = self.consents.active_for(
                    session, person_id, "programme", programme.region, "regional_statistics", now
                )
            return {
                "active": active,
                "ended": ended,
                "providers": ingest,
                "pending": [
                    describe.request(session, r)
                    for r in self.consents.pending_requests(session, person_id)
                ],
                "programme": None
                if programme is None
                else describe.programme_name(programme.region),
                "regional_given": regional is not None,
                "regional_notice": notice_for("regional_statistics").text(language),
                "regional_categories": describe.category_choices(),
            }

        context = await self._read(gather)
        done = request.query_params.get("done")
        notice = text_of(language)[f"done_{done}"] if done in _DONE else None
        return self._render(
            request,
            "overview.html",
            {**context, "username": account.username, "done": notice},
            status=status,
            error=error,
        )

    async def answer(self, request: Request) -> Response:
        """Approve (all or some categories) or deny an enterprise's request."""
        account = await self._account(request)
        if account is None:
            return self._to_login(request)
        language, _ = choose_language(request)
        request_id = request.path_params["request_id"]
        try:
            form = await self._checked_form(request, language)
            approve = _text(form, "decision") == "approve"
            categories = _values(form, "categories")
            if approve and not categories:
                raise _Rejected(text_of(language)["error_no_categories"])
            now = utcnow()
            await self._write(
                lambda s: self.consents.answer(
                    s,
                    account.person_id,
                    request_id,
                    approve=approve,
                    now=now,
                    categories=categories if approve else None,
                    language=language,
                )
            )
        except _Rejected as exc:
            return await self._overview(request, account, str(exc), exc.status)
        except CarbonhubError as exc:
            return await self._overview(request, account, str(exc), 400)
        return _see_other(f"{CENTRE}?done={'approved' if approve else 'denied'}")

    async def grant_regional(self, request: Request) -> Response:
        """Give the regional-statistics consent for the ticked categories."""
        account = await self._account(request)
        if account is None:
            return self._to_login(request)
        language, _ = choose_language(request)
        try:
            form = await self._checked_form(request, language)
            categories = _values(form, "categories")
            if not categories:
                raise _Rejected(text_of(language)["error_no_categories"])
            now = utcnow()

            def give(session: Session) -> None:
                person = session.get(Person, account.person_id)
                home = "" if person is None else person.home_region_code
                terms = regional_terms(self.programmes, home, categories, now, self.zone, language)
                if terms is None:
                    raise _Rejected(text_of(language)["regional_none"])
                self.consents.grant(session, account.person_id, terms, now=now)

            await self._write(give)
        except _Rejected as exc:
            return await self._overview(request, account, str(exc), exc.status)
        except CarbonhubError as exc:
            return await self._overview(request, account, str(exc), 400)
        return _see_other(f"{CENTRE}?done=granted")

    # -- revoking -----------------------------------------------------------------------------

    async def revoke(self, request: Request) -> Response:
        """GET: the confirmation page; POST: revoke (revoking an ended consent changes nothing)."""
        account = await self._account(request)
        if account is None:
            return self._to_login(request)
        language, _ = choose_language(request)
        consent_id = request.path_params["consent_id"]
        describe = self._describer(language)
        now = utcnow()
        if request.method == "GET":
            try:
                view = await self._read(
                    lambda s: describe.consent(
                        s, self.consents.state(s, account.person_id, consent_id, now)
                    )
                )
            except CarbonhubError:
                return self._error(request, text_of(language)["error_not_found"], 404)
            return self._render(request, "revoke.html", {"consent": view})
        try:
            await self._checked_form(request, language)
            await self._write(
                lambda s: self.consents.revoke(s, account.person_id, consent_id, now=now)
            )
        except _Rejected as exc:
            return self._error(request, str(exc), exc.status)
        except CarbonhubError:
            return self._error(request, text_of(language)["error_not_found"], 404)
        return _see_other(f"{CENTRE}?done=revoked")

    # -- receipts -----------------------------------------------------------------------------

    async def receipts(self, request: Request) -> Response:
        """The citizen's receipts, newest first, each downloadable; where to verify them."""
        account = await self._account(request)
        if account is None:
            return self._to_login(request)
        language, _ = choose_language(request)
        describe = self._describer(language)

        def gather(session: Session) -> list[Any]:
            rows = session.scalars(
                select(ConsentReceipt)
                .where(col(ConsentReceipt.person_id) == account.person_id)
                .order_by(col(ConsentReceipt.issued_at).desc(), col(ConsentReceipt.event_id).desc())
            ).all()
            return describe.receipts(session, rows)

        return self._render(request, "receipts.html", {"receipts": await self._read(gather)})

    async def receipt_file(self, request: Request) -> Response:
        """One receipt as a ``.jws`` download (only the citizen's own)."""
        account = await self._account(request)
        if account is None:
            return self._to_login(request)
        receipt_id = request.path_params["receipt_id"]
        receipt = await self._read(lambda s: s.get(ConsentReceipt, receipt_id))
        if receipt is None or receipt.person_id != account.person_id:
            language, _ = choose_language(request)
            return self._error(request, text_of(language)["error_not_found"], 404)
        return Response(
            receipt.jws,
            media_type="application/jose",
            headers={
                "content-disposition": f'attachment; filename="{receipt.id}.jws"',
                "cache-control": "no-store",
                "x-content-type-options": "nosniff",
            },
        )

    async def verify(self, request: Request) -> Response:
        """Check a receipt: HTML for browsers, JSON for ``Accept: application/json``.

        Verification changes nothing and reveals only the claims of the receipt sent, so API
        clients may POST the raw JWS without a CSRF token; the browser form carries one.
        """
        language, _ = choose_language(request)
        wants_json = "application/json" in request.headers.get("accept", "")
        if request.method == "GET":
            return self._render(request, "verify.html", {"receipt": "", "result": None})
        token = ""
        try:
            token = await self._submitted_receipt(request, language, check_csrf=not wants_json)
            if not token:
                raise _Rejected(text_of(language)["verify_empty"])
            claims = await self._read(lambda s: verify_receipt(s, self.keys, self.settings, token))
        except _Rejected as exc:
            return self._verify_failed(request, token, str(exc), exc.status, wants_json)
        except CarbonhubError as exc:
            return self._verify_failed(request, token, str(exc), 400, wants_json)
        except (JoseError, ValueError, TypeError, KeyError, UnicodeError):
            reason = "the receipt could not be read"
            return self._verify_failed(request, token, reason, 400, wants_json)
        if wants_json:
            return JSONResponse({"valid": True, "claims": claims})
        return self._render(
            request,
            "verify.html",
            {
                "receipt": token,
                "result": {
                    "valid": True,
                    "claims": json.dumps(claims, ensure_ascii=False, indent=2),
                },
            },
        )

    async def _submitted_receipt(self, request: Request, language: str, *, check_csrf: bool) -> str:
        if int(request.headers.get("content-length") or 0) > _MAX_RECEIPT_BYTES:
            raise _Rejected("the receipt is too large")
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            if check_csrf:
                form = await self._checked_form(request, language)
            else:
                try:
                    form = await request.form(max_files=0, max_fields=8)
                except HTTPException as exc:
                    raise _Rejected(text_of(language)["error_form"]) from exc
            return _text(form, "receipt").strip()
        body = await request.body()
        if len(body) > _MAX_RECEIPT_BYTES:
            raise _Rejected("the receipt is too large")
        return body.decode("utf-8", errors="replace").strip()

    def _verify_failed(
        self, request: Request, token: str, reason: str, status: int, wants_json: bool
    ) -> Response:
        if wants_json:
            return JSONResponse({"valid": False, "reason": reason}, status_code=status)
        return self._render(
            request,
            "verify.html",
            {"receipt": token, "result": {"valid": False, "reason": reason}},
            status=status,
        )

    # -- access log ---------------------------------------------------------------------------

    async def access_log(self, request: Request) -> Response:
        """Who read information including the citizen's data, newest first."""
        account = await self._account(request)
        if account is None:
            return self._to_login(request)
        language, _ = choose_language(request)
        describe = self._describer(language)
        rows = await self._read(
            lambda s: [
                describe.access(s, e) for e in entries_for_person(s, account.person_id, first=200)
            ]
        )
        return self._render(request, "access_log.html", {"entries": rows})

    # -- export and erasure -------------------------------------------------------------------

    async def data(self, request: Request) -> Response:
        """Where to export and erase the citizen's data."""
        account = await self._account(request)
        if account is None:
            return self._to_login(request)
        return self._render(request, "data.html", {"person_id": account.person_id})

    async def export(self, request: Request) -> Response:
        """Everything the hub holds about the citizen, as a JSON download."""
        account = await self._account(request)
        if account is None:
            return self._to_login(request)
        person_id = account.person_id
        data = await self._read(lambda s: export_person(s, person_id))
        body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
        return Response(
            body,
            media_type="application/json",
            headers={
                "content-disposition": f'attachment; filename="carbonhub-{person_id}.json"',
                "cache-control": "no-store",
                "x-content-type-options": "nosniff",
            },
        )

    async def erase(self, request: Request) -> Response:
        """GET: the confirmation page; POST with the person id typed in: erase and sign out."""
        account = await self._account(request)
        if account is None:
            return self._to_login(request)
        language, _ = choose_language(request)
        if request.method == "GET":
            return self._render(request, "erase.html", {"person_id": account.person_id})
        try:
            form = await self._checked_form(request, language)
            if _text(form, "person_id").strip() != account.person_id:
                raise _Rejected(text_of(language)["erase_mismatch"])
            now = utcnow()
            await self._write(lambda s: erase_person(s, account.person_id, now=now))
        except _Rejected as exc:
            return self._render(
                request,
                "erase.html",
                {"person_id": account.person_id},
                status=exc.status,
                error=str(exc),
            )
        except CarbonhubError as exc:
            return self._render(
                request, "erase.html", {"person_id": account.person_id}, status=400, error=str(exc)
            )
        await run_in_threadpool(end_session, self.engine, request)
        response = _see_other("/consent/erased")
        clear_session_cookie(response, self.settings)
        return response

    async def erased(self, request: Request) -> Response:
        """The page after an erasure (the citizen is signed out)."""
        return self._render(
            request, "message.html", {"title_key": "erased_title", "message_key": "erased_text"}
        )
