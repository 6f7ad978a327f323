"""Fixtures of the infra tests: the parsed deployment files and the app they probe."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from carbonhub.app import create_app
from carbonhub.hub import open_hub
from carbonhub.settings import Settings
from tests.infra.manifests import (
    COLLECTOR,
    COMPOSE,
    Stage,
    dockerfile_stages,
    k8s_object,
    load_yaml,
)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """infra/compose.yaml."""
    return load_yaml(COMPOSE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    """The compose services by name."""
    return compose["services"]


@pytest.fixture(scope="module")
def runtime_stage() -> Stage:
    """The final stage of the Dockerfile: what the image runs."""
    return dockerfile_stages()[-1]


@pytest.fixture(scope="module")
def deployment() -> dict[str, Any]:
    """The carbonhub Deployment."""
    return k8s_object("Deployment")


@pytest.fixture(scope="module")
def migration_job() -> dict[str, Any]:
    """The Job that runs the migrations."""
    return k8s_object("Job")


@pytest.fixture(scope="module")
def collector() -> dict[str, Any]:
    """infra/otel-collector.yaml."""
    return load_yaml(COLLECTOR)


@pytest.fixture
def app_client(sqlite_template: Path, tmp_path: Path) -> Iterator[TestClient]:
    """The app on a migrated SQLite copy, as ``carbonhub serve`` would run it."""
    path = tmp_path / "carbonhub.db"
    shutil.copyfile(sqlite_template, path)
    hub = open_hub(Settings(database_url=f"sqlite:///{path}"), upgrade=False)
    try:
        with TestClient(create_app(hub=hub, scheduler=False)) as client:
            yield client
    finally:
        hub.engine.dispose()
