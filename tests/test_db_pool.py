"""A server process keeps the configured number of PostgreSQL connections open."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from carbonhub.db import engine_for
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
