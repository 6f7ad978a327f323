"""The HTTP application: GraphQL, the OAuth server, citizen account pages, health and readiness.

``create_app(settings)`` builds everything from settings (and migrates the database); the CLI
passes an already opened :class:`~carbonhub.hub.Hub` instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import json
from collections.abc import AsyncIterator
from typing import Any

from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.types import ExecutionResult

from carbonhub.auth import InvalidToken, Principal, TokenAuthenticator
from carbonhub.auth.account_pages import account_routes
from carbonhub.auth.documents import (
    client_kind_of,
    document_id,
    registered_body,
    requested_id,
    required_kinds,
)
from carbonhub.auth.endpoints import OAuthEndpoints
from carbonhub.auth.pages import Pages
from carbonhub.auth.server import HubAuthorizationServer
from carbonhub.connectors.scheduler import SyncScheduler
from carbonhub.connectors.service import Connectors
from carbonhub.connectors.web import ConnectorPages
from carbonhub.consent.centre import consent_centre_routes, registration_consent
from carbonhub.db import (
    DatabaseUnavailable,
    check_reachable,
    current_revision,
    head_revision,
    read_session,
)
from carbonhub.errors import InvalidInput
from carbonhub.exports.routes import report_routes
from carbonhub.hub import Hub, open_hub
from carbonhub.ratelimit import RateLimitMiddleware
from carbonhub.resolvers.context import Context
from carbonhub.schema import schema_for
from carbonhub.schema.limits import GraphQLLimits
from carbonhub.settings import Settings
from carbonhub.telemetry import TelemetryMiddleware, start_telemetry, stop_telemetry


class DocumentRefused(HTTPException):
    """A request's document id or text that the trusted-documents rules refuse."""

    def __init__(self, status: int, reason: str, code: str) -> None:
        super().__init__(status, reason)
        self.code = code


class TrustedDocuments:
    """Documents sent by id, and the clients that may run registered documents only.

    A request names a document by ``extensions.persistedQuery.sha256Hash`` (Apollo) or
    ``documentId`` (``sha256:<hex>``); its body comes from the calling client's manifest
    (:mod:`carbonhub.auth.documents`). With text and an id both given, the id must be the text's
    digest. A client of a kind in ``trusted_documents_required_for`` runs registered documents
    only, whether it sends their ids or their text.
    """

    def __init__(self, hub: Hub) -> None:
        self.engine = hub.engine
        self.required = required_kinds(hub.settings.trusted_documents_required_for)

    async def resolve(self, request: Request, data: GraphQLRequestData) -> GraphQLRequestData:
        """The request with its document's text, or :class:`DocumentRefused`."""
        principal: Principal = request.scope["state"]["principal"]
        try:
            wanted = requested_id(data.extensions, await _document_id_field(request))
        except InvalidInput as exc:
            raise DocumentRefused(400, str(exc), "BAD_REQUEST") from exc
        if wanted is None and data.query is None:
            return data  # strawberry answers "no query" itself
        wanted = wanted or document_id(data.query or "")
        if data.query is not None and document_id(data.query) != wanted:
            raise DocumentRefused(
                400, "the document id is not the SHA-256 of the text", "BAD_REQUEST"
            )
        required = client_kind_of(principal) in self.required
        if data.query is not None and not required:
            return data
        body = await run_in_threadpool(self._registered, principal.client_id, wanted)
        if body is None:
            if data.query is not None:
                raise DocumentRefused(
                    403,
                    "this client runs registered documents only; this one is not in its manifest",
                    "PERSISTED_QUERY_REQUIRED",
                )
            raise DocumentRefused(
                400,
                f"no document {wanted} is registered for this client",
                "PERSISTED_QUERY_NOT_FOUND",
            )
        return dataclasses.replace(data, query=body)

    def _registered(self, client_id: str | None, wanted: str) -> str | None:
        with read_session(self.engine) as session:
            return registered_body(session, client_id, wanted)


