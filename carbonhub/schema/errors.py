"""How errors leave the GraphQL layer: domain errors with a code, everything else masked.

A :class:`~carbonhub.errors.CarbonhubError` is meant for the caller: its message is kept and
``extensions.code`` says what kind it is. Any other exception is an internal fault: the caller
gets an error id, the log gets the traceback under that id. Nobody ever gets a traceback, nor
an exception's text: that holds for faults while parsing or validating too (strawberry would
answer those with ``str(exception)``).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from carbonhub.errors import CarbonhubError

log = logging.getLogger("carbonhub.graphql")

# what strawberry turns into an HTTP 400 itself: the request, not the hub, is at fault
REQUEST_FAULTS = (MissingQueryError, CannotGetOperationTypeError, InvalidOperationTypeError)


PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"


class ErrorPolicy(SchemaExtension):
    """Give domain errors a code and mask internal ones."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except (GraphQLError, *REQUEST_FAULTS):
            raise
        except Exception as exc:  # a fault before execution: masked like one during it
            raise self._masked(GraphQLError(str(exc), original_error=exc)) from None
        result = self.execution_context.result
        if result is None or not result.errors:
            return
        result.errors = [self._shape(error) for error in result.errors]

    @staticmethod
    def _shape(error: GraphQLError) -> GraphQLError:
        original = error.original_error
        if original is None:
            label_document_fault(error)
            return error
        code = None
        if isinstance(original, CarbonhubError):
            code = original.code
        elif error.path is None and isinstance(original, GraphQLError | ValueError | TypeError):
            code = "BAD_USER_INPUT"  # a variable's value does not fit its type (no field ran)
        if code is not None:
            extensions = {**(error.extensions or {}), "code": code}
            return GraphQLError(
                error.message,
                error.nodes,
                error.source,
                error.positions,
                error.path,
                original,
                extensions,
            )
        return ErrorPolicy._masked(error)

    @staticmethod
    def _masked(error: GraphQLError) -> GraphQLError:
        """``error`` as an internal fault: an error id for the caller, the traceback logged."""
        error_id = uuid.uuid4().hex[:12]
        log.error("internal error %s at %s", error_id, error.path, exc_info=error.original_error)
        return GraphQLError(
            f"internal error (id {error_id})",
            error.nodes,
            error.source,
            error.positions,
            error.path,
            None,
            {"code": "INTERNAL_SERVER_ERROR", "errorId": error_id},
        )


def label_document_fault(error: GraphQLError) -> None:
    """Give a syntax or validation error (meant for the caller) the code clients of Apollo
    servers know, ``GRAPHQL_PARSE_FAILED`` or ``GRAPHQL_VALIDATION_FAILED``, if it has none."""
    if error.path is not None or error.original_error is not None:
        return
    if (error.extensions or {}).get("code"):
        return
    code = PARSE_FAILED if error.message.startswith("Syntax Error") else VALIDATION_FAILED
    error.extensions = {**(error.extensions or {}), "code": code}
