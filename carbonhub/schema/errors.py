"""How errors leave the GraphQL layer: domain errors with a code, everything else masked.

A :class:`~carbonhub.errors.CarbonhubError` is meant for the caller: its message is kept and
``extensions.code`` says what kind it is. Any other exception is an internal fault: the caller
gets an error id, the log gets the traceback under that id. Nobody ever gets a traceback.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from carbonhub.errors import CarbonhubError

log = logging.getLogger("carbonhub.graphql")


class ErrorPolicy(SchemaExtension):
    """Give domain errors a code and mask internal ones."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        result.errors = [self._shape(error) for error in result.errors]

    @staticmethod
    def _shape(error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None:
            return error  # syntax and validation errors: already meant for the caller
        if isinstance(original, CarbonhubError):
            extensions = {**(error.extensions or {}), "code": original.code}
            return GraphQLError(
                error.message,
                error.nodes,
                error.source,
                error.positions,
                error.path,
                original,
                extensions,
            )
        error_id = uuid.uuid4().hex[:12]
        log.error("internal error %s at %s", error_id, error.path, exc_info=original)
        return GraphQLError(
            f"internal error (id {error_id})",
            error.nodes,
            error.source,
            error.positions,
            error.path,
            None,
            {"code": "INTERNAL_SERVER_ERROR", "errorId": error_id},
        )
