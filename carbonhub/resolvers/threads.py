"""Running blocking database work from async resolvers, and settling it with the operation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")

_operation_work: ContextVar[set[asyncio.Future[Any]] | None] = ContextVar(
    "carbonhub_operation_work", default=None
)


async def in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``function`` in a worker thread without blocking the event loop.

    If the awaiting task is cancelled (a client went away, or GraphQL abandoned sibling fields
    after an error), the thread is waited for before the cancellation goes on: the work it
    holds (a database connection, a transaction) ends with the request, never after it.
    Inside :func:`settled_work` the thread is also registered with the operation.
    """
    work = asyncio.ensure_future(run_in_threadpool(function, *args, **kwargs))
    track_work(work)
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        await asyncio.wait([work])
        raise


def track_work(work: asyncio.Future[Any]) -> None:
    """Make the enclosing :func:`settled_work` (if any) wait for ``work`` too."""
    outstanding = _operation_work.get()
    if outstanding is not None:
        outstanding.add(work)
        work.add_done_callback(outstanding.discard)


@asynccontextmanager
async def settled_work() -> AsyncIterator[None]:
    """Leave only when every worker thread and tracked future started inside has finished.

    GraphQL answers as soon as an error bubbles up, and lets sibling fields settle in the
    background; their threads would otherwise still hold database connections after the
    response went out (and after a test's database was dropped).
    """
    outstanding: set[asyncio.Future[Any]] = set()
    token = _operation_work.set(outstanding)
    try:
        yield
    finally:
        _operation_work.reset(token)
        while outstanding:
            await asyncio.wait(list(outstanding))
