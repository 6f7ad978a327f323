"""Rate-limit fixtures: the real app with small limits, HTTP clients at chosen IP addresses,
OAuth clients and a Redis server.

Redis comes from ``CARBONHUB_TEST_REDIS_URL`` (default: the local server at 127.0.0.1:6379).
Outside CI an unreachable server skips the Redis tests; in CI (``CI=true``) it is an error, as
for PostgreSQL. Each Redis test uses a random database index and a client IP of its own, and
deletes the keys of that IP afterwards, so runs sharing a server do not collide.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from carbonhub.app import create_app
from carbonhub.auth.clients import NewClient, create_client
from carbonhub.auth.scopes import ClientKind
from carbonhub.db import write_session
from carbonhub.hub import open_hub
from carbonhub.settings import Settings
from tests.fixtures.accounts import FAST_ARGON2
from tests.fixtures.database import IN_CI
from tests.oauth.conftest import BASE_URL, REDIRECT_URI

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379"
REGION_QUERY = {"query": '{ region(code: "110000") { nameEn } }'}

LimitedApp = Callable[..., Starlette]
Http = Callable[..., contextlib.AbstractContextManager[TestClient]]


@pytest.fixture
def limited_app(engine: Engine) -> LimitedApp:
    """Build the hub's real app (production, at ``BASE_URL``) with rate-limit settings given."""

    def make(**limits: Any) -> Starlette:
        settings = Settings(
            database_url=engine.url.render_as_string(hide_password=False),
            env="production",
            public_url=BASE_URL,
            privacy_k=3,
            **FAST_ARGON2,
            **limits,
        )
        return create_app(hub=open_hub(settings, engine=engine, upgrade=False))

    return make


@contextlib.contextmanager
def at_ip(app: Starlette, ip: str = "203.0.113.7") -> Iterator[TestClient]:
    """An HTTP client of ``app`` whose requests come from ``ip``."""
    with TestClient(app, base_url=BASE_URL, client=(ip, 50000), follow_redirects=False) as http:
        yield http


def random_ip() -> str:
    """A client address no other test (or concurrent run) uses."""
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


@pytest.fixture
def make_client(engine: Engine) -> Callable[..., NewClient]:
    """Register an OAuth client: Beijing's agency by default, or an app with ``REDIRECT_URI``."""

    def make(
        kind: ClientKind = ClientKind.AGENCY, name: str = "Agency", **options: Any
    ) -> NewClient:
        if kind is ClientKind.AGENCY:
            options.setdefault("region_code", "110000")
        if kind is ClientKind.APP:
            options.setdefault("redirect_uris", (REDIRECT_URI,))
        with write_session(engine) as session:
            return create_client(session, kind=kind, name=name, **options)

    return make


def access_token(http: TestClient, client: NewClient) -> str:
    """A client-credentials access token of ``client``."""
    answer = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.client_secret or ""),
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def redis_server() -> str:
    """The URL of a reachable Redis server (skip, or fail under CI, when there is none)."""
    url = os.environ.get("CARBONHUB_TEST_REDIS_URL") or DEFAULT_REDIS_URL
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if IN_CI:
            pytest.fail(f"CI requires Redis for the rate-limit tests at {url}: {exc}")
        pytest.skip(f"Redis not available at {url} ({exc}); set CARBONHUB_TEST_REDIS_URL")
    finally:
        client.close()
    return url


@dataclass(frozen=True)
class RedisTarget:
    """Where a Redis test keeps its counters: a database of the server, and its own client IP."""

    url: str
    ip: str


@pytest.fixture
def redis_target(redis_server: str) -> Iterator[RedisTarget]:
    """A random database and a fresh client IP; the keys of that IP are deleted afterwards."""
    parts = urlsplit(redis_server)
    target = RedisTarget(
        urlunsplit(parts._replace(path=f"/{random.randrange(1, 16)}")), random_ip()
    )
    yield target
    client = redis.Redis.from_url(target.url)
    try:
        for key in client.scan_iter(match=f"carbonhub*/{target.ip}/*"):
            client.delete(key)
    finally:
        client.close()
