"""Fixtures of the consent centre tests: the hub's app over HTTPS, a signed-in employee.

The app is the real ``create_app`` on the test database, reached at ``https://127.0.0.1`` with
the hub's public URL set to match (receipts name it as their issuer; cookies stay valid).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pytest
from starlette.testclient import TestClient

from carbonhub.actors import employ
from carbonhub.app import create_app
from carbonhub.auth.sessions import SESSION_COOKIE, start_session
from carbonhub.db import write_session
from carbonhub.hub import Hub
from carbonhub.models import ConsentRequest, utcnow
from tests.fixtures.accounts import FAST_ARGON2, Citizen

BASE_URL = "https://127.0.0.1"
CATEGORIES = ("transport", "food")


@pytest.fixture
def centre_hub(hub: Hub) -> Hub:
    """The test hub with cheap Argon2 and the public URL the test client uses."""
    return replace(
        hub, settings=hub.settings.model_copy(update={**FAST_ARGON2, "public_url": BASE_URL})
    )


@pytest.fixture
def centre(centre_hub: Hub) -> Iterator[TestClient]:
    """An HTTP client of the whole app that does not follow redirects (English by default)."""
    app = create_app(hub=centre_hub)
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as client:
        client.headers["accept-language"] = "en"
        yield client


@dataclass(frozen=True)
class Employee:
    """A signed-in citizen employed by ``enterprise_id``."""

    person_id: str
    username: str
    enterprise_id: str


@pytest.fixture
def employee(
    centre: TestClient,
    centre_hub: Hub,
    make_citizen: Callable[..., Citizen],
    make_enterprise: Callable[..., str],
) -> Employee:
    """A citizen of Haidian working for 京绿科技, signed in on ``centre`` (no consents yet)."""
    enterprise_id = make_enterprise()
    citizen = make_citizen()
    with write_session(centre_hub.engine) as session:
        employ(
            session,
            person_id=citizen.account.person_id,
            enterprise_id=enterprise_id,
            since=date(2023, 1, 1),
        )
        token = start_session(session, citizen.account, centre_hub.settings)
    centre.cookies.set(SESSION_COOKIE, token, domain="127.0.0.1")
    return Employee(citizen.account.person_id, citizen.username, enterprise_id)


def ask_employees(hub: Hub, enterprise_id: str, categories: tuple[str, ...] = CATEGORIES) -> str:
    """The enterprise asks its employees for an ESG consent; returns the request id."""
    now = utcnow()
    with write_session(hub.engine) as session:
        request: ConsentRequest = hub.consents().request(
            session,
            enterprise_id=enterprise_id,
            client_id=None,
            categories=categories,
            data_from=date(2023, 1, 1),
            data_to=date(2023, 12, 31),
            consent_expires_at=now + timedelta(days=300),
            now=now,
        )
        return request.id


def csrf_of(client: TestClient, path: str) -> str:
    """Open ``path`` as a browser does and read its form's CSRF token."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def submit(client: TestClient, form_page: str, action: str, data: dict[str, object]):
    """Submit a form found on ``form_page`` to ``action`` with its CSRF token."""
    return client.post(action, data={"csrf_token": csrf_of(client, form_page), **data})
