"""One span per GraphQL operation, none per field.

:class:`GraphQLTracing` names the span ``graphql.<type> <name>`` (``graphql.query`` for an
anonymous query) and sets ``graphql.operation.type``, ``graphql.operation.name`` and
``carbonhub.principal.kind``. It records no variables, no document and no principal id: the
document's literals and the variables may be person ids. An operation that ends with errors
gets status ERROR whose description is the errors' codes (``FORBIDDEN``, ``BAD_USER_INPUT``…).

Per-resolver spans stay off on purpose: an extension with a ``resolve`` hook wraps every field
(a 500-row list of 6 fields is 3,000 calls), see ``bench/telemetry.py`` for what it costs.
Register it first in the schema's extension list so its span covers parsing, validation and
the error policy's final codes.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, GraphQLSyntaxError, OperationDefinitionNode
from opentelemetry import context, trace
from opentelemetry.trace import Span, Status, StatusCode
from strawberry.extensions import SchemaExtension

from carbonhub.errors import CarbonhubError
from carbonhub.telemetry import runtime
from carbonhub.telemetry.spans import error_name

MAX_NAME = 100  # an operation name is the client's text: bounded like any attribute


class GraphQLTracing(SchemaExtension):
    """A span per GraphQL operation with its type, name and the caller's kind."""

    def on_operation(self) -> Iterator[None]:
        tracer = runtime.tracer()
        if tracer is None:
            yield
            return
        span = tracer.start_span("graphql.operation")
        token = context.attach(trace.set_span_in_context(span))
        try:
            yield
        except Exception as exc:
            span.set_status(Status(StatusCode.ERROR, _code_of_exception(exc)))
            raise
        else:
            errors = self.execution_context.result.errors if self.execution_context.result else None
            if errors:
                codes = sorted({_code(error) for error in errors})
                span.set_status(Status(StatusCode.ERROR, ",".join(codes)))
        finally:
            self._describe(span)
            context.detach(token)
            span.end()

    def _describe(self, span: Span) -> None:
        kind, name = self._operation()
        span.update_name(f"graphql.{kind or 'operation'}" + (f" {name}" if name else ""))
        if kind is not None:
            span.set_attribute("graphql.operation.type", kind)
        if name is not None:
            span.set_attribute("graphql.operation.name", name)
        principal = getattr(self.execution_context.context, "principal", None)
        principal_kind = getattr(principal, "kind", None)
        span.set_attribute("carbonhub.principal.kind", str(principal_kind or "anonymous"))

    def _operation(self) -> tuple[str | None, str | None]:
        """The operation's type and name as the document says them (a name the document does
        not define is the client's free text, and is not recorded)."""
        document = self.execution_context.graphql_document
        if document is None:
            return None, None
        wanted = self.execution_context.operation_name
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        for operation in operations:
            name = operation.name.value if operation.name else None
            if name == wanted or (wanted is None and len(operations) == 1):
                return operation.operation.value, None if name is None else name[:MAX_NAME]
        return None, None


def _code(error: GraphQLError) -> str:
    code = (error.extensions or {}).get("code")
    if isinstance(code, str):
        return code
    original = error.original_error
    if isinstance(original, CarbonhubError):
        return original.code
    if isinstance(error, GraphQLSyntaxError) or isinstance(original, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED"
    if original is None:
        return "GRAPHQL_VALIDATION_FAILED"
    return "INTERNAL_SERVER_ERROR"


def _code_of_exception(exc: BaseException) -> str:
    if isinstance(exc, GraphQLError):
        return _code(exc)
    return error_name(exc)
