"""The HTTP application: GraphQL, the OAuth server, citizen account pages, health and readiness.

``create_app(settings)`` builds everything from settings (and migrates the database); the CLI
passes an already opened :class:`~carbonhub.hub.Hub` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from carbonhub.auth import InvalidToken, Principal, TokenAuthenticator
from carbonhub.auth.account_pages import account_routes
from carbonhub.auth.endpoints import OAuthEndpoints
from carbonhub.auth.pages import Pages
from carbonhub.auth.server import HubAuthorizationServer
from carbonhub.connectors.scheduler import SyncScheduler
from carbonhub.connectors.service import Connectors
from carbonhub.connectors.web import ConnectorPages
from carbonhub.consent.centre import consent_centre_routes, registration_consent
from carbonhub.db import DatabaseUnavailable, check_reachable, current_revision, head_revision
from carbonhub.exports.routes import report_routes
from carbonhub.hub import Hub, open_hub
from carbonhub.resolvers.context import Context
from carbonhub.schema import schema
from carbonhub.settings import Settings


class GraphQLEndpoint(GraphQL[Context, None]):
    """Strawberry's ASGI view with carbonhub's context."""

    def __init__(self, hub: Hub, connectors: Connectors) -> None:
        production = hub.settings.is_production
        super().__init__(
            schema,
            graphql_ide=None if production else "graphiql",
            allow_queries_via_get=not production,
            multipart_uploads_enabled=False,
        )
        self.hub = hub
        self.connectors = connectors

    async def get_context(self, request: Any, response: Any) -> Context:
        principal: Principal = request.scope["state"]["principal"]
        request.scope["state"]["sub_response"] = response
        return Context(
            hub=self.hub, principal=principal, request=request, connectors=self.connectors
        )

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        """RFC 6750: a request without a token that needed one is answered 401 with a challenge."""
        state = request.scope.get("state", {})
        principal = state.get("principal")
        if principal is not None and not principal.is_authenticated and result.errors:
            codes = {(e.extensions or {}).get("code") for e in result.errors}
            if "UNAUTHENTICATED" in codes and "sub_response" in state:
                state["sub_response"].status_code = 401
                state["sub_response"].headers["WWW-Authenticate"] = 'Bearer realm="carbonhub"'
        return await super().process_result(request, result)


class Authenticated:
    """Build the request's principal before GraphQL runs; a bad token is answered with 401."""

    def __init__(self, app: GraphQLEndpoint, authenticator: TokenAuthenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            try:
                principal = await self._principal(request)
            except InvalidToken as exc:
                description = str(exc).replace('"', "'")
                response = JSONResponse(
                    {"errors": [{"message": str(exc), "extensions": {"code": exc.code}}]},
                    status_code=401,
                    headers={
                        "WWW-Authenticate": (
                            f'Bearer error="invalid_token", error_description="{description}"'
                        )
                    },
                )
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)

    async def _principal(self, request: Request) -> Principal:
        if "authorization" not in request.headers:
            return self.authenticator.principal(request.headers)  # no token: no database read
        return await run_in_threadpool(self.authenticator.principal, request.headers)


def create_app(
    settings: Settings | None = None,
    *,
    hub: Hub | None = None,
    connectors: Connectors | None = None,
    scheduler: bool = True,
) -> Starlette:
    """The carbonhub ASGI application.

    Loads the enabled connectors (a missing enabled one stops startup with ConfigurationError)
    and, when ``scheduler`` and ``sync_interval_s`` allow, syncs them periodically.
    """
    if hub is None:
        hub = open_hub(settings or Settings())
    hub.keys.load()
    connectors = connectors or Connectors.for_hub(hub)
    graphql = Authenticated(GraphQLEndpoint(hub, connectors), hub.authenticator())
    pages = Pages(hub.engine, hub.settings)
    oauth = OAuthEndpoints(HubAuthorizationServer(hub.engine, hub.settings, hub.keys), pages)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    def readiness() -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            check_reachable(hub.engine)
            checks["database"] = "ok"
            at, head = current_revision(hub.engine), head_revision()
            checks["migrations"] = "ok" if at == head else f"database at {at}, code expects {head}"
        except DatabaseUnavailable as exc:
            checks["database"] = str(exc)
        return checks

    async def readyz(_request: Request) -> Response:
        checks = await run_in_threadpool(readiness)
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        interval = hub.settings.sync_interval_s
        pulling = any(c.info.pull for c in connectors.registry.all())
        task = None
        if scheduler and interval > 0 and pulling:
            task = asyncio.create_task(SyncScheduler(connectors, interval).run_forever())
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = Starlette(
        lifespan=lifespan,
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *oauth.routes(),
            *account_routes(
                hub.engine,
                hub.settings,
                hub.regions,
                pages=pages,
                registration_consent=registration_consent(
                    hub.consents(), hub.registry.catalogue, hub.programmes, hub.settings.timezone
                ),
            ),
            *ConnectorPages(connectors, hub.authenticator(), pages).routes(),
            *report_routes(hub, connectors),
            *consent_centre_routes(
                hub.engine,
                hub.settings,
                hub.keys,
                hub.consents(),
                hub.registry.catalogue,
                hub.programmes,
                hub.regions,
                pages=pages,
            ),
        ],
    )
    app.state.hub = hub
    app.state.connectors = connectors
    return app
