"""SQL spans from SQLAlchemy engine events: one client span per statement sent to the database.

A span carries ``db.system`` (``postgresql`` or ``sqlite``), ``db.operation.name`` (SELECT,
INSERT, ...) and ``db.query.text``: the statement as SQLAlchemy sends it, whitespace folded and
cut at :data:`MAX_QUERY_TEXT` characters. carbonhub's statements bind every value as a
parameter; parameters are never recorded, only how many rows an ``executemany`` sends.

Statements outside any trace (pool pings, a scheduler's lease) are not traced on their own:
an SQL span is always the child of the request, sync or batch that caused it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import ExceptionContext, ExecutionContext

from carbonhub.telemetry import runtime
from carbonhub.telemetry.spans import current_span_recording

MAX_QUERY_TEXT = 300
_SPAN = "_carbonhub_span"
_SPACE = re.compile(r"\s+")
_FIRST_WORD = re.compile(r"\s*(?:--[^\n]*\n\s*|/\*.*?\*/\s*)*([A-Za-z]+)", re.DOTALL)
# the main statement after a WITH's common table expressions: a verb right after a ")"
_AFTER_CTE = re.compile(r"\)\s*(SELECT|INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)


def operation_name(statement: str) -> str:
    """The statement's operation: its first keyword (the main verb after a ``WITH``)."""
    match = _FIRST_WORD.match(statement)
    if match is None:
        return "SQL"
    word = match.group(1).upper()
    if word == "WITH":
        main = _AFTER_CTE.search(statement, match.end())
        return main.group(1).upper() if main else word
    return word


def query_text(statement: str) -> str:
    """The statement with whitespace folded, cut at :data:`MAX_QUERY_TEXT` characters."""
    folded = _SPACE.sub(" ", statement).strip()
    return folded if len(folded) <= MAX_QUERY_TEXT else folded[: MAX_QUERY_TEXT - 1] + "…"


@lru_cache(maxsize=2048)
def _described(statement: str) -> tuple[str, str]:
    # SQLAlchemy caches compiled statements: the same few hundred texts come back every time
    return operation_name(statement), query_text(statement)


def instrument_engine(engine: Engine) -> None:
    """Trace ``engine``'s statements while telemetry is on (idempotent)."""
    if event.contains(engine, "before_cursor_execute", _before):
        return
    event.listen(engine, "before_cursor_execute", _before)
    event.listen(engine, "after_cursor_execute", _after)
    event.listen(engine, "handle_error", _failed)


def _before(
    connection: Connection,
    _cursor: Any,
    statement: str,
    parameters: Any,
    context: ExecutionContext | None,
    executemany: bool,
) -> None:
    tracer = runtime.tracer()
    if tracer is None or context is None or not current_span_recording():
        return
    operation, shown = _described(statement)
    attributes: dict[str, str | int] = {
        "db.system": connection.dialect.name,
        "db.operation.name": operation,
        "db.query.text": shown,
    }
    if executemany and isinstance(parameters, list | tuple):
        attributes["db.operation.batch.size"] = len(parameters)
    span = tracer.start_span(operation, kind=SpanKind.CLIENT, attributes=attributes)
    setattr(context, _SPAN, span)


def _after(
    _connection: Connection,
    _cursor: Any,
    _statement: str,
    _parameters: Any,
    context: ExecutionContext | None,
    _executemany: bool,
) -> None:
    span = getattr(context, _SPAN, None)
    if span is not None:
        setattr(context, _SPAN, None)
        span.end()


def _failed(exception_context: ExceptionContext) -> None:
    context = exception_context.execution_context
    span = getattr(context, _SPAN, None)
    if span is None:
        return
    setattr(context, _SPAN, None)
    # the error's type only: a database's message may quote the values of the row
    error = exception_context.original_exception
    span.set_status(Status(StatusCode.ERROR, type(error).__name__))
    span.set_attribute("error.type", type(error).__name__)
    span.end()
