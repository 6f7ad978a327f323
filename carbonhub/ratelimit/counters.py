"""The counters behind the buckets: limits' moving window in this process or in Redis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis.asyncio
from limits import RateLimitItem, WindowStats, strategies
from limits.aio import strategies as aio_strategies
from limits.storage import storage_from_string

REDIS_TIMEOUT_S = 0.5
NAMESPACE = "carbonhub"  # the prefix of the keys in Redis


@dataclass(frozen=True, slots=True)
class Bucket:
    """One rate and the identifiers of the counter it is measured on."""

    rate: RateLimitItem
    key: tuple[str, ...]


class MemoryCounters:
    """Counters in this process, with limits' synchronous memory storage.

    Its calls never wait on anything, so they run on the event loop directly: cheaper than the
    asyncio memory storage, which moves each expiry sweep to a worker thread.
    """

    def __init__(self) -> None:
        self.limiter = strategies.MovingWindowRateLimiter(storage_from_string("memory://"))

    async def hit(self, bucket: Bucket) -> bool:
        """Spend one request of ``bucket``; False when it has no room left."""
        return self.limiter.hit(bucket.rate, *bucket.key)

    async def stats(self, bucket: Bucket) -> WindowStats:
        """When ``bucket`` next has room, and how much it has."""
        return self.limiter.get_window_stats(bucket.rate, *bucket.key)

    async def close(self) -> None:
        """Nothing to release."""


class RedisCounters:
    """Counters in Redis, shared by every replica, through redis-py's asyncio client.

    For ``redis://``, ``rediss://`` and ``redis+unix://`` the connection pool is created here so
    that :meth:`close` can release it at shutdown; the Sentinel and Cluster clients are limits'
    own and are released when the process ends. Storage errors surface as
    :class:`limits.errors.StorageError`.
    """

    def __init__(self, redis_url: str) -> None:
        url = redis_url.removeprefix("async+")
        timeouts = {"socket_timeout": REDIS_TIMEOUT_S, "socket_connect_timeout": REDIS_TIMEOUT_S}
        options: dict[str, Any] = {"implementation": "redispy", "key_prefix": NAMESPACE}
        self.pool: redis.asyncio.ConnectionPool | None = None
        if urlsplit(url).scheme in {"redis", "rediss", "redis+unix"}:
            self.pool = redis.asyncio.ConnectionPool.from_url(
                url.replace("redis+unix://", "unix://", 1), **timeouts
            )
            options["connection_pool"] = self.pool
        else:
            options |= timeouts
        storage = storage_from_string(f"async+{url}", wrap_exceptions=True, **options)
        self.limiter = aio_strategies.MovingWindowRateLimiter(storage)

    async def hit(self, bucket: Bucket) -> bool:
        """Spend one request of ``bucket``; False when it has no room left."""
        return await self.limiter.hit(bucket.rate, *bucket.key)

    async def stats(self, bucket: Bucket) -> WindowStats:
        """When ``bucket`` next has room, and how much it has."""
        return await self.limiter.get_window_stats(bucket.rate, *bucket.key)

    async def close(self) -> None:
        """Close the connections this process opened."""
        if self.pool is not None:
            await self.pool.aclose()


Counters = MemoryCounters | RedisCounters


def open_counters(redis_url: str | None) -> Counters:
    """Redis counters when ``redis_url`` is set, else in-process ones."""
    return MemoryCounters() if redis_url is None else RedisCounters(redis_url)
