"""What goes wrong with real providers, on switches: errors, latency, rate limits, bad pages.

Faults never change which real records a page holds: duplicates are identical copies within the
page, malformed records are extra (ids starting ``bad-``), a shuffle only reorders. Pagination
and cursors are computed from the real records before any of this is applied, so a faulty run
delivers exactly the records of a fault-free one.
"""

from __future__ import annotations

import asyncio
import copy
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response

from carbonhub.connectors.simulators.options import SimulatorOptions

Record = dict[str, Any]
MAX_BUCKETS = 100_000  # forget the oldest token buckets beyond this many tokens
# Around Beijing: what a careless provider might leak (a record with it must be refused).
_LAT, _LNG = (39.80, 40.05), (116.25, 116.55)
_POLYLINE = "_p~iF~ps|U_ulLnnqC_mqNvxq`@"


@dataclass(frozen=True, slots=True)
class Breakage:
    """How to make a provider's record malformed.

    Attributes:
        id_field: the record's id (a broken copy gets ``bad-...`` there).
        fields: the other fields the provider always sends (dropped or given a wrong type).
        bad_values: field -> values that are unreadable (timestamps), negative or absurd.
    """

    id_field: str
    fields: tuple[str, ...]
    bad_values: Mapping[str, tuple[Any, ...]]


class TokenBucket:
    """At most ``rate`` requests a second per key, with bursts up to ``rate``."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(rate, 1.0)
        self.buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> bool:
        """Spend one request of ``key``'s allowance; False when there is none left."""
        now = time.monotonic()
        tokens, last = self.buckets.pop(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        self.buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        if len(self.buckets) > MAX_BUCKETS:
            del self.buckets[next(iter(self.buckets))]
        return allowed


class Faults:
    """The fault switches of one simulator, with their own random source."""

    def __init__(self, options: SimulatorOptions, rng: random.Random) -> None:
        self.options = options
        self.rng = rng
        self.limiter = TokenBucket(options.rate_limit) if options.rate_limit else None

    async def delay(self) -> None:
        """Wait the configured latency, plus up to 20 % jitter."""
        if self.options.latency_ms > 0:
            jitter = 1.0 + 0.2 * self.rng.random()
            await asyncio.sleep(self.options.latency_ms * jitter / 1000)

    def throttled(self, token: str) -> Response | None:
        """A 429 with ``Retry-After: 1`` when ``token`` is over its rate limit, else None."""
        if self.limiter is None or self.limiter.take(token):
            return None
        body = {"error": "rate_limited", "error_description": "too many requests for this token"}
        return Response(
            orjson.dumps(body),
            status_code=429,
            media_type="application/json",
            headers={"Retry-After": "1"},
        )

    def failure(self) -> Response | None:
        """A 500, 502 or 503 for the configured fraction of requests, else None."""
        if self.options.error_rate <= 0 or self.rng.random() >= self.options.error_rate:
            return None
        status = self.rng.choice((500, 502, 503))
        body = {"error": "server_error", "error_description": f"simulated fault {status}"}
        return Response(orjson.dumps(body), status_code=status, media_type="application/json")

    def garble(self, records: Sequence[Record], breakage: Breakage) -> list[Record]:
        """A page's records as sent: with duplicates, malformed extras and shuffling if switched on."""
        page = list(records)
        options, rng = self.options, self.rng
        if not page or not (options.duplicate_rate or options.malformed_rate or options.shuffle):
            return page
        if options.duplicate_rate > 0:
            twice = set(
                rng.sample(range(len(page)), self._about(options.duplicate_rate, len(page)))
            )
            page = [
                sent for i, record in enumerate(page) for sent in (record,) * (1 + (i in twice))
            ]
        if options.malformed_rate > 0:
            for _ in range(self._about(options.malformed_rate, len(records))):
                broken = self.broken(rng.choice(records), breakage)
                page.insert(rng.randrange(len(page) + 1), broken)
        if options.shuffle:
            rng.shuffle(page)
        return page

    def _about(self, fraction: float, size: int) -> int:
        """``fraction * size`` rounded up or down at random (so that small pages get some too)."""
        return min(int(fraction * size + self.rng.random()), 10 * size)

    def broken(self, template: Record, breakage: Breakage) -> Record:
        """A malformed copy of ``template`` (id ``bad-...``): one thing wrong with it."""
        rng = self.rng
        record = copy.deepcopy(template)
        record[breakage.id_field] = f"bad-{rng.getrandbits(48):012x}"
        kind = rng.choice(("missing", "bad_value", "wrong_type", "coordinates", "trajectory"))
        if kind == "missing":
            del record[rng.choice(breakage.fields)]
        elif kind == "bad_value":
            field = rng.choice(sorted(breakage.bad_values))
            record[field] = rng.choice(breakage.bad_values[field])
        elif kind == "wrong_type":
            field = rng.choice(breakage.fields)
            record[field] = rng.choice(([record[field]], {"value": record[field]}, None))
        elif kind == "coordinates":
            record.update(self._coordinates())
        else:
            record.update(self._trajectory())
        return record

    def _point(self) -> tuple[float, float]:
        return round(self.rng.uniform(*_LAT), 6), round(self.rng.uniform(*_LNG), 6)

    def _coordinates(self) -> Record:
        lat, lng = self._point()
        end_lat, end_lng = self._point()
        return self.rng.choice(
            (
                {"lat": lat, "lng": lng},
                {"start_location": {"lat": lat, "lng": lng}, "end_location": [end_lng, end_lat]},
                {"extra": {"position": {"latitude": lat, "longitude": lng}}},
                {"coordinates": [lng, lat]},
            )
        )

    def _trajectory(self) -> Record:
        points = [self._point() for _ in range(self.rng.randrange(3, 8))]
        return self.rng.choice(
            (
                {"track": [{"lat": lat, "lng": lng} for lat, lng in points]},
                {"trajectory": [[lng, lat] for lat, lng in points]},
                {"polyline": _POLYLINE},
                {"geometry": {"type": "LineString", "coordinates": [[g, t] for t, g in points]}},
            )
        )
