"""The HTTP side: a server span, two metrics and an access log line per request.

:class:`TelemetryMiddleware` wraps the whole ASGI app. For each HTTP request it

* continues the caller's trace from a W3C ``traceparent`` header (the propagators of
  ``OTEL_PROPAGATORS``, trace context and baggage by default) and opens a server span named
  ``<METHOD> <route>`` with ``http.request.method``, ``url.path`` (never the query string),
  ``http.route`` once routing found one, and ``http.response.status_code``;
* records ``http.server.request.duration`` (seconds) and ``http.server.requests`` by method,
  route and status code (no path: its ids would make one series per consent);
* logs one line on ``carbonhub.access``: method, path, status, duration in ms and trace id.
  No query string (it may hold a code or a token), no header, no client address.

With telemetry off only the access line is written.
"""

from __future__ import annotations

import logging
import time

from opentelemetry import context, propagate, trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carbonhub.telemetry import runtime
from carbonhub.telemetry.logs import current_ids

access_log = logging.getLogger("carbonhub.access")

METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}
)


class _HeaderGetter(Getter[Scope]):
    """Reads propagation headers from an ASGI scope."""

    def get(self, carrier: Scope, key: str) -> list[str] | None:
        name = key.lower().encode("latin-1")
        values = [v.decode("latin-1") for k, v in carrier.get("headers", ()) if k == name]
        return values or None

    def keys(self, carrier: Scope) -> list[str]:
        return [k.decode("latin-1") for k, _ in carrier.get("headers", ())]


_GETTER = _HeaderGetter()


class TelemetryMiddleware:
    """Server spans, request metrics and the access log of every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        method = scope["method"] if scope["method"] in METHODS else "_OTHER"
        span = self._start_span(scope, method)
        token = None if span is None else context.attach(trace.set_span_in_context(span))
        try:
            await self.app(scope, receive, sending)
        except BaseException:
            status = status or 500
            raise
        finally:
            route = _route(scope)
            seconds = time.perf_counter() - started
            self._finish(span, method, route, status or 500, seconds)
            _log_access(scope, status or 500, seconds)
            if span is not None and token is not None:
                context.detach(token)
                span.end()

    @staticmethod
    def _start_span(scope: Scope, method: str) -> Span | None:
        tracer = runtime.tracer()
        if tracer is None:
            return None
        parent = propagate.extract(scope, getter=_GETTER)
        attributes: dict[str, AttributeValue] = {
            "http.request.method": method,
            "url.path": scope["path"],
            "url.scheme": scope.get("scheme", "http"),
        }
        return tracer.start_span(method, parent, SpanKind.SERVER, attributes)

    @staticmethod
    def _finish(span: Span | None, method: str, route: str | None, status: int, s: float) -> None:
        attributes: dict[str, AttributeValue] = {
            "http.request.method": method,
            "http.response.status_code": status,
        }
        if route is not None:
            attributes["http.route"] = route
        instruments = runtime.instruments()
        if instruments is not None:
            instruments.http_duration.record(s, attributes)
            instruments.http_requests.add(1, attributes)
        if span is None:
            return
        span.set_attributes(attributes)
        if route is not None:
            span.update_name(f"{method} {route}")
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR, str(status)))


def _route(scope: Scope) -> str | None:
    """The path template of the route that answered (Starlette puts it in the scope)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else None


def _log_access(scope: Scope, status: int, seconds: float) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    trace_id = current_ids()[0] or "-"
    milliseconds = seconds * 1000
    access_log.info(
        "%s %s %d %.1fms trace_id=%s",
        scope["method"],
        scope["path"],
        status,
        milliseconds,
        trace_id,
        extra={
            "access": {
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round(milliseconds, 3),
            }
        },
    )
