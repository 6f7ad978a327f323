"""Logs correlated with traces: every record made inside a span carries its trace and span id.

:func:`install_log_correlation` wraps the logging record factory (once per process, when
telemetry starts), so each record gets ``trace_id`` and ``span_id`` attributes (empty strings
outside a span) whatever handler or formatter later writes it; :class:`TraceFormatter` is the
CLI's formatter, which appends them to the line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from opentelemetry import trace

_lock = threading.Lock()
_installed = False


def current_ids() -> tuple[str, str]:
    """The current span's trace id and span id in hex, or two empty strings outside a span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return "", ""
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


RecordFactory = Callable[..., logging.LogRecord]


def correlating(factory: RecordFactory) -> RecordFactory:
    """``factory`` whose records also carry the current ``trace_id`` and ``span_id``."""

    def make(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.trace_id, record.span_id = current_ids()
        return record

    return make


def install_log_correlation() -> None:
    """Give every log record ``trace_id`` and ``span_id`` attributes from now on (idempotent)."""
    global _installed
    with _lock:
        if not _installed:
            logging.setLogRecordFactory(correlating(logging.getLogRecordFactory()))
            _installed = True


class TraceFormatter(logging.Formatter):
    """A formatter that appends `` trace_id=… span_id=…`` to records made inside a span.

    Access log lines (records with an ``access`` attribute) name their trace id in the message
    already and get nothing appended.
    """

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        trace_id = getattr(record, "trace_id", "")
        if not trace_id or hasattr(record, "access"):
            return line
        return f"{line} trace_id={trace_id} span_id={getattr(record, 'span_id', '')}"
