"""The Alembic migrations build exactly the schema the models declare, on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from carbonhub.db import (
    _alembic_config,
    create_db_engine,
    current_revision,
    head_revision,
    upgrade_database,
)
from carbonhub.hub import prepare_database
from carbonhub.models import metadata
from tests.fixtures.database import postgres_url, schema_url


def differences(engine: Engine) -> list[object]:
    """What autogenerate would change to make the database match the models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def blank_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty database (no tables) on each backend."""
    if request.param == "sqlite":
        engine = create_db_engine(f"sqlite:///{tmp_path / 'blank.db'}")
        yield engine
        engine.dispose()
        return
    request.getfixturevalue("postgres_schema_url")  # skips (or fails in CI) without PostgreSQL
    base = create_db_engine(postgres_url())
    schema = f"carbonhub_blank_{uuid.uuid4().hex[:10]}"
    with base.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_db_engine(schema_url(schema))
    try:
        yield engine
    finally:
        engine.dispose()
        with base.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        base.dispose()


def test_given_the_test_database_then_the_models_match_the_migration(engine: Engine) -> None:
    assert differences(engine) == []


def test_given_an_empty_database_when_upgraded_then_it_is_at_head_and_matches_the_models(
    blank_engine: Engine,
) -> None:
    upgrade_database(blank_engine)

    assert current_revision(blank_engine) == head_revision()
    assert tables(blank_engine) == {t.name for t in metadata.sorted_tables} | {"alembic_version"}
    assert differences(blank_engine) == []


def test_given_a_prepared_database_when_upgraded_again_then_nothing_changes(
    blank_engine: Engine,
) -> None:
    prepare_database(blank_engine)
    with blank_engine.connect() as connection:
        regions = connection.execute(text("SELECT count(*) FROM region")).scalar_one()

    prepare_database(blank_engine)
    upgrade_database(blank_engine)

    assert current_revision(blank_engine) == head_revision()
    assert differences(blank_engine) == []
    with blank_engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM region")).scalar_one() == regions == 51


def test_given_a_migrated_database_when_downgraded_then_only_the_version_table_remains(
    blank_engine: Engine,
) -> None:
    upgrade_database(blank_engine)

    with blank_engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "base")

    assert tables(blank_engine) <= {"alembic_version"}
    assert current_revision(blank_engine) is None
