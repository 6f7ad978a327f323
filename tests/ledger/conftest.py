"""Fixtures for ledger tests: a poster with a chosen clock and a read-only view of the ledger."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text
from sqlmodel import col

from carbonhub.db import read_session
from carbonhub.hub import Hub
from carbonhub.ledger import LedgerPoster
from carbonhub.models import (
    EnterpriseDailyRollup,
    LedgerEntry,
    LedgerHead,
    PersonDailyRollup,
    QuarantinedEvent,
    RegionDailyRollup,
)

ROLLUPS = (RegionDailyRollup, PersonDailyRollup, EnterpriseDailyRollup)
BEIJING_2023 = "beijing-green-life-2023@1.0"
HANDBOOK = "beijing-handbook-2022@1.0"
SHENZHEN = "shenzhen-transit-2021@1.0"
ANT = "ant-forest-2023@1.0"


class LedgerView:
    """What the database holds, read the way tests need it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def entries(self, person_id: str | None = None) -> list[LedgerEntry]:
        """Entries in chain order (of one person, or of everyone by person then seq)."""
        query = select(LedgerEntry).order_by(col(LedgerEntry.person_id), col(LedgerEntry.seq))
        if person_id is not None:
            query = query.where(col(LedgerEntry.person_id) == person_id)
        with read_session(self.engine) as session:
            return list(session.scalars(query))

    def entry_count(self) -> int:
        with read_session(self.engine) as session:
            return session.scalar(select(func.count()).select_from(LedgerEntry)) or 0

    def head(self, person_id: str) -> LedgerHead:
        with read_session(self.engine) as session:
            head = session.get(LedgerHead, person_id)
            assert head is not None, f"no chain head for {person_id}"
            return head

    def quarantined(self, reason: str | None = None) -> list[QuarantinedEvent]:
        query = select(QuarantinedEvent).order_by(col(QuarantinedEvent.id))
        if reason is not None:
            query = query.where(col(QuarantinedEvent.reason) == reason)
        with read_session(self.engine) as session:
            return list(session.scalars(query))

    def rollups(self, *, drop_zero_rows: bool = False) -> dict[str, list[tuple[Any, ...]]]:
        """Every rollup row, as sorted tuples per table.

        ``drop_zero_rows`` leaves out rows whose amounts are all zero (what a reversal leaves of
        a row that only its credit had created).
        """
        snapshot: dict[str, list[tuple[Any, ...]]] = {}
        with read_session(self.engine) as session:
            for model in ROLLUPS:
                table = model.__table__  # type: ignore[attr-defined]
                rows = [tuple(r) for r in session.execute(select(table))]
                if drop_zero_rows:
                    amounts = [i for i, c in enumerate(table.columns) if not c.primary_key]
                    amounts = [i for i in amounts if table.columns[i].name != "region_code"]
                    rows = [r for r in rows if any(r[i] for i in amounts)]
                snapshot[table.name] = sorted(rows)
        return snapshot

    def execute(self, sql: str, **params: Any) -> None:
        """Run raw SQL (to tamper with the ledger the way an attacker with DB access would)."""
        with self.engine.begin() as connection:
            connection.execute(text(sql), params)


def reductions(entry: LedgerEntry) -> dict[str, dict[str, Any]]:
    """The entry's reductions under every methodology that knows its behaviour."""
    value: dict[str, dict[str, Any]] = json.loads(entry.reductions)
    return value


@pytest.fixture
def ledger(hub: Hub) -> LedgerView:
    return LedgerView(hub.engine)


@pytest.fixture
def poster_at(hub: Hub) -> Callable[[datetime], LedgerPoster]:
    """A ledger poster whose clock is stopped at the given instant."""

    def make(now: datetime) -> LedgerPoster:
        return LedgerPoster(hub.registry, hub.programmes, clock=lambda: now)

    return make
