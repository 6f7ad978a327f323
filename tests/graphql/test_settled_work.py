"""An operation answers only after the database work of every field it started has finished.

GraphQL answers as soon as a non-null field fails synchronously and lets its siblings settle
in the background; their worker threads must not outlive the answer (they hold connections).
"""

from __future__ import annotations

import asyncio
import threading

import strawberry

from carbonhub.resolvers.threads import in_thread
from carbonhub.schema.settle import SettledWork, SettlingExecution


def schema_with_a_slow_field_and_a_failing_sibling(finished: threading.Event) -> strawberry.Schema:
    """``slow`` works in a thread for 0.3 s; ``broken`` fails at once and nulls the whole answer."""

    def work() -> int:
        finished.wait(0.3)
        finished.set()
        return 1

    @strawberry.type
    class Query:
        @strawberry.field
        async def slow(self) -> int:
            return await in_thread(work)

        @strawberry.field
        def broken(self) -> int:
            raise ValueError("broken at once")

    return strawberry.Schema(
        query=Query, extensions=[SettledWork], execution_context_class=SettlingExecution
    )


def test_given_a_failing_sibling_then_the_answer_waits_for_the_slow_fields_thread():
    finished = threading.Event()
    schema = schema_with_a_slow_field_and_a_failing_sibling(finished)

    async def answer_then_look() -> bool:
        result = await schema.execute("{ slow broken }")
        assert result.errors
        assert result.data is None
        return finished.is_set()

    assert asyncio.run(answer_then_look()) is True
