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

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from carbonhub.actors import RegionTree
from carbonhub.auth.account_pages import RegistrationConsent
from carbonhub.auth.keys import KeyRing
from carbonhub.auth.pages import Pages
from carbonhub.consent.centre_base import (
    CENTRE,
    DONE_NOTICES,
    REGIONAL_CONSENT_DAYS,
    VERIFY_PATH,
    Rejected,
    form_text,
    form_values,
    see_other,
)
from carbonhub.consent.centre_records import RecordPages
from carbonhub.consent.centre_text import (
    choose_language,
    text_of,
)
from carbonhub.consent.centre_views import split_consents
from carbonhub.consent.notices import notice_for
from carbonhub.consent.service import ConsentService, ConsentTerms
from carbonhub.errors import CarbonhubError
from carbonhub.methodology import Catalogue, ProgrammeDirectory
from carbonhub.models import CitizenAccount, Person, utcnow
from carbonhub.periods import local_date
from carbonhub.settings import Settings


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
        Route("/consent/notices/{version}", centre.notice, methods=["GET"]),
        Mount(
            "/consent/static",
            app=StaticFiles(packages=[("carbonhub.consent", "static")]),
            name="consent_static",
        ),
    ]


class _ConsentCentre(RecordPages):
    """The page handlers; one instance per application."""

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
        notice = text_of(language)[f"done_{done}"] if done in DONE_NOTICES else None
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
            approve = form_text(form, "decision") == "approve"
            categories = form_values(form, "categories")
            if approve and not categories:
                raise Rejected(text_of(language)["error_no_categories"])
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
        except Rejected as exc:
            return await self._overview(request, account, str(exc), exc.status)
        except CarbonhubError as exc:
            return await self._overview(request, account, str(exc), 400)
        return see_other(f"{CENTRE}?done={'approved' if approve else 'denied'}")

    async def grant_regional(self, request: Request) -> Response:
        """Give the regional-statistics consent for the ticked categories."""
        account = await self._account(request)
        if account is None:
            return self._to_login(request)
        language, _ = choose_language(request)
        try:
            form = await self._checked_form(request, language)
            categories = form_values(form, "categories")
            if not categories:
                raise Rejected(text_of(language)["error_no_categories"])
            now = utcnow()

            def give(session: Session) -> None:
                person = session.get(Person, account.person_id)
                home = "" if person is None else person.home_region_code
                terms = regional_terms(self.programmes, home, categories, now, self.zone, language)
                if terms is None:
                    raise Rejected(text_of(language)["regional_none"])
                self.consents.grant(session, account.person_id, terms, now=now)

            await self._write(give)
        except Rejected as exc:
            return await self._overview(request, account, str(exc), exc.status)
        except CarbonhubError as exc:
            return await self._overview(request, account, str(exc), 400)
        return see_other(f"{CENTRE}?done=granted")

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
        except Rejected as exc:
            return self._error(request, str(exc), exc.status)
        except CarbonhubError:
            return self._error(request, text_of(language)["error_not_found"], 404)
        return see_other(f"{CENTRE}?done=revoked")
