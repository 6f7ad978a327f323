"""An operation answers only once the work it started has finished.

graphql-core answers as soon as a non-null field fails synchronously and lets the sibling
fields already started settle in the background. Those siblings hold database connections in
worker threads; left alone they would outlive the response (and a test's database).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from carbonhub.resolvers.threads import settled_work, track_work


class SettlingExecution(StrawberryGraphQLCoreExecutionContext):
    """graphql-core's executor, with the fields it settles in the background tracked."""

    def settle_in_background(self, awaitables: list[Awaitable[Any]]) -> None:
        super().settle_in_background(awaitables)
        for future in self.background_futures:
            track_work(future)


class SettledWork(SchemaExtension):
    """Wait for every background field and worker thread of the operation before answering.

    Needs the schema's ``execution_context_class`` to be :class:`SettlingExecution`.
    """

    async def on_execute(self) -> AsyncIterator[None]:
        async with settled_work():
            yield
