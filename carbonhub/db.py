"""Database engines, sessions, migrations and the few dialect differences carbonhub cares about.

SQLite is the default (a file next to the working directory); PostgreSQL is the production
database. Every statement carbonhub issues runs unchanged on both.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from importlib import resources
from typing import Any
from weakref import WeakKeyDictionary

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError
from sqlalchemy.orm import Session

from carbonhub.errors import CarbonhubError
from carbonhub.settings import Settings
from carbonhub.telemetry.sql import instrument_engine

SQLITE_BUSY_TIMEOUT_MS = 30_000
DEFAULT_POOL_SIZE: int = Settings.model_fields["database_pool_size"].default


class DatabaseUnavailable(CarbonhubError):
    """The database cannot be reached or the URL is unusable."""


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain ``postgresql://`` URLs."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def redact_url(url: str) -> str:
    """The URL with any password hidden, for messages and logs."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def create_db_engine(
    url: str, *, pool_size: int = DEFAULT_POOL_SIZE, pool_overflow: int = 0, **options: Any
) -> Engine:
    """Create an engine with carbonhub's connection settings for the URL's dialect.

    PostgreSQL connections are kept (``pool_size``, no ``pool_overflow`` by default; SQLite
    ignores both): a connection opened for a burst and closed after it costs a server process
    start per request, which under load took more CPU than the requests themselves.
    """
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUnavailable(f"unusable database URL {redact_url(url)!r}") from exc
    if parsed.get_backend_name() == "sqlite":
        options.setdefault("connect_args", {"check_same_thread": False})
        engine = create_engine(url, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take it over so that a write
        # transaction holds the lock from its first statement (no upgrade deadlocks).
        event.listen(engine, "begin", _sqlite_begin)
        instrument_engine(engine)
        return engine
    engine = create_engine(url, pool_size=pool_size, max_overflow=pool_overflow, **options)
    event.listen(engine, "connect", _postgresql_session)
    if not options.get("pool_pre_ping"):
        event.listen(engine, "connect", _note_checkin)  # a new connection is alive
        event.listen(engine, "checkin", _note_checkin)
        event.listen(engine, "checkout", _ping_if_idle)
    instrument_engine(engine)
    return engine


def engine_for(settings: Settings) -> Engine:
    """The engine of the configured database, with the configured pool on PostgreSQL."""
    return create_db_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        pool_overflow=settings.database_pool_overflow,
    )


def _postgresql_session(dbapi_connection: Any, _record: Any) -> None:
    # psycopg prepares a statement it sees often; PostgreSQL may then keep a generic plan made
    # while a table was small (a sequential scan) for the life of the connection. Posting's
    # key lookups keep one statement text for any number of keys, so they would be exposed:
    # plan every execution against current statistics instead.
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET plan_cache_mode = force_custom_plan")
    dbapi_connection.commit()


# a pooled connection used this recently is taken as alive without a ping (see _ping_if_idle)
PING_AFTER_IDLE_S = 10.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Ping a pooled connection before use when it sat idle longer than PING_AFTER_IDLE_S.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout, and a request checks out a
    connection several times, each returned a moment before and almost certainly alive
    (measured: ~90 us of a ~200 us checkout-and-read). A connection that idled is pinged; a
    dead one raises DisconnectionError, on which the pool discards it and checks out
    another. A server lost within the window fails the statements in flight once, and
    SQLAlchemy then invalidates the pool's older connections, so the next checkouts
    reconnect.
    """
    last = record.info.get("checked_in")
    if last is not None and time.monotonic() - last < PING_AFTER_IDLE_S:
        return
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        dbapi_connection.rollback()
    except Exception as exc:
        raise DisconnectionError(f"pooled connection is gone: {exc}") from exc


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA wal_autocheckpoint = 8000")
    cursor.execute("PRAGMA cache_size = -65536")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE" if _wants_write_lock(connection) else "BEGIN")


def _wants_write_lock(connection: Connection) -> bool:
    return bool(connection.info.get("write", False))


def is_sqlite(bind: Engine | Connection) -> bool:
    """Whether the engine or connection talks to SQLite."""
    return bind.dialect.name == "sqlite"


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session for a write transaction: committed on success, rolled back on error.

    On SQLite the transaction takes the write lock at BEGIN, so two writers queue instead of
    failing on lock upgrade.
    """
    with engine.connect() as connection:
        connection.info["write"] = True
        try:
            with Session(bind=connection, expire_on_commit=False) as session, session.begin():
                yield session
        finally:
            connection.info["write"] = False


