"""Set-based writes for the posting hot path, handed to the database driver as plain tuples.

SQLAlchemy's Core ``executemany`` compiles and processes parameters row by row, which costs
more than the database's own work for narrow rollup rows. Posting writes thousands of rows a
batch, so it renders each statement once for the connection's dialect and passes tuples to
the driver's ``executemany`` (sqlite3's, or psycopg's pipelined one). Values are converted
here exactly as the column types would store them, so rows written this way read back through
the models unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.orm import Session

# How SQLAlchemy's SQLite DateTime stores a (naive, UTC) timestamp, and how it reads it back.
SQLITE_TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f"


Converter = Callable[[Any], Any]


def _sqlite_timestamp(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime(SQLITE_TIMESTAMP)


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
        self.placeholder = "?" if self.sqlite else "%s"

    def _run(
        self, sql: str, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        if not rows:
            return
        converters = self._converters(table, columns)
        if converters:
            rows = [_converted(row, converters) for row in rows]
        self.connection.exec_driver_sql(sql, rows)

    def _converters(self, table: Table, columns: Sequence[str]) -> list[tuple[int, Converter]]:
        """Which positions need a conversion for the driver (SQLite stores dates as text)."""
        if not self.sqlite:
            return []
        found: list[tuple[int, Converter]] = []
        for position, name in enumerate(columns):
            python_type = _python_type(table, name)
            if python_type is datetime:
                found.append((position, _sqlite_timestamp))
            elif python_type is date:
                found.append((position, _sqlite_date))
        return found

    def insert(self, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows given as tuples in ``columns`` order."""
        marks = ", ".join(self.placeholder for _ in columns)
        self._run(
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})",
            table,
            columns,
            rows,
        )

    def insert_ignoring_conflicts(
        self,
        table: Table,
        columns: Sequence[str],
        keys: Sequence[str],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """Insert rows, skipping those whose key exists already."""
        marks = ", ".join(self.placeholder for _ in columns)
        self._run(
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks}) "
            f"ON CONFLICT ({', '.join(keys)}) DO NOTHING",
            table,
            columns,
            rows,
        )

    def upsert_adding(
        self,
        table: Table,
        columns: Sequence[str],
        keys: Sequence[str],
        added: Sequence[str],
        rows: Sequence[Sequence[Any]],
    ) -> None:
        """Insert rows; where the key exists, add the ``added`` columns to the stored values."""
        marks = ", ".join(self.placeholder for _ in columns)
        sets = ", ".join(f"{c} = {table.name}.{c} + excluded.{c}" for c in added)
        self._run(
            f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks}) "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}",
            table,
            columns,
            rows,
        )

    def update(
        self, table: Table, key: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Update ``columns`` of the rows whose ``key`` is the last value of each tuple."""
        sets = ", ".join(f"{c} = {self.placeholder}" for c in columns)
        self._run(
            f"UPDATE {table.name} SET {sets} WHERE {key} = {self.placeholder}",
            table,
            [*columns, key],
            rows,
        )
