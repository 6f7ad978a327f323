"""The span of the ledger's data, so reports for periods outside it are refused, not empty."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine, func, select

from carbonhub.db import read_session
from carbonhub.errors import InvalidInput
from carbonhub.models import RegionDailyRollup, table_of
from carbonhub.periods import Period

REGION_ROLLUP = table_of(RegionDailyRollup)
REFRESH_S = 60.0


@dataclass(slots=True)
class DataSpan:
    """The first local date with any ledger data, cached for a minute.

    A period ending after the cached date has data or had it; one ending before it is checked
    against the database again, so a backfill of older data is seen at once.
    """

    refresh_s: float = REFRESH_S
    _first: date | None = None
    _read_at: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def first_date(self, engine: Engine, *, fresh: bool = False) -> date | None:
        """The earliest local date in the rollups (None when the ledger is empty)."""
        with self._lock:
            stale = time.monotonic() - self._read_at > self.refresh_s
            if fresh or self._first is None or stale:
                with read_session(engine) as session:
                    self._first = session.execute(
                        select(func.min(REGION_ROLLUP.c.local_date))
                    ).scalar_one()
                self._read_at = time.monotonic()
            return self._first

    def check(self, engine: Engine, period: Period, today: date) -> Period:
        """The period, or InvalidInput when it lies wholly in the future or before the first data.

        A refusal is always confirmed against the database, never made on a cached date.
        """
        if period.start > today:
            raise InvalidInput(
                f"period {period.label!r} has no data: it starts after today ({today.isoformat()})"
            )
        first = self.first_date(engine)
        if first is None or period.end < first:
            first = self.first_date(engine, fresh=True)
        if first is not None and period.end < first:  # an empty ledger reports zeros
            raise InvalidInput(
                f"period {period.label!r} has no data: data starts {first.isoformat()}"
            )
        return period
