"""Spans around the hub's units of work (a sync, an account's sync, a ledger batch).

:func:`traced` is a context manager that makes its span current; :func:`start_traced` starts
one that ends later, maybe in another thread (an account's sync ends when its last page is
committed). Both hand back a :class:`Traced` that silently drops what is set on it when
tracing is off, so instrumented code has no branches of its own.

A failure sets the span's status to ERROR with the exception's type only: messages of the hub
may name a person (``person p_… has no consent``), and spans must not.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from carbonhub.errors import CarbonhubError
from carbonhub.telemetry import runtime

Attributes = Mapping[str, AttributeValue]


class Traced:
    """A span of the hub's, or nothing when tracing is off."""

    __slots__ = ("_ended", "span")

    def __init__(self, span: Span | None) -> None:
        self.span = span
        self._ended = False

    def set(self, attributes: Attributes) -> None:
        """Set attributes on the span."""
        if self.span is not None:
            self.span.set_attributes(attributes)

    def fail(self, exc: BaseException) -> None:
        """Mark the span failed, naming the error's code or type (never its message)."""
        if self.span is not None:
            self.span.set_status(Status(StatusCode.ERROR, error_name(exc)))

    def finish(self, attributes: Attributes | None = None) -> None:
        """Set the last attributes and end the span; later calls do nothing."""
        if self.span is None or self._ended:
            return
        self._ended = True
        if attributes:
            self.span.set_attributes(attributes)
        self.span.end()


def error_name(exc: BaseException) -> str:
    """What a span may say about an error: a hub error's code, else the exception's type."""
    if isinstance(exc, CarbonhubError):
        return exc.code
    return type(exc).__name__


def start_traced(name: str, attributes: Attributes | None = None) -> Traced:
    """Start a span, child of the current one, that the caller ends with :meth:`Traced.finish`."""
    tracer = runtime.tracer()
    if tracer is None:
        return Traced(None)
    return Traced(tracer.start_span(name, attributes=attributes))


@contextmanager
def traced(name: str, attributes: Attributes | None = None) -> Iterator[Traced]:
    """A span, current inside the block, ended when it leaves; failures mark it."""
    tracer = runtime.tracer()
    if tracer is None:
        yield Traced(None)
        return
    with tracer.start_as_current_span(
        name, attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as span:
        handle = Traced(span)
        try:
            yield handle
        except BaseException as exc:
            handle.fail(exc)
            raise
    handle._ended = True


def current_span_recording() -> bool:
    """Whether the current span records (work outside any trace is not traced on its own)."""
    return trace.get_current_span().is_recording()
