"""A small world for GraphQL tests: residents of two Beijing districts and one employer."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from carbonhub.app import create_app
from carbonhub.hub import open_hub
from carbonhub.settings import Settings
from tests.fixtures.actors import event


@dataclass(frozen=True)
class World:
    haidian: list[str]
    chaoyang: list[str]
    employer: str
    employees: list[str]


@pytest.fixture
def world(make_person, make_enterprise, post) -> World:
    """4 Haidian residents (3 employed), 3 Chaoyang residents; rides, orders and metro trips in July 2023.

    Under beijing-green-life-2023 each Haidian resident rides 4 km (1000 g) and orders once
    (45.72 g); each Chaoyang resident rides 2 km (500 g); everyone takes one metro ride, which
    that methodology does not cover.
    """
    employer = make_enterprise()
    haidian = [make_person("110108", employer=employer if i < 3 else None) for i in range(4)]
    chaoyang = [make_person("110105") for _ in range(3)]
    events = []
    for person in haidian:
        events.append(
            event(person, "transport.bike_share", "2023-07-03 00:30", km="4", duration_s=1200)
        )
        events.append(
            event(
                person,
                "food.no_utensils",
                "2023-07-03 04:00",
                source="takeaway",
                order=1,
                reference=f"o-{person}",
            )
        )
    for person in chaoyang:
        events.append(
            event(person, "transport.bike_share", "2023-07-10 00:30", km="2", duration_s=600)
        )
    for person in haidian + chaoyang:
        events.append(
            event(person, "transport.metro", "2023-07-12 01:00", source="transit", km="10", ride=1)
        )
    report = post(events)
    assert report.posted == len(events)
    return World(haidian, chaoyang, employer, haidian[:3])


MakeClient = Callable[..., TestClient]


@pytest.fixture
def client_with(settings: Settings, engine: Any) -> Iterator[MakeClient]:
    """An HTTP client (https, as OAuth wants) of an app whose settings are the test settings
    changed by ``changes``."""
    with contextlib.ExitStack() as clients:

        def make(**changes: Any) -> TestClient:
            hub = open_hub(settings.model_copy(update=changes), engine=engine, upgrade=False)
            app = create_app(hub=hub)
            return clients.enter_context(TestClient(app, base_url="https://testserver"))

        yield make
