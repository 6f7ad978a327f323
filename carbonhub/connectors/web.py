"""HTTP routes of the connectors: signed pushes, and account linking for signed-in citizens.

- ``POST /connectors/{slug}/events``: a provider's signed push (connector client token +
  HMAC signature); answers one result per record.
- ``GET /connectors/accounts``: the citizen's provider accounts, with link and unlink buttons.
- ``POST /connectors/{slug}/link`` (CSRF form) -> the provider's authorisation page.
- ``GET /connectors/{slug}/callback``: the provider sends the citizen back here.
- ``POST /connectors/{slug}/unlink`` (CSRF form).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from carbonhub.auth import InvalidToken, TokenAuthenticator
from carbonhub.auth.account_pages import LOGIN_PATH
from carbonhub.auth.csrf import CsrfFailure
from carbonhub.auth.pages import Pages
from carbonhub.auth.sessions import signed_in_account
from carbonhub.connectors.base import InvalidPush, PushRequest
from carbonhub.connectors.linking import LinkTerms, linked_accounts
from carbonhub.connectors.service import Connectors
from carbonhub.consent import policy
from carbonhub.db import write_session
from carbonhub.errors import (
    AccessDenied,
    CarbonhubError,
    NotFound,
    Unauthenticated,
)
from carbonhub.models import CitizenAccount, utcnow

ACCOUNTS_PATH = "/connectors/accounts"
MAX_PUSH_BYTES = 5 * 1024 * 1024
log = logging.getLogger(__name__)


class ConnectorPages:
    """The connectors' route handlers for one application."""

    def __init__(
        self, connectors: Connectors, authenticator: TokenAuthenticator, pages: Pages
    ) -> None:
        self.connectors = connectors
        self.authenticator = authenticator
        self.pages = pages.including("carbonhub.connectors")
        self.engine = connectors.hub.engine

    def routes(self) -> list[BaseRoute]:
        """The routes to mount on the application."""
        return [
            Route("/connectors/{slug}/events", self.push, methods=["POST"]),
            Route(ACCOUNTS_PATH, self.accounts, methods=["GET"]),
            Route("/connectors/{slug}/link", self.link, methods=["POST"]),
            Route("/connectors/{slug}/callback", self.callback, methods=["GET"]),
            Route("/connectors/{slug}/unlink", self.unlink, methods=["POST"]),
        ]

    # -- signed push -------------------------------------------------------------------------

    async def push(self, request: Request) -> Response:
        """Authenticate the connector client, verify the signature, post the records."""
        slug = request.path_params["slug"]
        try:
            principal = await run_in_threadpool(self.authenticator.principal, request.headers)
        except InvalidToken as exc:
            return _problem(401, "invalid_token", str(exc), challenge=True)
        try:
            policy.acting_connector(principal, "delivering events")
        except (Unauthenticated, AccessDenied) as exc:
            return _problem(401, "invalid_token", str(exc), challenge=True)
        try:
            policy.require_own_connector(principal, slug)
        except AccessDenied as exc:
            return _problem(403, "insufficient_scope", str(exc))
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_PUSH_BYTES:
            return _problem(413, "too_large", f"a push may carry at most {MAX_PUSH_BYTES} bytes")
        body = await request.body()
        if len(body) > MAX_PUSH_BYTES:
            return _problem(413, "too_large", f"a push may carry at most {MAX_PUSH_BYTES} bytes")
        signed = PushRequest({k.lower(): v for k, v in request.headers.items()}, body, utcnow())
        try:
            outcome = await run_in_threadpool(self.connectors.push, slug, signed)
        except InvalidPush as exc:
            return _problem(401, "invalid_signature", str(exc))
        except NotFound as exc:
            return _problem(404, "not_found", str(exc))
        except CarbonhubError as exc:
            return _problem(400, "invalid_request", str(exc))
        return JSONResponse(
            {
                "run_id": outcome.run_id,
                "counts": outcome.counts,
                "results": [r.as_json() for r in outcome.results],
            }
        )

    # -- account linking ---------------------------------------------------------------------

    async def accounts(self, request: Request) -> Response:
        """The signed-in citizen's provider accounts and the providers they can link."""
        account = await self._citizen(request)
        if account is None:
            return _to_login(request)
        linked = await run_in_threadpool(linked_accounts, self.engine, account.person_id)
        by_slug = {a.connector: a for a in linked}
        providers = [
            {
                "slug": c.info.slug,
                "name": c.info.name,
                "categories": sorted(c.info.categories),
                "account": by_slug.get(c.info.slug),
            }
            for c in self.connectors.registry.all()
            if c.info.pull or c.info.push
        ]
        notice = request.query_params.get("done")
        return self.pages.render(
            request,
            "connectors/accounts.html",
            {"providers": providers, "notice": notice, "error": request.query_params.get("error")},
            form_targets=self._provider_origins(),
        )

    def _provider_origins(self) -> list[str]:
        """Where the link forms' redirects go (CSP form-action must allow them)."""
        origins = []
        for loaded in self.connectors.registry.all():
            oauth = loaded.offline().oauth()
            if oauth is not None:
                origins.append(oauth.authorize_url)
        return origins

    async def link(self, request: Request) -> Response:
        """Start linking: record the request and send the citizen to the provider."""
        account = await self._citizen(request)
        if account is None:
            return _to_login(request)
        slug = request.path_params["slug"]
        form = await request.form(max_files=0, max_fields=32)
        try:
            self.pages.csrf.check_csrf(request, form)
        except CsrfFailure as exc:
            return _problem(403, "csrf", str(exc))
        categories = tuple(v for v in form.getlist("category") if isinstance(v, str))
        terms = LinkTerms(categories=categories or None)

        def start() -> str:
            with write_session(self.engine) as session:
                return self.connectors.linking.start(
                    session, account.person_id, slug, terms, now=utcnow(), return_to=ACCOUNTS_PATH
                )

        try:
            url = await run_in_threadpool(start)
        except CarbonhubError as exc:  # ConfigurationError included
            return _back(error=str(exc))
        return RedirectResponse(url, status_code=303)

    async def callback(self, request: Request) -> Response:
        """The provider's answer: exchange the code, store the tokens, record the consent."""
        slug = request.path_params["slug"]
        params = request.query_params
        if "error" in params:
            return _back(error=f"{slug}: {params.get('error_description') or params['error']}")
        state, code = params.get("state"), params.get("code")
        if not state or not code:
            return _back(error="the provider's answer lacks the code or state")
        try:
            linked = await self.connectors.linking.complete(slug, state, code, now=utcnow())
        except CarbonhubError as exc:
            return _back(error=str(exc))
        log.info("%s account linked for person %s", slug, linked.person_id)
        return _back(done=slug)

    async def unlink(self, request: Request) -> Response:
        """Forget the provider's tokens and revoke the ingest consent."""
        account = await self._citizen(request)
        if account is None:
            return _to_login(request)
        slug = request.path_params["slug"]
        form = await request.form(max_files=0, max_fields=8)
        try:
            self.pages.csrf.check_csrf(request, form)
        except CsrfFailure as exc:
            return _problem(403, "csrf", str(exc))

        def unlink() -> None:
            with write_session(self.engine) as session:
                self.connectors.linking.unlink(session, account.person_id, slug, now=utcnow())

        try:
            await run_in_threadpool(unlink)
        except CarbonhubError as exc:
            return _back(error=str(exc))
        return _back(done=f"unlinked {slug}")

    async def _citizen(self, request: Request) -> CitizenAccount | None:
        return await run_in_threadpool(signed_in_account, self.engine, request)


def _to_login(request: Request) -> Response:
    return RedirectResponse(
        f"{LOGIN_PATH}?{urlencode({'next': request.url.path})}", status_code=303
    )


def _back(**query: str) -> Response:
    return RedirectResponse(f"{ACCOUNTS_PATH}?{urlencode(query)}", status_code=303)


def _problem(status: int, error: str, detail: str, *, challenge: bool = False) -> Response:
    headers: dict[str, Any] = {}
    if challenge:
        headers["WWW-Authenticate"] = f'Bearer realm="carbonhub", error="{error}"'
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)
