"""What the environment turns on, the service's resource, and log correlation."""

from __future__ import annotations

import logging

import pytest

from carbonhub.telemetry import TraceFormatter, runtime, start_telemetry, traced
from carbonhub.telemetry.logs import correlating
from carbonhub.telemetry.setup import Signals, service_resource
from tests.telemetry.conftest import Recording

ENDPOINT = "http://collector:4318"


@pytest.mark.parametrize(
    ("environ", "traces", "metrics", "logs"),
    [
        ({}, False, False, False),
        ({"OTEL_SERVICE_NAME": "carbonhub"}, False, False, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT}, True, True, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{ENDPOINT}/v1/traces"}, True, False, False),
        ({"OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": f"{ENDPOINT}/v1/logs"}, False, False, True),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_METRICS_EXPORTER": "none"},
            True,
            False,
            True,
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_LOGS_EXPORTER": "none"},
            True,
            True,
            False,
        ),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": ENDPOINT, "OTEL_SDK_DISABLED": "true"},
            False,
            False,
            False,
        ),
    ],
)
def test_the_environment_decides_which_signals_are_exported(
    environ: dict[str, str], traces: bool, metrics: bool, logs: bool
) -> None:
    assert Signals.from_environment(environ) == Signals(traces, metrics, logs)


def test_given_no_endpoint_then_starting_telemetry_records_nothing() -> None:
    assert start_telemetry({"OTEL_SERVICE_NAME": "carbonhub"}) is False
    assert runtime.tracer() is None
    assert runtime.instruments() is None


def test_the_service_is_carbonhub_unless_the_environment_names_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=production")
    resource = service_resource().attributes
    assert resource["service.name"] == "carbonhub"
    assert resource["deployment.environment"] == "production"
    assert resource["service.version"]
    monkeypatch.setenv("OTEL_SERVICE_NAME", "carbonhub-replica")
    assert service_resource().attributes["service.name"] == "carbonhub-replica"


def _record(message: str) -> logging.LogRecord:
    make = correlating(logging.LogRecord)
    return make("carbonhub.test", logging.INFO, __file__, 1, message, (), None)


def test_given_a_span_then_log_records_carry_its_trace_and_span_ids(
    recording: Recording,
) -> None:
    with traced("work"):
        inside = _record("inside")
    outside = _record("outside")
    [span] = recording.spans("work")
    assert inside.trace_id == format(span.context.trace_id, "032x")  # type: ignore[attr-defined]
    assert inside.span_id == format(span.context.span_id, "016x")  # type: ignore[attr-defined]
    formatted = TraceFormatter("%(message)s").format(inside)
    assert formatted == f"inside trace_id={inside.trace_id} span_id={inside.span_id}"  # type: ignore[attr-defined]
    assert TraceFormatter("%(message)s").format(outside) == "outside"
