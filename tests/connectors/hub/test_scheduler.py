"""The scheduled sync settles what was posted into the released aggregates."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from carbonhub.connectors.scheduler import SyncScheduler
from carbonhub.connectors.service import Connectors
from carbonhub.db import read_session
from carbonhub.hub import Hub
from carbonhub.models import ReleasedCount, ReleasedPending
from tests.fixtures.actors import event


def test_given_persons_pending_when_the_scheduled_sync_runs_then_they_are_settled(
    hub: Hub, connectors: Connectors, make_person: Callable[..., str], post: Callable[..., Any]
) -> None:
    person = make_person()
    post([event(person, "transport.metro", "2023-07-04 01:00", source="transit", km="3", ride=1)])

    assert asyncio.run(SyncScheduler(connectors, 60).run_once()) is True

    with read_session(hub.engine) as session:
        assert list(session.scalars(select(col(ReleasedPending.person_id)))) == []
        assert session.scalars(select(col(ReleasedCount.persons))).first() == 1
