"""Deterministic account histories: habits, local days, times of day, trips that do not overlap.

An account's history is a function of (seed, provider, account, start, end, activity) only:
its random source is ``random.Random(f"{seed}:{provider}:{account}")`` and it draws in a fixed
order, so the same switches always give the same records, byte for byte.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from carbonhub.connectors.simulators.options import SHANGHAI, SimulatorOptions

Record = dict[str, Any]
COMMUTE_HOURS = (7, 8, 9, 12, 17, 18, 19, 21)
COMMUTE_WEIGHTS = (3, 6, 2, 1, 5, 5, 2, 1)
MEAL_HOURS = (10, 11, 12, 13, 17, 18, 19, 20, 21, 22)
MEAL_WEIGHTS = (1, 5, 6, 2, 2, 5, 5, 3, 2, 1)
MIN_GAP_S = 180  # between the end of one trip and the start of the next


@dataclass(frozen=True, slots=True)
class History:
    """An account's records in time order, with the instant each one becomes visible."""

    records: tuple[Record, ...]
    times: tuple[float, ...]  # Unix seconds, ascending

    def visible(self, now: datetime) -> int:
        """How many records (a prefix) had happened by ``now``."""
        return bisect_right(self.times, now.timestamp())


def build_history(dated: list[tuple[float, Record]], account: str, id_field: str) -> History:
    """Order generated records by time and number them ``<account>-<index:06d>`` from 1."""
    dated.sort(key=lambda pair: pair[0])
    for index, (_, record) in enumerate(dated, start=1):
        record[id_field] = f"{account}-{index:06d}"
    return History(tuple(record for _, record in dated), tuple(when for when, _ in dated))


def account_rng(options: SimulatorOptions, provider: str, account: str) -> random.Random:
    """The account's own random source (the same for the same seed, provider and account)."""
    return random.Random(f"{options.seed}:{provider}:{account}")  # noqa: S311  (synthetic data)


def local_days(options: SimulatorOptions) -> Iterator[date]:
    """Every local day from ``start`` to ``end`` inclusive."""
    day = options.start
    while day <= options.end:
        yield day
        day += timedelta(days=1)


def maybe(rng: random.Random, probability: float, low: float, high: float) -> float:
    """A habit's rate: uniform in [low, high] for that share of accounts, else 0."""
    return rng.uniform(low, high) if rng.random() < probability else 0.0


def daily_count(rng: random.Random, rate: float) -> int:
    """A Poisson-like count of events a day with mean about ``rate``."""
    count = 0
    while rate > 0 and rng.random() < min(rate, 0.95):
        count += 1
        rate -= 1
    return count


def moment(rng: random.Random, day: date, hours: Sequence[int], weights: Sequence[int]) -> datetime:
    """A local instant on ``day`` in one of ``hours`` (weighted), to the second."""
    hour = rng.choices(hours, weights)[0]
    clock = time(hour, rng.randrange(60), rng.randrange(60))
    return datetime.combine(day, clock, tzinfo=SHANGHAI)


def trip_starts(rng: random.Random, day: date, durations: Sequence[int]) -> list[datetime]:
    """Start instants of one day's trips (commuting hours), each after the previous one ended."""
    starts = sorted(moment(rng, day, COMMUTE_HOURS, COMMUTE_WEIGHTS) for _ in durations)
    for i in range(1, len(starts)):
        earliest = starts[i - 1] + timedelta(seconds=durations[i - 1] + MIN_GAP_S)
        if starts[i] < earliest:
            starts[i] = earliest + timedelta(seconds=rng.randrange(900))
    return starts


def trip_km(rng: random.Random, typical: float, low: float, high: float) -> float:
    """A trip's length around the account's typical one (log-normal), within [low, high]."""
    return max(low, min(typical * rng.lognormvariate(0, 0.35), high))


def weekend(day: date) -> bool:
    """Saturday or Sunday (people commute less)."""
    return day.weekday() >= 5


def utc_z(moment: datetime) -> str:
    """An instant as ``2023-06-15T00:10:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
