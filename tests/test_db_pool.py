"""A server process keeps the configured number of PostgreSQL connections open, and pings a
pooled connection only when it idled."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from carbonhub import db
from carbonhub.db import create_db_engine, engine_for
from carbonhub.settings import Settings
from tests.fixtures.database import schema_url


@pytest.mark.postgres
def test_connections_beyond_the_pool_are_not_opened_when_overflow_is_zero(
    postgres_schema_url: str,
) -> None:
    # given a pool of two connections without overflow
    settings = Settings(
        database_url=schema_url(postgres_schema_url),
        database_pool_size=2,
        database_pool_overflow=0,
    )
    engine = engine_for(settings)
    engine.pool._timeout = 0.2  # type: ignore[attr-defined]
    try:
        # when two connections are in use
        with engine.connect() as first, engine.connect() as second:
            first.execute(text("SELECT 1"))
            second.execute(text("SELECT 1"))
            # then a third waits and times out instead of opening a connection
            with pytest.raises(Exception, match="QueuePool limit of size 2 overflow 0"):
                engine.connect()
        # and returned connections stay open for the next request
        assert engine.pool.checkedin() == 2  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def _end_server_process(engine: Engine, connection_pid: int) -> None:
    """Terminate a connection's PostgreSQL backend from another connection, and wait for it."""
    admin_engine = create_db_engine(engine.url.render_as_string(hide_password=False))
    try:
        with admin_engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": connection_pid})
            for _ in range(200):
                alive = admin.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": connection_pid},
                ).scalar_one()
                if not alive:
                    return
                time.sleep(0.01)
    finally:
        admin_engine.dispose()
    raise AssertionError(f"backend {connection_pid} did not end")


@pytest.fixture
def one_connection(postgres_schema_url: str) -> Iterator[tuple[Engine, int]]:
    """A pool of one PostgreSQL connection, used once and returned; and its backend's pid."""
    engine = create_db_engine(schema_url(postgres_schema_url), pool_size=1)
    with engine.connect() as connection:
        pid = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
    try:
        yield engine, pid
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_given_an_idle_pooled_connection_whose_server_ended_when_checked_out_then_a_new_one_serves(
    one_connection: tuple[Engine, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, pid = one_connection
    _end_server_process(engine, pid)
    monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)  # every pooled connection has idled

    with engine.connect() as connection:
        served_by = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()

    assert served_by != pid


@pytest.mark.postgres
def test_given_a_connection_returned_a_moment_ago_when_its_server_ended_then_one_use_fails_and_the_next_reconnects(
    one_connection: tuple[Engine, int],
) -> None:
    engine, pid = one_connection
    _end_server_process(engine, pid)

    # not pinged within the window: the statement in flight meets the lost server
    with pytest.raises(DBAPIError), engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    with engine.connect() as connection:
        served_by = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()

    assert served_by != pid
