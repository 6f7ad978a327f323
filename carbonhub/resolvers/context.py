"""The per-request GraphQL context: the hub, the caller's principal and the request's loaders."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import strawberry
from starlette.concurrency import run_in_threadpool

from carbonhub.auth import Principal
from carbonhub.hub import Hub
from carbonhub.resolvers.loaders import Loaders

T = TypeVar("T")


@dataclass
class Context:
    """What every resolver receives: who asks, the hub's parts and this request's DataLoaders."""

    hub: Hub
    principal: Principal
    loaders: Loaders = field(init=False)
    request: Any = None

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.hub, self.principal)


Info = strawberry.Info[Context, None]


async def in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking database work off the event loop (each call uses its own connection)."""
    return await run_in_threadpool(function, *args, **kwargs)