_READERS: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()


def reader(engine: Engine) -> Engine:
    """The engine to read with, or to run a write that is one statement (atomic by itself):
    on PostgreSQL the same pool in autocommit.

    Without a transaction, a read's connection sends no BEGIN before its first statement and
    no ROLLBACK when it goes back to the pool: two round trips fewer for every read, and a
    request makes several. Under READ COMMITTED every statement takes its own snapshot anyway,
    so nothing is lost. SQLite keeps its transactions, whose snapshot spans the statements.
    """
    if is_sqlite(engine):
        return engine
    found = _READERS.get(engine)
    if found is None:
        found = _READERS[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return found


# the read connection :func:`reading` holds for the current thread's work, with its engine
_held: ContextVar[tuple[Engine, Connection] | None] = ContextVar("carbonhub_read", default=None)


def _held_for(engine: Engine) -> Connection | None:
    held = _held.get()
    return held[1] if held is not None and held[0] is engine else None


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read connection (see :func:`reader`), which every read inside the block shares.

    :func:`read_session` and nested ``reading`` blocks on the same engine reuse it: the
    several reads of one step of a request (a report's probes and its batch read) then take
    one connection from the pool instead of one each, and one liveness ping. Never write on
    it, and never open a write session inside the block: a thread holding two connections
    at once can exhaust the pool with its peers (each waits for a second one).
    """
    held = _held_for(engine)
    if held is not None:
        yield held
        return
    with reader(engine).connect() as connection:
        token = _held.set((engine, connection))
        try:
            yield connection
        finally:
            _held.reset(token)


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A session for reads (autocommit on PostgreSQL: see :func:`reader`), on the connection
    of the enclosing :func:`reading` block if there is one."""
    with Session(_held_for(engine) or reader(engine), expire_on_commit=False) as session:
        yield session


def check_reachable(engine: Engine) -> None:
    """Open one connection, or raise :class:`DatabaseUnavailable` with a one-line reason."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailable(
            f"cannot reach the database at {redact_url(str(engine.url))}: {reason}"
        ) from exc


def _alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    script_location = resources.files("carbonhub") / "migrations"
    config.set_main_option("script_location", str(script_location))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


class MigrationFailed(CarbonhubError):
    """The database's schema cannot be brought to this version of carbonhub."""


def upgrade_database(engine: Engine) -> None:
    """Apply every pending Alembic migration (idempotent)."""
    check_reachable(engine)
    try:
        with engine.begin() as connection:
            command.upgrade(_alembic_config(connection), "head")
    except CommandError as exc:
        raise MigrationFailed(
            f"cannot migrate {redact_url(str(engine.url))}: {exc} "
            "(was it created by a newer carbonhub?)"
        ) from exc


def head_revision() -> str | None:
    """The newest migration revision shipped with this version of carbonhub."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration revision the database is at (None when never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upsert_adding(
    connection: Connection | Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    key_columns: Sequence[str],
    add_columns: Sequence[str],
) -> None:
    """Insert ``rows``; where the key exists already, add the ``add_columns`` to it.

    This is how rollups stay equal to the sum of their entries in the same transaction.
    """
    if not rows:
        return
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    dialect_insert = sqlite.insert if bind.dialect.name == "sqlite" else postgresql.insert
    statement = dialect_insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=list(key_columns),
        set_={name: table.c[name] + statement.excluded[name] for name in add_columns},
    )
    connection.execute(statement, list(rows))


def insert_ignoring_conflicts(
    connection: Connection | Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    key_columns: Sequence[str],
) -> None:
    """Insert ``rows``, skipping those whose key already exists."""
    if not rows:
        return
    bind = connection.get_bind() if isinstance(connection, Session) else connection
    dialect_insert = sqlite.insert if bind.dialect.name == "sqlite" else postgresql.insert
    statement = dialect_insert(table).on_conflict_do_nothing(index_elements=list(key_columns))
    connection.execute(statement, list(rows))
