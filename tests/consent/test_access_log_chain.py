"""The access log stays one verifiable chain, however many writers append at once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import Engine, func, select

from carbonhub.consent.access_log import (
    HEAD,
    LOG,
    Access,
    first_broken_entry,
    log_accesses,
    record_access,
)
from carbonhub.db import create_db_engine, read_session, write_session
from carbonhub.hub import Hub
from carbonhub.models import utcnow

RELEASE = Access(
    recipient_kind="agency",
    recipient_id="110000",
    client_id=None,
    purpose="regional_statistics",
    what="region_report",
    categories=("transport",),
    period_from=date(2023, 7, 1),
    period_to=date(2023, 7, 31),
    persons=12,
    scope_code="110000",
    scope_prefix="11",
)


def chain_of(engine: Engine) -> tuple[int, int, int | None]:
    """(entries, distinct predecessors, first entry that does not verify)."""
    with read_session(engine) as session:
        entries = session.execute(select(func.count()).select_from(LOG)).scalar_one()
        predecessors = session.execute(
            select(func.count(func.distinct(LOG.c.prev_hash)))
        ).scalar_one()
        return entries, predecessors, first_broken_entry(session)


def in_threads(count: int, work: Callable[[], None]) -> None:
    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


def test_given_writers_appending_at_once_then_the_log_is_one_unbroken_chain(hub: Hub) -> None:
    batches = [1 + n % 3 for n in range(25)]  # single entries (one statement) and batches

    def append() -> None:
        for size in batches:
            log_accesses(hub.engine, [RELEASE] * size, at=utcnow())

    in_threads(6, append)

    appended = 6 * sum(batches)
    assert chain_of(hub.engine) == (appended, appended, None)


def test_given_appends_inside_callers_transactions_at_once_then_the_chain_holds(
    hub: Hub,
) -> None:
    def append() -> None:
        for _ in range(20):
            with write_session(hub.engine) as session:
                record_access(session, RELEASE, at=utcnow())
            log_accesses(hub.engine, [RELEASE], at=utcnow())

    in_threads(4, append)

    assert chain_of(hub.engine) == (160, 160, None)


def test_given_another_process_appended_then_an_append_chains_to_its_entry(
    hub: Hub,
) -> None:
    log_accesses(hub.engine, [RELEASE], at=utcnow())  # this process remembers the chain's end
    other = create_db_engine(str(hub.engine.url.render_as_string(hide_password=False)))
    try:
        log_accesses(other, [RELEASE, RELEASE], at=utcnow())  # another replica moves it

        log_accesses(hub.engine, [RELEASE], at=utcnow())
    finally:
        other.dispose()

    assert chain_of(hub.engine) == (4, 4, None)


def test_given_a_log_without_its_head_row_then_the_head_is_rebuilt_from_the_last_entry(
    hub: Hub,
) -> None:
    log_accesses(hub.engine, [RELEASE, RELEASE], at=utcnow())
    with write_session(hub.engine) as session:
        session.execute(HEAD.delete())

    log_accesses(hub.engine, [RELEASE], at=utcnow())

    assert chain_of(hub.engine) == (3, 3, None)


@pytest.mark.parametrize("batch", [1, 3])
def test_given_an_append_then_the_head_holds_the_last_entrys_hash(hub: Hub, batch: int) -> None:
    log_accesses(hub.engine, [RELEASE] * batch, at=utcnow())

    with read_session(hub.engine) as session:
        last = session.execute(select(LOG.c.hash).order_by(LOG.c.id.desc()).limit(1)).scalar()
        head = session.execute(select(HEAD.c.last_hash)).scalar()
    assert head == last
