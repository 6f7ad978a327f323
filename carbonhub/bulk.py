"""Set-based writes for the posting hot path, handed to the database driver directly.

SQLAlchemy's Core ``executemany`` compiles and processes parameters row by row, which costs
more than the database's own work for narrow rollup rows, and an ``INSERT ... ON CONFLICT``
per row is a round of planning per row on PostgreSQL. Posting writes thousands of rows a
batch, so each statement is rendered once for the connection's dialect:

* SQLite: the driver's ``executemany`` with tuples (one C loop over a prepared statement);
* PostgreSQL: ``COPY`` for plain inserts, and one statement over ``unnest`` of column arrays
  for upserts and updates (one plan, one round trip per table per batch).

Values are converted exactly as the column types would store them, so rows written here read
back through the models unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

# How SQLAlchemy's SQLite DateTime stores a (naive, UTC) timestamp, and reads it back.
SQLITE_TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f"
Converter = Callable[[Any], Any]
Rows = Sequence[Sequence[Any]]


def _sqlite_timestamp(value: datetime | None) -> str | None:
    # the same text as strftime(SQLITE_TIMESTAMP), at a fraction of the cost
    return (
        None
        if value is None
        else value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    )


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _python_type(table: Table, name: str) -> type | None:
    try:
        python_type: type = table.c[name].type.python_type
    except NotImplementedError:
        return None
    return python_type


def _converted(row: Sequence[Any], converters: list[tuple[int, Converter]]) -> tuple[Any, ...]:
    values = list(row)
    for position, convert in converters:
        values[position] = convert(values[position])
    return tuple(values)


class BulkWriter:
    """Dialect-aware ``INSERT``, ``INSERT ... ON CONFLICT`` and ``UPDATE`` of many rows."""

    def __init__(self, session: Session | Connection) -> None:
        self.connection = session.connection() if isinstance(session, Session) else session
        self.sqlite = self.connection.dialect.name == "sqlite"

    def insert(self, table: Table, columns: Sequence[str], rows: Rows) -> None:
        """Insert rows given as tuples in ``columns`` order."""
        if not rows:
            return
        if self.sqlite:
            marks = ", ".join("?" for _ in columns)
            self._executemany(
                f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})",
                table,
                columns,
                rows,
            )
            return
        cursor = self.connection.connection.cursor()
        try:
            with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()

    def insert_ignoring_conflicts(
        self, table: Table, columns: Sequence[str], keys: Sequence[str], rows: Rows
    ) -> None:
        """Insert rows, skipping those whose key exists already."""
        self._insert_on_conflict(table, columns, keys, "DO NOTHING", rows)

    def upsert_adding(
        self,
        table: Table,
        columns: Sequence[str],
        keys: Sequence[str],
        added: Sequence[str],
        rows: Rows,
    ) -> None:
        """Insert rows; where the key exists, add the ``added`` columns to the stored values."""
        sets = ", ".join(f"{c} = {table.name}.{c} + excluded.{c}" for c in added)
        self._insert_on_conflict(table, columns, keys, f"DO UPDATE SET {sets}", rows)

    def upsert_replacing(
        self,
        table: Table,
        columns: Sequence[str],
        keys: Sequence[str],
        replaced: Sequence[str],
        rows: Rows,
    ) -> None:
        """Insert rows; where the key exists, overwrite the ``replaced`` columns."""
        sets = ", ".join(f"{c} = excluded.{c}" for c in replaced)
        self._insert_on_conflict(table, columns, keys, f"DO UPDATE SET {sets}", rows)

    def update(self, table: Table, key: str, columns: Sequence[str], rows: Rows) -> None:
        """Update ``columns`` of the rows whose ``key`` is the last value of each tuple."""
        if not rows:
            return
        if self.sqlite:
            sets = ", ".join(f"{c} = ?" for c in columns)
            self._executemany(
                f"UPDATE {table.name} SET {sets} WHERE {key} = ?", table, [*columns, key], rows
            )
            return
        names = [*columns, key]
        sets = ", ".join(f"{c} = v.{c}" for c in columns)
        self._unnest(
            f"UPDATE {table.name} SET {sets} FROM {self._unnest_source(table, names)} AS v({', '.join(names)}) "
            f"WHERE {table.name}.{key} = v.{key}",
            rows,
        )

    # -- dialect strategies --------------------------------------------------------------------

    def _insert_on_conflict(
        self, table: Table, columns: Sequence[str], keys: Sequence[str], action: str, rows: Rows
    ) -> None:
        if not rows:
            return
        names = ", ".join(columns)
        conflict = f"ON CONFLICT ({', '.join(keys)}) {action}"
        if self.sqlite:
            marks = ", ".join("?" for _ in columns)
            self._executemany(
                f"INSERT INTO {table.name} ({names}) VALUES ({marks}) {conflict}",
                table,
                columns,
                rows,
            )
            return
        source = self._unnest_source(table, columns)
        self._unnest(f"INSERT INTO {table.name} ({names}) SELECT * FROM {source} {conflict}", rows)

    def _executemany(self, sql: str, table: Table, columns: Sequence[str], rows: Rows) -> None:
        converters = self._sqlite_converters(table, columns)
        if converters:
            rows = [_converted(row, converters) for row in rows]
        self.connection.exec_driver_sql(sql, rows)

    @staticmethod
    def _sqlite_converters(table: Table, columns: Sequence[str]) -> list[tuple[int, Converter]]:
        """Which positions need converting (SQLite stores dates and timestamps as text)."""
        found: list[tuple[int, Converter]] = []
        for position, name in enumerate(columns):
            python_type = _python_type(table, name)
            if python_type is datetime:
                found.append((position, _sqlite_timestamp))
            elif python_type is date:
                found.append((position, _sqlite_date))
        return found

    @staticmethod
    def _unnest_source(table: Table, columns: Sequence[str]) -> str:
        """``unnest(%b::type[], ...)``: one array parameter per column, sent in binary (text
        arrays are quoted element by element in Python, which cost more than the upsert)."""
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        arrays = ", ".join(f"%b::{table.c[c].type.compile(dialect=dialect)}[]" for c in columns)
        return f"unnest({arrays})"

    def _unnest(self, sql: str, rows: Rows) -> None:
        arrays = tuple(list(column) for column in zip(*rows, strict=True))
        self.connection.exec_driver_sql(sql, arrays)