async def _document_id_field(request: Request) -> str | None:
    """The GraphQL-over-HTTP ``documentId`` of a request (query string or JSON body), if any."""
    if request.method == "GET":
        return request.query_params.get("documentId")
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        return None  # strawberry refuses the body itself
    value = body.get("documentId") if isinstance(body, dict) else None
    if value is not None and not isinstance(value, str):
        raise InvalidInput("documentId must be a string")
    return value


class GraphQLEndpoint(GraphQL[Context, None]):
    """Strawberry's ASGI view with carbonhub's context and limits.

    The schema enforces the hub's GraphQL limits (one schema per limits value, shared by every
    app with the same settings). A body larger than ``graphql_max_body_bytes`` is refused with
    413 before it is read in full; what strawberry refuses before GraphQL runs (a batch, a bad
    body) is answered as a GraphQL error, never as plain text. Batching stays off, and so do
    WebSocket subprotocols: the schema has no subscriptions.
    """

    class BodyTooLarge(Exception):
        """The request body went past the limit while it was being read."""

    def __init__(self, hub: Hub, connectors: Connectors) -> None:
        settings = hub.settings
        production = settings.is_production
        super().__init__(
            schema_for(GraphQLLimits.from_settings(settings)),
            graphql_ide=None if production else "graphiql",
            allow_queries_via_get=not production,
            multipart_uploads_enabled=False,
            subscription_protocols=(),
        )
        self.hub = hub
        self.connectors = connectors
        self.max_body_bytes = settings.graphql_max_body_bytes
        self.documents = TrustedDocuments(hub)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        response = await self._answer(scope, receive)
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, receive: Receive) -> Response:
        declared = Request(scope).headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            return self._too_large()
        try:
            return await self.run(Request(scope, receive=self._capped(receive)))
        except self.BodyTooLarge:
            return self._too_large()
        except DocumentRefused as exc:
            return self._error(exc.status_code, exc.reason, exc.code)
        except HTTPException as exc:
            codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE"}
            code = codes.get(exc.status_code, "BAD_REQUEST")
            return self._error(exc.status_code, exc.reason, code)

    def _capped(self, receive: Receive) -> Receive:
        """``receive`` that raises :class:`BodyTooLarge` once the body passes the limit."""
        received = 0

        async def capped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise self.BodyTooLarge
            return message

        return capped

    def _too_large(self) -> Response:
        message = f"the request body is larger than {self.max_body_bytes} bytes"
        return self._error(413, message, "PAYLOAD_TOO_LARGE")

    @staticmethod
    def _error(status: int, message: str, code: str) -> Response:
        body = {"errors": [{"message": message, "extensions": {"code": code}}]}
        return JSONResponse(body, status_code=status)

    async def execute_operation(
        self,
        request: Any,
        request_adapter: Any,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Any,
    ) -> Any:
        """Run the operation, after :class:`TrustedDocuments` has resolved or refused it."""
        if not isinstance(request_data, list):
            request_data = await self.documents.resolve(request, request_data)
        return await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )

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
        checks["signing_keys"] = hub.keys.readiness()
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
        start_telemetry()  # once per process; exports only when OTEL_EXPORTER_OTLP_ENDPOINT is set
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
            await run_in_threadpool(stop_telemetry)  # exports what is buffered

    app = Starlette(
        lifespan=lifespan,
        middleware=[
            Middleware(TelemetryMiddleware),  # outermost: spans and access log of every answer
            Middleware(RateLimitMiddleware, settings=hub.settings),
        ],
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


def freeze_startup_heap() -> None:
    """Take everything allocated so far (modules, the schema, the hub, the app) out of the
    garbage collector's generations, once, in a server process after its app is built.

    A server's startup objects live as long as it does, yet every full collection walked
    them all: ~230,000 objects, 50-80 ms per collection, one every ~150 report requests,
    landing on whichever request triggered it. Not for tests and tools that build and drop
    apps: frozen objects are never collected.
    """
    gc.collect()
    gc.freeze()


def served_app() -> Starlette:
    """The app of a server process (``uvicorn --factory carbonhub.app:served_app``): settings
    from the environment, startup heap frozen (:func:`freeze_startup_heap`)."""
    app = create_app()
    freeze_startup_heap()
    return app
