"""The process's telemetry: OTLP/HTTP exporters when the environment asks for them, else none.

Telemetry is on when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or a per-signal
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``…_METRICS_ENDPOINT`` / ``…_LOGS_ENDPOINT``) is set,
unless ``OTEL_SDK_DISABLED=true``; ``OTEL_TRACES_EXPORTER=none``, ``OTEL_METRICS_EXPORTER=none``
or ``OTEL_LOGS_EXPORTER=none`` turns one signal off. Exported logs are the ``carbonhub``
loggers' records (the access log among them) at INFO and above, each with the trace and span it
was made in. Everything else is the SDK's standard environment: ``OTEL_SERVICE_NAME``
and ``OTEL_RESOURCE_ATTRIBUTES`` (service name ``carbonhub`` by default),
``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_SCHEDULE_DELAY``,
``OTEL_METRIC_EXPORT_INTERVAL``, ``OTEL_PROPAGATORS`` …

OpenTelemetry's global providers can be set once per process, so :func:`start_telemetry` sets
them up once (the app's lifespan and the CLI both call it; later calls do nothing) and
:func:`stop_telemetry` flushes and shuts them down. Without an endpoint nothing is set up: the
hub records nothing and the OpenTelemetry API stays a no-op for any library that uses it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from opentelemetry import metrics, trace

from carbonhub.telemetry import runtime
from carbonhub.telemetry.logs import install_log_correlation

if TYPE_CHECKING:
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger(__name__)
DEFAULT_SERVICE_NAME = "carbonhub"
EXPORTED_LOGGER = "carbonhub"  # the hub's own loggers; never the exporters' (no feedback loop)


@dataclass(frozen=True, slots=True)
class Signals:
    """Which signals the environment asks to export."""

    traces: bool
    metrics: bool
    logs: bool

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Signals:
        """The signals ``environ`` turns on (none without an OTLP endpoint)."""
        if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            return cls(False, False, False)
        common = bool(environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip())

        def wanted(signal: str) -> bool:
            if environ.get(f"OTEL_{signal}_EXPORTER", "otlp").strip().lower() == "none":
                return False
            return common or bool(environ.get(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT", "").strip())

        return cls(wanted("TRACES"), wanted("METRICS"), wanted("LOGS"))

    @property
    def any(self) -> bool:
        """Whether anything is exported."""
        return self.traces or self.metrics or self.logs


@dataclass(slots=True)
class Providers:
    """The SDK providers of the exported signals (``None``: that signal is off)."""

    tracer: TracerProvider | None = None
    meter: MeterProvider | None = None
    logger: LoggerProvider | None = None
    handler: logging.Handler | None = None

    def shutdown(self) -> None:
        """Export what is buffered, then stop the exporters."""
        if self.handler is not None:
            logging.getLogger(EXPORTED_LOGGER).removeHandler(self.handler)
        if self.tracer is not None:
            self.tracer.shutdown()
        if self.meter is not None:
            self.meter.shutdown()
        if self.logger is not None:
            self.logger.shutdown()


_lock = threading.Lock()
_providers: Providers | None = None


def start_telemetry(environ: Mapping[str, str] | None = None) -> bool:
    """Set up export as the environment says, once per process; whether telemetry is on."""
    global _providers
    signals = Signals.from_environment(os.environ if environ is None else environ)
    with _lock:
        if _providers is not None:
            return runtime.active()
        if not signals.any:
            return False
        providers = exporting_providers(signals)
        if providers.tracer is not None:
            trace.set_tracer_provider(providers.tracer)
        if providers.meter is not None:
            metrics.set_meter_provider(providers.meter)
        runtime.activate(providers.tracer, providers.meter, _version())
        install_log_correlation()
        if providers.logger is not None:
            providers.handler = exporting_handler(providers.logger)
        _providers = providers
    exported = [
        name
        for name, on in (
            ("traces", signals.traces),
            ("metrics", signals.metrics),
            ("logs", signals.logs),
        )
        if on
    ]
    log.info("telemetry: exporting %s over OTLP/HTTP", ", ".join(exported))
    return True


def exporting_handler(provider: LoggerProvider) -> logging.Handler:
    """Send the hub's log records at INFO and above to ``provider`` (attached to the
    ``carbonhub`` logger, so libraries' records and the exporters' own stay out)."""
    from opentelemetry.sdk._logs import LoggingHandler

    handler = LoggingHandler(level=logging.INFO, logger_provider=provider)
    hub_logger = logging.getLogger(EXPORTED_LOGGER)
    hub_logger.addHandler(handler)
    if hub_logger.getEffectiveLevel() > logging.INFO:
        hub_logger.setLevel(logging.INFO)
    return handler


def stop_telemetry() -> None:
    """Stop recording, export what is buffered and shut the exporters down (idempotent)."""
    with _lock:
        providers = _providers
        if providers is None or not runtime.active():
            return
        runtime.deactivate()
    providers.shutdown()


def exporting_providers(signals: Signals) -> Providers:
    """New SDK providers exporting ``signals`` over OTLP/HTTP as the environment configures
    (endpoint, headers, batch delay, export interval); not installed anywhere."""
    # the SDK and the exporters load only here: a hub without telemetry never imports them
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = service_resource()
    providers = Providers()
    if signals.traces:
        providers.tracer = TracerProvider(resource=resource)
        providers.tracer.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    if signals.metrics:
        reader = PeriodicExportingMetricReader(OTLPMetricExporter())
        providers.meter = MeterProvider(resource=resource, metric_readers=[reader])
    if signals.logs:
        providers.logger = LoggerProvider(resource=resource)
        providers.logger.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter()))
    return providers


def service_resource() -> Resource:
    """The resource of the environment (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES), with
    carbonhub's name and version where the environment does not say."""
    from opentelemetry.sdk.resources import SERVICE_NAME, SERVICE_VERSION, Resource

    detected = Resource.create()
    defaults: dict[str, str] = {}
    if str(detected.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        defaults[SERVICE_NAME] = DEFAULT_SERVICE_NAME
    if SERVICE_VERSION not in detected.attributes:
        defaults[SERVICE_VERSION] = _version()
    return detected.merge(Resource(defaults))


def _version() -> str:
    try:
        return version("carbonhub")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"
