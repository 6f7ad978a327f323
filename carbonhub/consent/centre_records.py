"""The consent centre's records: receipts (and ``/receipts/verify``), the access log, and the
citizen's data (export and erasure)."""

from __future__ import annotations

import json
from typing import Any

from joserfc.errors import JoseError
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from carbonhub.auth.sessions import clear_session_cookie, end_session
from carbonhub.consent.access_log import entries_for_person
from carbonhub.consent.centre_base import (
    MAX_RECEIPT_BYTES,
    CentreBase,
    Rejected,
    form_text,
    see_other,
)
from carbonhub.consent.centre_text import (
    LANGUAGES,
    choose_language,
    text_of,
)
from carbonhub.consent.notices import notices
from carbonhub.consent.receipts import verify_receipt
from carbonhub.consent.rights import erase_person, export_person
from carbonhub.errors import CarbonhubError
from carbonhub.models import ConsentReceipt, utcnow


class RecordPages(CentreBase):
    """Receipts, verification, the access log, export and erasure."""

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

    async def notice(self, request: Request) -> Response:
        """A published notice version in both languages (the ``policyUrl`` of receipts)."""
        version = request.path_params["version"]
        found = next((n for n in notices().values() if n.version == version), None)
        if found is None:
            language, _ = choose_language(request)
            return self._error(request, text_of(language)["error_not_found"], 404)
        texts = [(code, found.text(code), found.sha256(code)) for code in LANGUAGES]
        return self._render(request, "notice.html", {"notice": found, "texts": texts})

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
                raise Rejected(text_of(language)["verify_empty"])
            claims = await self._read(lambda s: verify_receipt(s, self.keys, self.settings, token))
        except Rejected as exc:
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
        if int(request.headers.get("content-length") or 0) > MAX_RECEIPT_BYTES:
            raise Rejected("the receipt is too large")
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            if check_csrf:
                form = await self._checked_form(request, language)
            else:
                try:
                    form = await request.form(max_files=0, max_fields=8)
                except HTTPException as exc:
                    raise Rejected(text_of(language)["error_form"]) from exc
            return form_text(form, "receipt").strip()
        body = await request.body()
        if len(body) > MAX_RECEIPT_BYTES:
            raise Rejected("the receipt is too large")
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
            if form_text(form, "person_id").strip() != account.person_id:
                raise Rejected(text_of(language)["erase_mismatch"])
            now = utcnow()
            await self._write(
                lambda s: erase_person(
                    s, account.person_id, now=now, rules=self.consents.release_rules
                )
            )
        except Rejected as exc:
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
        response = see_other("/consent/erased")
        clear_session_cookie(response, self.settings)
        return response

    async def erased(self, request: Request) -> Response:
        """The page after an erasure (the citizen is signed out)."""
        return self._render(
            request, "message.html", {"title_key": "erased_title", "message_key": "erased_text"}
        )
