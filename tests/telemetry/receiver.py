"""An OTLP/HTTP receiver for tests: a real HTTP server on 127.0.0.1 that keeps what it is sent.

It accepts ``POST /v1/traces``, ``/v1/metrics`` and ``/v1/logs`` with protobuf bodies (gzip or not),
answers them as a collector would, and decodes them with the ``opentelemetry.proto`` messages
that ship with the exporter.
"""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import Metric
from opentelemetry.proto.trace.v1.trace_pb2 import Span

RESPONSES = {
    "/v1/traces": ExportTraceServiceResponse,
    "/v1/metrics": ExportMetricsServiceResponse,
    "/v1/logs": ExportLogsServiceResponse,
}


@dataclass(frozen=True)
class ReceivedSpan:
    """A span as exported, with its attributes as a plain dict."""

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    status_code: int
    status_message: str
    attributes: dict[str, Any]
    service: str


def value_of(value: AnyValue) -> Any:
    """An OTLP attribute value as Python."""
    which = value.WhichOneof("value")
    if which == "array_value":
        return [value_of(v) for v in value.array_value.values]
    return getattr(value, which) if which else None


def attributes_of(pairs: Any) -> dict[str, Any]:
    """OTLP key-value pairs as a dict."""
    return {kv.key: value_of(kv.value) for kv in pairs}


@dataclass(frozen=True)
class ReceivedLog:
    """A log record as exported."""

    body: str
    severity: str
    logger: str
    trace_id: str
    span_id: str
    attributes: dict[str, Any]


class OtlpReceiver:
    """Serves on 127.0.0.1 (``port``, or any free one) until closed; thread-safe."""

    def __init__(self, port: int = 0) -> None:
        self._lock = threading.Lock()
        self.requests: list[tuple[str, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                response = RESPONSES.get(self.path)
                if response is None:
                    self.send_error(404)
                    return
                with receiver._lock:
                    receiver.requests.append((self.path, body))
                answer = response().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def endpoint(self) -> str:
        """What ``OTEL_EXPORTER_OTLP_ENDPOINT`` should say."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def clear(self) -> None:
        """Forget everything received so far."""
        with self._lock:
            self.requests.clear()

    def _bodies(self, path: str) -> list[bytes]:
        with self._lock:
            return [body for p, body in self.requests if p == path]

    def spans(self) -> list[ReceivedSpan]:
        """Every span received."""
        found = []
        for body in self._bodies("/v1/traces"):
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                service = attributes_of(resource_spans.resource.attributes).get("service.name")
                for scope_spans in resource_spans.scope_spans:
                    found.extend(_span(s, service) for s in scope_spans.spans)
        return found

    def logs(self) -> list[ReceivedLog]:
        """Every log record received."""
        found = []
        for body in self._bodies("/v1/logs"):
            request = ExportLogsServiceRequest.FromString(body)
            for resource_logs in request.resource_logs:
                for scope_logs in resource_logs.scope_logs:
                    found.extend(
                        ReceivedLog(
                            body=str(value_of(r.body)),
                            severity=r.severity_text,
                            logger=scope_logs.scope.name,
                            trace_id=r.trace_id.hex(),
                            span_id=r.span_id.hex(),
                            attributes=attributes_of(r.attributes),
                        )
                        for r in scope_logs.log_records
                    )
        return found

    def metrics(self) -> list[Metric]:
        """Every metric received (one per export: cumulative metrics repeat)."""
        found = []
        for body in self._bodies("/v1/metrics"):
            request = ExportMetricsServiceRequest.FromString(body)
            for resource_metrics in request.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    found.extend(scope_metrics.metrics)
        return found

    def metric_points(self, name: str) -> list[Any]:
        """The data points of every export of metric ``name``."""
        points: list[Any] = []
        for metric in self.metrics():
            if metric.name == name:
                data = getattr(metric, metric.WhichOneof("data"))
                points.extend(data.data_points)
        return points

    def wait_for(self, found: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Poll until ``found()`` or the timeout; whether it was found."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found():
                return True
            time.sleep(0.05)
        return found()

    def attribute_values(self) -> Iterator[Any]:
        """Every attribute value of every span, metric point, log record and resource received
        (and every span name and log body)."""
        for line in self.logs():
            yield line.body
            yield from line.attributes.values()
        for body in self._bodies("/v1/traces"):
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                yield from _values(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        yield span.name
                        yield span.status.message
                        yield from _values(span.attributes)
                        for event in span.events:
                            yield from _values(event.attributes)
        for body in self._bodies("/v1/metrics"):
            request = ExportMetricsServiceRequest.FromString(body)
            for resource_metrics in request.resource_metrics:
                yield from _values(resource_metrics.resource.attributes)
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        data = getattr(metric, metric.WhichOneof("data"))
                        for point in data.data_points:
                            yield from _values(point.attributes)


def _values(pairs: Any) -> Iterator[Any]:
    for pair in pairs:
        value = value_of(pair.value)
        if isinstance(value, list):
            yield from value
        else:
            yield value


def _span(span: Span, service: Any) -> ReceivedSpan:
    return ReceivedSpan(
        name=span.name,
        trace_id=span.trace_id.hex(),
        span_id=span.span_id.hex(),
        parent_span_id=span.parent_span_id.hex(),
        kind=span.kind,
        status_code=span.status.code,
        status_message=span.status.message,
        attributes=attributes_of(span.attributes),
        service=str(service),
    )
