"""The released aggregates kept at posting, reversal and every consent change equal the ones a
rebuild computes from scratch, and every step a report can show has a distinct-person counter."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.aggregates import partition_key
from carbonhub.aggregates.rebuild import rebuild_released
from carbonhub.consent.released import settle_pending, sync_person
from carbonhub.db import is_sqlite, read_session, write_session
from carbonhub.hub import Hub
from carbonhub.ledger.state import lock_heads
from carbonhub.models import (
    ConsentGrant,
    ReleasedCount,
    ReleasedDaily,
    ReleasedPending,
    ReleasedPresence,
    table_of,
    utcnow,
)
from carbonhub.periods import Interval, Period
from carbonhub.reports.partitions import day, month, quarter, year
from carbonhub.resolvers.common import catch_up_consents, season_of
from tests.fixtures.actors import event
from tests.reports.conftest import EXAMPLES
from tests.reports.worlds import Plan, World, plans

SEASON = Period(date(2023, 6, 15), date(2023, 10, 31), "season")


def snapshot(hub: Hub) -> dict[str, set[tuple[Any, ...]]]:
    """Every released row that says something (zero sums and counts say nothing)."""
    with read_session(hub.engine) as session:
        daily = {tuple(r) for r in session.execute(select(table_of(ReleasedDaily))) if any(r[6:])}
        counts = {tuple(r) for r in session.execute(select(table_of(ReleasedCount))) if r[-1]}
        presence = {tuple(r) for r in session.execute(select(table_of(ReleasedPresence)))}
    return {"daily": daily, "counts": counts, "presence": presence}


def withdraw_consents(hub: Hub, person_id: str, keep: str | None) -> None:
    """Revoke the person's share consents, or narrow them to ``keep`` when given."""
    consents = hub.consents()
    now = hub_now()
    with write_session(hub.engine) as session:
        ids = session.scalars(
            select(col(ConsentGrant.id)).where(
                col(ConsentGrant.person_id) == person_id, col(ConsentGrant.kind) == "share"
            )
        ).all()
        for consent_id in ids:
            state = consents.state(session, person_id, consent_id, now)
            if state.status != "active":
                continue
            if keep is not None and keep in state.categories and len(state.categories) > 1:
                consents.narrow(session, person_id, consent_id, categories=(keep,), now=now)
            else:
                consents.revoke(session, person_id, consent_id, now=now)


def hub_now() -> datetime:
    """A moment after the world's consents were given."""
    return utcnow() + timedelta(seconds=1)


@EXAMPLES
@given(
    plan=plans(),
    changed=st.lists(
        st.tuples(st.integers(0, 50), st.sampled_from([None, "transport"])), max_size=3
    ),
)
def test_given_random_ledgers_and_consent_changes_then_the_kept_aggregates_equal_a_rebuild(
    hub: Hub,
    reset: Callable[[], None],
    build_world: Callable[[Plan], World],
    plan: Plan,
    changed: list[tuple[int, str | None]],
) -> None:
    reset()
    world = build_world(plan)
    for index, keep in changed:
        withdraw_consents(hub, world.persons[index % len(world.persons)], keep)
    with write_session(hub.engine) as session:
        settle_pending(session, hub.release_rules())  # what every report does first
    kept = snapshot(hub)

    with write_session(hub.engine) as session:
        rebuild_released(session, hub.release_rules())

    rebuilt = snapshot(hub)
    assert kept["daily"] == rebuilt["daily"]
    assert kept["counts"] == rebuilt["counts"]
    assert kept["presence"] == rebuilt["presence"]


PERIODS = [
    day(date(2023, 7, 15)),
    month(2023, 7),
    month(2023, 2),
    quarter(2023, 3),
    year(2023),
    year(2024),
    SEASON,
]


@pytest.mark.parametrize("period", PERIODS, ids=lambda p: p.label)
@pytest.mark.parametrize("interval", list(Interval))
def test_given_any_report_period_then_every_step_of_its_series_has_a_counter(
    period: Period, interval: Interval
) -> None:
    for step in period.buckets(interval):
        assert partition_key(step, SEASON) is not None, step


def test_given_the_beijing_programme_then_its_season_is_the_one_counted(hub: Hub) -> None:
    season = season_of(hub, "110108")

    assert season is not None
    assert partition_key(season, season) == "s"


def test_given_a_report_catching_up_while_the_person_is_synced_elsewhere_then_nothing_moves_twice(
    hub: Hub, make_person: Callable[..., str], post: Callable[..., Any]
) -> None:
    if is_sqlite(hub.engine):
        pytest.skip("SQLite serialises writers: there is no concurrent catch-up to race")
    person = make_person()
    post([event(person, "transport.metro", "2023-07-04 01:00", source="transit", km="12", ride=1)])
    rules = hub.release_rules()
    later = utcnow() + timedelta(days=800)  # every consent of the person has expired
    first = Session(hub.engine)
    first.begin()
    lock_heads(first, [person])  # another transaction holds the person (a sync, a posting)
    racer = threading.Thread(target=catch_up_consents, args=(hub, later))
    racer.start()
    racer.join(timeout=0.5)  # it waits for the person
    sync_person(first, rules, person, later)
    first.commit()
    first.close()
    racer.join(timeout=30)
    kept = snapshot(hub)

    with write_session(hub.engine) as session:
        rebuild_released(session, rules)

    assert kept == snapshot(hub)


def test_given_a_posted_batch_then_its_persons_wait_until_a_report_settles_them(
    hub: Hub, make_person: Callable[..., str], post: Callable[..., Any], gql: Any
) -> None:
    person = make_person()
    post([event(person, "transport.metro", "2023-07-04 01:00", source="transit", km="12", ride=1)])
    assert pending(hub) == [person]
    assert not snapshot(hub)["counts"]

    gql('{ region(code: "110108") { report(period: "2023-07") { participants } } }').ok()

    assert pending(hub) == []
    assert snapshot(hub)["counts"]


def pending(hub: Hub) -> list[str]:
    with read_session(hub.engine) as session:
        return list(session.scalars(select(col(ReleasedPending.person_id))))
