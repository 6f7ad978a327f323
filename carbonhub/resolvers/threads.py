"""Running blocking database work from async resolvers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


async def in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``function`` in a worker thread without blocking the event loop.

    If the awaiting task is cancelled (a client went away, or GraphQL abandoned sibling fields
    after an error), the thread is waited for before the cancellation goes on: the work it
    holds (a database connection, a transaction) ends with the request, never after it.
    """
    work = asyncio.ensure_future(run_in_threadpool(function, *args, **kwargs))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        raise
