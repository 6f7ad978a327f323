"""``GET /reports/region/{code}`` and ``GET /reports/enterprise/{id}``: exports over HTTP.

Query parameters: ``period`` (``2023``, ``2023-Q3``, ``2023-07``, ``2023-07-15``; default the
programme's season), ``methodology`` (``id`` or ``id@version``), ``compare`` (repeatable) and
``format`` (``html``, the default, ``csv`` or ``json``). The caller is the bearer of an access
token, authenticated as for ``/graphql``: an agency client bound to the region (or above it)
for a region, the enterprise's own client for an ESG report. Errors are JSON in the shape of
GraphQL errors with the status of :mod:`carbonhub.exports.run` (401 with a ``WWW-Authenticate:
Bearer`` challenge, 404 for what the client may not read). ``/reports/static/`` serves the
page's plotly.js and script, so a served page needs no other host.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from carbonhub.auth import InvalidToken, Principal
from carbonhub.connectors.service import Connectors
from carbonhub.errors import CarbonhubError
from carbonhub.exports.documents import ReportKind, ReportRequest
from carbonhub.exports.formats import ExportFile, ExportFormat, render
from carbonhub.exports.page import static_text
from carbonhub.exports.run import ReportData, ReportUnavailable, fetch_report
from carbonhub.hub import Hub

STATIC_FILES = {
    "plotly.min.js": "text/javascript; charset=utf-8",
    "report.js": "text/javascript; charset=utf-8",
    "report.css": "text/css; charset=utf-8",
}
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
NO_STORE = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def error_response(
    status: int, code: str, message: str, *, challenge: str | None = None
) -> Response:
    """An export error as JSON (``{"errors": [{"message", "extensions": {"code"}}]}``)."""
    headers = dict(NO_STORE)
    if challenge is not None:
        headers["www-authenticate"] = challenge
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return JSONResponse(body, status_code=status, headers=headers)


def file_response(file: ExportFile, export_format: ExportFormat) -> Response:
    """The export's response: HTML shown in place, CSV and JSON as downloads with a file name."""
    headers = dict(NO_STORE)
    if export_format is ExportFormat.HTML:
        headers["content-security-policy"] = PAGE_POLICY
        headers["x-frame-options"] = "DENY"
    else:
        headers["content-disposition"] = f'attachment; filename="{file.filename}"'
    return Response(file.text, media_type=file.media_type, headers=headers)


def _option(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()
    return value or None


def _compared(request: Request) -> tuple[str, ...]:
    values = (
        v.strip() for item in request.query_params.getlist("compare") for v in item.split(",")
    )
    return tuple(dict.fromkeys(v for v in values if v))


class ReportEndpoints:
    """The export endpoints of one hub."""

    def __init__(self, hub: Hub, connectors: Connectors | None = None) -> None:
        self.hub = hub
        self.connectors = connectors
        self.authenticator = hub.authenticator()

    def routes(self) -> list[BaseRoute]:
        """The routes to mount in the app."""
        return [
            Route("/reports/region/{code}", self.region, methods=["GET"]),
            Route("/reports/enterprise/{id}", self.enterprise, methods=["GET"]),
            Route("/reports/static/{name}", self.static, methods=["GET"]),
        ]

    async def region(self, request: Request) -> Response:
        """A region's report."""
        return await self._export(request, ReportKind.REGION, request.path_params["code"])

    async def enterprise(self, request: Request) -> Response:
        """An enterprise's ESG report."""
        return await self._export(request, ReportKind.ENTERPRISE, request.path_params["id"])

    async def static(self, request: Request) -> Response:
        """plotly.js and the page's own script and style (no other file is served)."""
        name = request.path_params["name"]
        media_type = STATIC_FILES.get(name)
        if media_type is None:
            return error_response(404, "NOT_FOUND", f"no static file {name!r}")
        text = await run_in_threadpool(static_text, name)
        headers = {
            "cache-control": "public, max-age=31536000, immutable",
            "x-content-type-options": "nosniff",
        }
        return Response(text, media_type=media_type, headers=headers)

    async def _principal(self, request: Request) -> Principal:
        if "authorization" not in request.headers:
            return self.authenticator.principal(request.headers)  # no token: no database read
        return await run_in_threadpool(self.authenticator.principal, request.headers)

    async def _export(self, request: Request, kind: ReportKind, key: str) -> Response:
        try:
            principal = await self._principal(request)
        except InvalidToken as exc:
            description = str(exc).replace('"', "'")
            invalid = f'Bearer error="invalid_token", error_description="{description}"'
            return error_response(401, exc.code, str(exc), challenge=invalid)
        try:
            export_format = ExportFormat.parse(request.query_params.get("format", "html"))
            wanted = ReportRequest(
                kind,
                key,
                period=_option(request, "period"),
                methodology=_option(request, "methodology"),
                compare=_compared(request),
            )
            export = await fetch_report(
                self.hub, principal, wanted, http_request=request, connectors=self.connectors
            )
            file = await run_in_threadpool(_render, export, export_format)
        except ReportUnavailable as exc:
            challenge = 'Bearer realm="carbonhub"' if exc.status == 401 else None
            return error_response(exc.status, exc.code, str(exc), challenge=challenge)
        except CarbonhubError as exc:
            return error_response(400, exc.code, str(exc))
        return file_response(file, export_format)


def _render(export: ReportData, export_format: ExportFormat) -> ExportFile:
    return render(export, export_format, inline=False)


def report_routes(hub: Hub, connectors: Connectors | None = None) -> list[BaseRoute]:
    """The ``/reports/...`` routes of ``hub`` (exports and the page's static files)."""
    return ReportEndpoints(hub, connectors).routes()
