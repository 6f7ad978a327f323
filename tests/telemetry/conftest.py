"""Telemetry fixtures: an OTLP receiver, in-memory recording, and the hub in a subprocess.

OpenTelemetry's global providers can be set once per process, so whatever exports over OTLP
runs in a subprocess (``carbonhub serve``, ``carbonhub sync``) pointed at :class:`OtlpReceiver`;
in-process tests record into in-memory readers through ``runtime.activate`` instead, which
touches no global state.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from carbonhub.telemetry import runtime
from tests.telemetry.receiver import OtlpReceiver

CARBONHUB = str(Path(sys.executable).with_name("carbonhub"))
STARTUP_SECONDS = 60
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


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


@dataclass
class Served:
    """A ``carbonhub serve`` subprocess: its base URL and, once stopped, its log."""

    url: str
    log_file: Path

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")


@contextmanager
def serving(env: Mapping[str, str], log_dir: Path) -> Iterator[Served]:
    """``carbonhub serve`` on a free port until the block ends (terminated whatever happens)."""
    port = free_port()
    log_file = log_dir / f"serve-{port}.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [CARBONHUB, "serve", "--port", str(port)],
            env=dict(env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            served = Served(f"http://127.0.0.1:{port}", log_file)
            _wait_until_healthy(process, served)
            yield served
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_healthy(process: subprocess.Popen[bytes], served: Served) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"carbonhub serve exited with {process.returncode}:\n{served.log()}")
        try:
            if httpx.get(f"{served.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"carbonhub serve did not answer within {STARTUP_SECONDS} s:\n{served.log()}")


def database_copy(sqlite_template: Path, directory: Path) -> str:
    """The URL of a fresh copy of the migrated SQLite template in ``directory``."""
    path = directory / "carbonhub.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"
