"""Running an export's GraphQL document as the caller, and its errors as HTTP-like statuses.

The document runs through the hub's own schema with a :class:`~carbonhub.resolvers.context.Context`
for the caller's principal, exactly as ``/graphql`` would run it. Any error of the answer stops
the export (a half-filled report is worse than none) and becomes a
:class:`ReportUnavailable` with a status: 400 bad input, 401 no or bad credentials, 403 a
caller who may not read reports of this kind, 404 a region or enterprise that does not exist or
is not the caller's to read, 500 an internal fault (named by its error id, never a traceback).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError

from carbonhub.auth import Principal
from carbonhub.connectors.service import Connectors
from carbonhub.errors import CarbonhubError
from carbonhub.exports.documents import ReportRequest
from carbonhub.hub import Hub
from carbonhub.resolvers.context import Context
from carbonhub.schema import schema

OPERATOR = Principal.operator()
"""The hub's operator at the command line (``carbonhub report``): sees every report."""

STATUS_OF_CODE = {
    "BAD_USER_INPUT": 400,
    "BAD_REQUEST": 400,
    "UNAUTHENTICATED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "CONFLICT": 409,
    "INTERNAL_SERVER_ERROR": 500,
}


class ReportUnavailable(CarbonhubError):
    """The export cannot be made; ``status`` is the HTTP status that says why."""

    def __init__(self, message: str, *, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class ReportData:
    """The answer of an export's document: ``data`` exactly as GraphQL gives it."""

    request: ReportRequest
    data: dict[str, Any]

    @property
    def subject(self) -> dict[str, Any]:
        """The region or the enterprise the report is of."""
        subject: dict[str, Any] = self.data[self.request.kind.root_field]
        return subject

    @property
    def report(self) -> dict[str, Any]:
        """The report itself (``report`` or ``esgReport``)."""
        report: dict[str, Any] = self.subject[self.request.kind.report_field]
        return report


def check_methodologies(hub: Hub, request: ReportRequest) -> None:
    """Refuse an unknown methodology up front as bad input (400), naming the registered ones."""
    for reference in (request.methodology, *request.compare):
        if reference is None:
            continue
        try:
            hub.registry.resolve(reference)
        except CarbonhubError as exc:
            raise ReportUnavailable(str(exc), status=400, code="BAD_USER_INPUT") from None


async def fetch_report(
    hub: Hub,
    principal: Principal,
    request: ReportRequest,
    *,
    http_request: Any = None,
    connectors: Connectors | None = None,
) -> ReportData:
    """Run the request's document as ``principal``; :class:`ReportUnavailable` on any error."""
    check_methodologies(hub, request)
    context = Context(hub=hub, principal=principal, request=http_request, connectors=connectors)
    result = await schema.execute(
        request.kind.document, variable_values=request.variables(), context_value=context
    )
    if result.errors:
        raise unavailable(result.errors[0])
    if result.data is None:  # pragma: no cover - GraphQL gives errors or data
        raise ReportUnavailable("the report has no data", status=500, code="INTERNAL_SERVER_ERROR")
    return ReportData(request, dict(result.data))


def unavailable(error: GraphQLError) -> ReportUnavailable:
    """The export error for a GraphQL error, with the HTTP status of its code.

    The access policy already answers a report the client may not read (a region outside its
    subtree, another enterprise) as not found, so that is a 404 here too.
    """
    code = str((error.extensions or {}).get("code") or "BAD_USER_INPUT")
    return ReportUnavailable(error.message, status=STATUS_OF_CODE.get(code, 400), code=code)
