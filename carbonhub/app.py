"""The HTTP application: GraphQL, health and readiness.

``create_app(settings)`` builds everything from settings (and migrates the database); the CLI
passes an already opened :class:`~carbonhub.hub.Hub` instead.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL

from carbonhub.auth import InvalidToken, Principal, principal_for_request
from carbonhub.db import DatabaseUnavailable, check_reachable, current_revision, head_revision
from carbonhub.hub import Hub, open_hub
from carbonhub.resolvers.context import Context
from carbonhub.schema import schema
from carbonhub.settings import Settings


class GraphQLEndpoint(GraphQL[Context, None]):
    """Strawberry's ASGI view with carbonhub's context."""

    def __init__(self, hub: Hub) -> None:
        production = hub.settings.is_production
        super().__init__(
            schema,
            graphql_ide=None if production else "graphiql",
            allow_queries_via_get=not production,
            multipart_uploads_enabled=False,
        )
        self.hub = hub

    async def get_context(self, request: Any, response: Any) -> Context:
        principal: Principal = request.scope["state"]["principal"]
        return Context(hub=self.hub, principal=principal, request=request)


class Authenticated:
    """Build the request's principal before GraphQL runs; a bad token is answered with 401."""

    def __init__(self, app: GraphQLEndpoint, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            try:
                principal = principal_for_request(request.headers, self.settings)
            except InvalidToken as exc:
                response = JSONResponse(
                    {"errors": [{"message": str(exc), "extensions": {"code": exc.code}}]},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
                await response(scope, receive, send)
                return
            scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, *, hub: Hub | None = None) -> Starlette:
    """The carbonhub ASGI application."""
    if hub is None:
        hub = open_hub(settings or Settings())
    graphql = Authenticated(GraphQLEndpoint(hub), hub.settings)

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

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ]
    )
    app.state.hub = hub
    return app
