"""DataLoaders: one SQL query per type per request tick, whatever the number of keys.

Loaders that return personal data apply the access policy's clause in their query, so a key the
principal may not see loads as None (not found), exactly like a key that does not exist.
Federation's ``_entities`` resolves each representation on its own; these loaders turn a batch
of 500 references into one query per type, and the access log's loader into one log write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, select
from sqlmodel import SQLModel
from strawberry.dataloader import DataLoader

from carbonhub.auth import Principal
from carbonhub.consent import policy
from carbonhub.consent.access_log import Access, log_accesses
from carbonhub.db import reading
from carbonhub.hub import Hub
from carbonhub.models import Enterprise, Person, Region, table_of
from carbonhub.resolvers.threads import in_thread

K = TypeVar("K")
V = TypeVar("V")
M = TypeVar("M", bound=SQLModel)


class SharedLoader(DataLoader[K, V]):
    """A DataLoader whose waiters cannot cancel each other's result.

    Every resolver that loads a key awaits the same future, and a task cancelled while awaiting
    a future cancels that future: when graphql-core cancels the pending siblings of a failed
    field, a plain DataLoader would cancel the result other resolvers (even in another branch
    of the query) are waiting for, and the request would fail with a CancelledError (a 500).
    Each waiter here awaits a shield of the shared future instead.
    """

    def load(self, key: K) -> Awaitable[V]:
        return asyncio.shield(super().load(key))


class Loaders:
    """The DataLoaders of one request."""

    def __init__(self, hub: Hub, principal: Principal, now: datetime) -> None:
        self.hub = hub
        self.principal = principal
        self.now = now
        self.region = SharedLoader[str, Region | None](load_fn=self._regions)
        self.person = SharedLoader[str, Person | None](load_fn=self._persons)
        self.enterprise = SharedLoader[str, Enterprise | None](load_fn=self._enterprises)
        # not cached: two equal reads in one request are two log entries, as before batching
        self.access_log = SharedLoader[Access, None](load_fn=self._log, cache=False)

    async def _log(self, accesses: Sequence[Access]) -> list[None]:
        await in_thread(log_accesses, self.hub.engine, accesses, at=self.now)
        return [None] * len(accesses)

    async def _regions(self, codes: Sequence[str]) -> list[Region | None]:
        return await self._rows(Region, codes)

    async def _persons(self, ids: Sequence[str]) -> list[Person | None]:
        visible = policy.person_rows(self.principal, table_of(Person).c.id)
        return await self._rows(Person, ids, visible)

    async def _enterprises(self, ids: Sequence[str]) -> list[Enterprise | None]:
        return await self._rows(Enterprise, ids)

    async def _rows(
        self, model: type[M], keys: Sequence[str], *clauses: ColumnElement[bool]
    ) -> list[M | None]:
        """The rows of ``model`` with these primary keys (and ``clauses``), in key order.

        Read through Core and built as plain instances: the ORM session's identity map and
        unit of work cost ~0.2 ms a load, and these rows are only read.
        """
        table = table_of(model)
        (key,) = table.primary_key.columns
        query = select(table).where(key.in_(keys), *clauses)

        def load() -> dict[str, M]:
            with reading(self.hub.engine) as connection:
                rows = connection.execute(query).mappings()
                return {row[key.name]: model(**row) for row in rows}

        found = await in_thread(load)
        return [found.get(k) for k in keys]
