"""OpenTelemetry for carbonhub: traces, metrics and trace-correlated logs, off unless asked.

Export over OTLP/HTTP starts when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (:mod:`.setup`).
What is recorded:

* a server span per HTTP request, request duration and count, an access log line
  (:class:`TelemetryMiddleware`);
* a span per GraphQL operation, never per field (:class:`.graphql.GraphQLTracing`);
* a client span per SQL statement inside a trace (:func:`instrument_engine`);
* spans of connector syncs and ledger batches, and the domain metrics ``carbonhub.events``,
  ``carbonhub.sync.lag`` and ``carbonhub.consents`` (:mod:`.spans`, :mod:`.records`).

Nothing recorded names a person: no person or principal id, no GraphQL variables or document,
no SQL parameters, no query strings, no error messages (codes and types only).

``GraphQLTracing`` lives in :mod:`carbonhub.telemetry.graphql` (it needs strawberry, which a
command such as ``carbonhub db upgrade`` does not load). This package sits below every other layer of the hub (anything may instrument itself) and
imports nothing of carbonhub but :mod:`carbonhub.errors`.
"""

from carbonhub.telemetry.http import TelemetryMiddleware
from carbonhub.telemetry.logs import TraceFormatter, current_ids, install_log_correlation
from carbonhub.telemetry.records import (
    consent_changed,
    count_events,
    observe_sync_lag,
    record_outcomes,
)
from carbonhub.telemetry.runtime import active
from carbonhub.telemetry.setup import start_telemetry, stop_telemetry
from carbonhub.telemetry.spans import Traced, start_traced, traced
from carbonhub.telemetry.sql import instrument_engine

__all__ = [
    "TelemetryMiddleware",
    "TraceFormatter",
    "Traced",
    "active",
    "consent_changed",
    "count_events",
    "current_ids",
    "install_log_correlation",
    "instrument_engine",
    "observe_sync_lag",
    "record_outcomes",
    "start_telemetry",
    "start_traced",
    "stop_telemetry",
    "traced",
]
