"""Telemetry fixtures: an OTLP receiver, in-memory recording, and the hub in a subprocess.

OpenTelemetry's global providers can be set once per process, so whatever exports over OTLP
runs in a subprocess (``carbonhub serve``, ``carbonhub sync``) pointed at :class:`OtlpReceiver`;
in-process tests record into in-memory readers through ``runtime.activate`` instead, which
touches no global state.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from carbonhub.telemetry import runtime
from tests.fixtures.processes import Running, free_port, healthy, start
from tests.telemetry.receiver import OtlpReceiver

CARBONHUB = str(Path(sys.executable).with_name("carbonhub"))
# fast export, so a test waits a fraction of a second for what it looks for
EXPORT_QUICKLY = {
    "OTEL_METRIC_EXPORT_INTERVAL": "500",
    "OTEL_BSP_SCHEDULE_DELAY": "100",
    "OTEL_BLRP_SCHEDULE_DELAY": "100",
}


@dataclass
class Recording:
    """What the hub recorded in this process: finished spans and collected metric points."""

    spans_exporter: InMemorySpanExporter
    reader: InMemoryMetricReader

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        return [
            s for s in self.spans_exporter.get_finished_spans() if name is None or s.name == name
        ]

    def points(self, metric: str) -> list[dict[str, object]]:
        """The metric's data points: attributes plus ``value`` (sum) or ``count`` (histogram)."""
        data = self.reader.get_metrics_data()
        found: list[dict[str, object]] = []
        for resource in data.resource_metrics if data else ():
            for scope in resource.scope_metrics:
                for m in scope.metrics:
                    if m.name != metric:
                        continue
                    for point in m.data.data_points:
                        amount = getattr(point, "value", None)
                        if amount is None:
                            amount = point.count  # type: ignore[attr-defined]
                        found.append({**dict(point.attributes or {}), "amount": amount})
        return found


@pytest.fixture
def recording() -> Iterator[Recording]:
    """Telemetry on in this process, into memory (off again afterwards)."""
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    runtime.activate(tracer_provider, meter_provider, "test")
    try:
        yield Recording(exporter, reader)
    finally:
        runtime.deactivate()
        tracer_provider.shutdown()
        meter_provider.shutdown()


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    """An OTLP/HTTP receiver on 127.0.0.1."""
    running = OtlpReceiver()
    try:
        yield running
    finally:
        running.close()


# -- the hub in a subprocess -------------------------------------------------------------------


def hub_environment(database_url: str, **extra: str) -> dict[str, str]:
    """This process's environment without any OTEL_ variable, for a hub on ``database_url``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return {
        **env,
        "CARBONHUB_DATABASE_URL": database_url,
        "CARBONHUB_SYNC_INTERVAL_S": "0",
        "CARBONHUB_CONNECTORS": "csv",  # needs no configuration: no "skipped" lines
        **extra,
    }


def exporting_to(receiver: OtlpReceiver) -> dict[str, str]:
    """The environment that makes the hub export to ``receiver``."""
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint, **EXPORT_QUICKLY}


@contextmanager
def serving(env: Mapping[str, str], log_dir: Path) -> Iterator[Running]:
    """``carbonhub serve`` on a free port until the block ends (terminated whatever happens)."""
    port = free_port()
    with ExitStack() as stack:
        yield start(
            stack,
            [CARBONHUB, "serve", "--port", str(port)],
            url=f"http://127.0.0.1:{port}",
            log_file=log_dir / f"serve-{port}.log",
            env=env,
            ready=healthy,
        )


def database_copy(sqlite_template: Path, directory: Path) -> str:
    """The URL of a fresh copy of the migrated SQLite template in ``directory``."""
    path = directory / "carbonhub.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"
