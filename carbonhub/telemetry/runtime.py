"""Whether telemetry is on in this process, and the tracer and instruments when it is.

Everything that records telemetry asks :func:`tracer` or :func:`instruments` first and does
nothing when they are ``None``: with telemetry off (the default) instrumented code pays one
attribute read, never the OpenTelemetry API's no-op spans and context switches.

:func:`activate` takes providers explicitly and never touches OpenTelemetry's global ones, so
that :mod:`carbonhub.telemetry.setup` (the process's exporters) and tests (in-memory readers)
use the same path.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Tracer, TracerProvider

from carbonhub.telemetry.instruments import Instruments

SCOPE = "carbonhub"


@dataclass(frozen=True, slots=True)
class _Active:
    tracer: Tracer | None
    instruments: Instruments | None


_OFF = _Active(None, None)
_lock = threading.Lock()
_current = _OFF


def tracer() -> Tracer | None:
    """The hub's tracer, or ``None`` when traces are off."""
    return _current.tracer


def instruments() -> Instruments | None:
    """The hub's metric instruments, or ``None`` when metrics are off."""
    return _current.instruments


def active() -> bool:
    """Whether any telemetry is recorded."""
    return _current is not _OFF


def activate(
    tracer_provider: TracerProvider | None, meter_provider: MeterProvider | None, version: str
) -> None:
    """Record spans with ``tracer_provider`` and metrics with ``meter_provider`` (either may be
    ``None``: that signal stays off)."""
    global _current
    with _lock:
        _current = _Active(
            None if tracer_provider is None else tracer_provider.get_tracer(SCOPE, version),
            None
            if meter_provider is None
            else Instruments.create(meter_provider.get_meter(SCOPE, version)),
        )


def deactivate() -> None:
    """Stop recording (the providers are the caller's to shut down)."""
    global _current
    with _lock:
        _current = _OFF
