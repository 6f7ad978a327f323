"""SQL spans from the engine hooks, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from carbonhub.telemetry import traced
from carbonhub.telemetry.sql import MAX_QUERY_TEXT, operation_name, query_text
from tests.telemetry.conftest import Recording


def test_given_a_trace_when_a_statement_runs_then_a_client_span_names_the_database_and_operation(
    recording: Recording, engine: Engine
) -> None:
    with traced("request"), engine.connect() as connection:
        connection.execute(
            text("SELECT name_en FROM region WHERE code = :code"), {"code": "110108"}
        )
    [request] = recording.spans("request")
    [select] = recording.spans("SELECT")
    assert select.kind is SpanKind.CLIENT
    assert select.parent is not None
    assert select.parent.span_id == request.context.span_id
    attributes = dict(select.attributes or {})
    assert attributes["db.system"] == engine.dialect.name
    assert attributes["db.operation.name"] == "SELECT"
    assert str(attributes["db.query.text"]).startswith("SELECT name_en FROM region WHERE code = ")
    assert not any("110108" in str(value) for value in attributes.values())  # never a parameter


def test_given_no_trace_when_a_statement_runs_then_no_span_is_made(
    recording: Recording, engine: Engine
) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert recording.spans() == []


def test_given_an_executemany_then_its_span_counts_the_rows_but_records_none(
    recording: Recording, engine: Engine
) -> None:
    rows = [{"v": f"secret-{n}"} for n in range(3)]
    with traced("request"), engine.connect() as connection:
        connection.execute(text("CREATE TEMPORARY TABLE scratch (v TEXT)"))
        connection.execute(text("INSERT INTO scratch (v) VALUES (:v)"), rows)
    [insert] = recording.spans("INSERT")
    attributes = dict(insert.attributes or {})
    assert attributes["db.operation.batch.size"] == 3
    assert not any("secret" in str(value) for value in attributes.values())


def test_given_a_failing_statement_then_its_span_is_an_error_naming_the_error_type_only(
    recording: Recording, engine: Engine
) -> None:
    with traced("request"), engine.connect() as connection, pytest.raises(DBAPIError):
        connection.execute(text("SELECT no_such_column FROM region WHERE code = :c"), {"c": "x"})
    [select] = recording.spans("SELECT")
    assert select.status.status_code is StatusCode.ERROR
    assert select.status.description is not None
    assert "no_such_column" not in select.status.description
    assert select.status.description == dict(select.attributes or {})["error.type"]


def test_a_long_statement_is_folded_and_cut_to_the_limit() -> None:
    statement = "SELECT\n    " + ",\n    ".join(f"column_{n}" for n in range(100)) + "\nFROM t"
    shown = query_text(statement)
    assert len(shown) == MAX_QUERY_TEXT
    assert shown.startswith("SELECT column_0, column_1,")
    assert shown.endswith("…")


@pytest.mark.parametrize(
    ("statement", "operation"),
    [
        ("select 1", "SELECT"),
        ("  INSERT INTO ledger_entry (a) VALUES (?)", "INSERT"),
        ("-- why\n/* and how */ UPDATE ledger_head SET seq = ?", "UPDATE"),
        ("WITH due AS (SELECT id FROM grant_ WHERE x IN (SELECT 1)) DELETE FROM t", "DELETE"),
        ("WITH a AS (SELECT 1), b AS (SELECT 2) SELECT * FROM a, b", "SELECT"),
        ("BEGIN IMMEDIATE", "BEGIN"),
        ("", "SQL"),
    ],
)
def test_the_operation_is_the_statements_main_verb(statement: str, operation: str) -> None:
    assert operation_name(statement) == operation
