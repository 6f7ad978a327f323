"""The periodic sync inside ``carbonhub serve``.

Every ``sync_interval_s`` seconds one process syncs every linked account, then settles what
the sync posted into the released aggregates (so reports do not pay for it). With several
replicas or workers, a lease row in the database makes sure only one of them syncs at a time
(the lease outlives a killed holder by at most two intervals).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from carbonhub.connectors.service import Connectors
from carbonhub.consent.released import catch_up
from carbonhub.db import write_session
from carbonhub.errors import CarbonhubError
from carbonhub.models import HubMetadata, utcnow
from carbonhub.telemetry import traced

LEASE_KEY = "sync_lease"
log = logging.getLogger(__name__)


class SyncScheduler:
    """Runs syncs forever at an interval; cancel its task to stop it."""

    def __init__(self, connectors: Connectors, interval_s: int) -> None:
        self.connectors = connectors
        self.interval = timedelta(seconds=interval_s)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"

    async def run_forever(self) -> None:
        """Sleep an interval, sync if this process holds the lease, repeat."""
        while True:
            await asyncio.sleep(self.interval.total_seconds())
            with traced("connector.scheduled_sync") as span:  # the sync's span is its child
                span.set({"carbonhub.sync.lease_held": await self.run_once()})

    async def run_once(self) -> bool:
        """One scheduled sync (False when another process holds the lease)."""
        if not await asyncio.to_thread(self.take_lease, utcnow()):
            return False
        try:
            report = await self.connectors.runner().sync()
        except CarbonhubError as exc:
            log.error("scheduled sync failed: %s", exc)
            return True
        finally:
            # what the sync posted is settled now, not by the next report that reads it
            await asyncio.to_thread(self.settle, utcnow())
        posted = sum(r.counts.get("posted", 0) for r in report.runs)
        log.info(
            "scheduled sync: %d accounts, %d records posted, %d failed",
            len(report.runs),
            posted,
            len(report.failed),
        )
        for run in report.failed:
            log.warning(
                "sync of %s account %s: %s (%s)",
                run.connector,
                run.account_id,
                run.status,
                run.error,
            )
        return True

    def settle(self, now: datetime) -> None:
        """Bring the released aggregates to ``now``: consents in force, persons posted since."""
        hub = self.connectors.hub
        with write_session(hub.engine) as session:
            catch_up(session, hub.release_rules(), now)

    def take_lease(self, now: datetime) -> bool:
        """Hold the sync lease until two intervals from now, unless another live holder has it."""
        until = now + 2 * self.interval
        value = json.dumps({"holder": self.holder, "until": until.isoformat()})
        try:
            with write_session(self.connectors.hub.engine) as session:
                row = session.scalars(
                    select(HubMetadata).where(col(HubMetadata.key) == LEASE_KEY).with_for_update()
                ).first()
                if row is None:
                    session.add(HubMetadata(key=LEASE_KEY, value=value))
                    return True
                lease = json.loads(row.value)
                if lease["holder"] != self.holder and datetime.fromisoformat(lease["until"]) > now:
                    return False
                row.value = value
                return True
        except IntegrityError:  # another process created the lease row first
            return False
