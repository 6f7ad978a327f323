"""The per-request GraphQL context: the hub, the caller's principal and the request's loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import strawberry

from carbonhub.auth import Principal
from carbonhub.connectors.service import Connectors
from carbonhub.hub import Hub
from carbonhub.models import utcnow
from carbonhub.resolvers.loaders import Loaders
from carbonhub.resolvers.threads import in_thread

T = TypeVar("T")


@dataclass
class Context:
    """What every resolver receives: who asks, the hub's parts and this request's DataLoaders."""

    hub: Hub
    principal: Principal
    loaders: Loaders = field(init=False)
    request: Any = None
    connectors: Connectors | None = None  # None outside the app (tests of the schema alone)
    now: datetime = field(default_factory=utcnow)  # "read time" of every consent check

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.hub, self.principal, self.now)


Info = strawberry.Info[Context, None]

__all__ = ["Context", "Info", "in_thread"]
