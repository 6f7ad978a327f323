"""The OAuth HTTP endpoints: authorise (with its consent page), token, revoke, introspect,
server metadata (RFC 8414) and the JWKS.

Each route reads the whole request body first (authlib is synchronous and cannot await it),
then runs authlib in a worker thread inside one database transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InsecureTransportError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from carbonhub.auth.csrf import CsrfFailure
from carbonhub.auth.pages import Pages
from carbonhub.auth.scopes import ALL_SCOPES, describe
from carbonhub.auth.server import HubAuthorizationServer, OAuthCall, ResourceOwner
from carbonhub.auth.sessions import signed_in_account
from carbonhub.models import CitizenAccount

NO_STORE = {"cache-control": "no-store", "pragma": "no-cache"}
LOGIN_PATH = "/account/login"


@dataclass(frozen=True, slots=True)
class _Consent:
    """The authorisation page to show: which client asks for what."""

    client_name: str
    client_kind: str
    scope: str
    redirect_uri: str
    hidden: dict[str, str]


@dataclass(frozen=True, slots=True)
class _Failure:
    """An authorisation request that cannot be sent back to a verified redirect URI."""

    message: str


async def _call(request: Request) -> OAuthCall:
    form: list[tuple[str, str]] = []
    if request.method == "POST":
        data = await request.form()
        form = [(k, v) for k, v in data.multi_items() if isinstance(v, str)]
    return OAuthCall(
        method=request.method,
        uri=str(request.url),
        headers=request.headers,
        query=list(request.query_params.multi_items()),
        form=form,
    )


def _repeated(pairs: list[tuple[str, str]]) -> str | None:
    """The first parameter given more than once (RFC 6749 §3.1, §3.2 forbid it), or None."""
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            return name
        seen.add(name)
    return None


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=NO_STORE
    )


class OAuthEndpoints:
    """The authorisation server's routes for one hub."""

    def __init__(self, server: HubAuthorizationServer, pages: Pages) -> None:
        self.server = server
        self.pages = pages
        self.settings = server.settings

    def routes(self) -> list[Route]:
        """Starlette routes of the OAuth endpoints and discovery documents."""
        return [
            Route("/oauth/authorize", self.authorize, methods=["GET", "POST"]),
            Route("/oauth/token", self.token, methods=["POST"]),
            Route("/oauth/revoke", self.revoke, methods=["POST"]),
            Route("/oauth/introspect", self.introspect, methods=["POST"]),
            Route("/.well-known/oauth-authorization-server", self.metadata, methods=["GET"]),
            Route("/.well-known/jwks.json", self.jwks, methods=["GET"]),
        ]

    # -- authorisation ------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        """Validate the request, make sure a citizen is signed in, ask them, answer the client."""
        call = await _call(request)
        form = dict(call.form)
        if request.method == "POST":
            try:
                self.pages.csrf.check_csrf(request, form)
            except CsrfFailure as exc:
                return self._error_page(request, str(exc), status=403)
        account = await run_in_threadpool(signed_in_account, self.server.engine, request)
        try:
            outcome = await run_in_threadpool(self._authorize, call, account, form)
        except InsecureTransportError:
            return self._error_page(request, "OAuth requests must use https.")
        if isinstance(outcome, _Failure):
            return self._error_page(request, outcome.message)
        if isinstance(outcome, Response):
            return outcome
        if account is None:
            target = request.url.path + ("?" + request.url.query if request.url.query else "")
            return RedirectResponse(f"{LOGIN_PATH}?{urlencode({'next': target})}", 303)
        return self.pages.render(
            request,
            "authorize.html",
            {
                "account_username": account.username,
                "client_name": outcome.client_name,
                "client_kind": outcome.client_kind,
                "scopes": describe(outcome.scope.split()),
                "hidden": outcome.hidden,
            },
            form_targets=[outcome.redirect_uri],
        )

    def _authorize(
        self, call: OAuthCall, account: CitizenAccount | None, form: dict[str, str]
    ) -> Response | _Consent | _Failure:
        server = self.server
        with server.transaction():
            oauth_request = server.request_of(call)
            owner = None if account is None else ResourceOwner(account.person_id)
            try:
                grant = server.get_consent_grant(oauth_request, end_user=owner)
            except OAuth2Error as error:
                if error.redirect_uri:
                    response: Response = server.handle_error_response(oauth_request, error)
                    return response
                description = error.get_error_description() or error.error
                return _Failure(f"{description} (error: {error.error})")
            if account is None or call.method == "GET":
                return self._consent(grant)
            decision = form.get("decision")
            if decision not in ("approve", "deny"):
                return _Failure("choose Approve or Deny")
            user = owner if decision == "approve" else None
            answer: Response = server.create_authorization_response(
                oauth_request, grant_user=user, grant=grant
            )
            return answer

    @staticmethod
    def _consent(grant: Any) -> _Consent:
        request = grant.request
        data = request.payload.data
        hidden = {
            "response_type": "code",
            "client_id": request.client.client_id,
            "redirect_uri": grant.redirect_uri,
            "scope": request.scope,
            "code_challenge": data["code_challenge"],
            "code_challenge_method": data["code_challenge_method"],
        }
        if data.get("state"):
            hidden["state"] = data["state"]
        return _Consent(
            request.client.name,
            request.client.kind.value,
            request.scope,
            grant.redirect_uri,
            hidden,
        )

    def _error_page(self, request: Request, message: str, *, status: int = 400) -> Response:
        return self.pages.render(
            request,
            "error.html",
            {"title": "This authorisation request cannot be served", "message": message},
            status=status,
        )

    # -- token, revocation, introspection -----------------------------------------------------

    async def token(self, request: Request) -> Response:
        """RFC 6749 token endpoint: authorization_code, refresh_token, client_credentials."""
        return await self._endpoint(request, lambda s, r: s.create_token_response(r))

    async def revoke(self, request: Request) -> Response:
        """RFC 7009 revocation."""
        return await self._endpoint(
            request, lambda s, r: s.create_endpoint_response("revocation", r)
        )

    async def introspect(self, request: Request) -> Response:
        """RFC 7662 introspection (the token's own client, or an operator client)."""
        return await self._endpoint(
            request, lambda s, r: s.create_endpoint_response("introspection", r)
        )

    async def _endpoint(self, request: Request, run: Any) -> Response:
        call = await _call(request)
        call = OAuthCall(call.method, call.uri, call.headers, [], call.form)
        repeated = _repeated(call.form)
        if repeated is not None:
            # authlib reads some parameters from the first value and some from the last
            return _oauth_error("invalid_request", f"the parameter {repeated!r} is repeated")

        def in_transaction() -> Response:
            with self.server.transaction():
                response: Response = run(self.server, self.server.request_of(call))
                return response

        try:
            response = await run_in_threadpool(in_transaction)
        except InsecureTransportError:
            return _oauth_error("invalid_request", "OAuth requests must use https")
        response.headers.update(NO_STORE)
        return response

    # -- discovery ----------------------------------------------------------------------------

    async def metadata(self, request: Request) -> Response:
        """RFC 8414 authorisation server metadata."""
        issuer = self.settings.issuer
        auth_methods = ["client_secret_basic", "client_secret_post", "none"]
        return JSONResponse(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/oauth/authorize",
                "token_endpoint": f"{issuer}/oauth/token",
                "revocation_endpoint": f"{issuer}/oauth/revoke",
                "introspection_endpoint": f"{issuer}/oauth/introspect",
                "jwks_uri": f"{issuer}/.well-known/jwks.json",
                "scopes_supported": list(ALL_SCOPES),
                "response_types_supported": ["code"],
                "response_modes_supported": ["query"],
                "grant_types_supported": [
                    "authorization_code",
                    "client_credentials",
                    "refresh_token",
                ],
                "token_endpoint_auth_methods_supported": auth_methods,
                "revocation_endpoint_auth_methods_supported": auth_methods,
                "introspection_endpoint_auth_methods_supported": auth_methods[:2],
                "code_challenge_methods_supported": ["S256"],
                "authorization_response_iss_parameter_supported": True,
                "resource_documentation": f"{issuer}/graphql",
            }
        )

    async def jwks(self, request: Request) -> Response:
        """The public keys that verify access tokens."""
        keys = await run_in_threadpool(self.server.keys.jwks)
        return JSONResponse(keys, headers={"cache-control": "public, max-age=300"})
