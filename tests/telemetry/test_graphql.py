"""The GraphQL operation span, on the hub's schema built here with the tracing extension first."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from strawberry.schema.config import StrawberryConfig

from carbonhub.auth import Principal
from carbonhub.hub import Hub
from carbonhub.resolvers.context import Context
from carbonhub.schema import CarbonhubSchema, Mutation, Query
from carbonhub.schema.errors import ErrorPolicy
from carbonhub.schema.reports import EsgReport, RegionReport
from carbonhub.schema.settle import SettledWork, SettlingExecution
from carbonhub.telemetry.graphql import GraphQLTracing
from tests.fixtures.graphql import citizen
from tests.telemetry.conftest import Recording


@pytest.fixture(scope="module")
def traced_schema() -> CarbonhubSchema:
    return CarbonhubSchema(
        query=Query,
        mutation=Mutation,
        types=[RegionReport, EsgReport],
        extensions=[GraphQLTracing, ErrorPolicy, SettledWork],
        config=StrawberryConfig(disable_field_suggestions=True),
        execution_context_class=SettlingExecution,
    )


def run(schema: CarbonhubSchema, hub: Hub, principal: Principal, query: str, **variables: Any):
    context = Context(hub=hub, principal=principal)
    return asyncio.run(schema.execute(query, variable_values=variables, context_value=context))


def test_given_a_named_query_then_one_span_names_it_with_the_callers_kind_and_no_person(
    recording: Recording, traced_schema: CarbonhubSchema, hub: Hub, make_person
) -> None:
    person = make_person()
    query = "query MyLedger($id: ID!) { person(id: $id) { id points { balance } } }"
    result = run(traced_schema, hub, citizen(person), query, id=person)
    assert result.errors is None
    [operation] = recording.spans("graphql.query MyLedger")
    assert dict(operation.attributes or {}) == {
        "graphql.operation.type": "query",
        "graphql.operation.name": "MyLedger",
        "carbonhub.principal.kind": "citizen",
    }
    others = [s for s in recording.spans() if s is not operation]
    assert others  # the SQL of the resolvers ...
    assert all(s.kind is SpanKind.CLIENT for s in others)  # ... and no span per field
    assert all(s.context.trace_id == operation.context.trace_id for s in others)
    values = [str(v) for s in recording.spans() for v in (s.attributes or {}).values()]
    assert not any(person in value for value in values)


def test_given_an_anonymous_query_then_its_span_is_named_after_its_type(
    recording: Recording, traced_schema: CarbonhubSchema, hub: Hub
) -> None:
    run(traced_schema, hub, Principal.anonymous(), "{ regions { code } }")
    [operation] = recording.spans("graphql.query")
    assert dict(operation.attributes or {}) == {
        "graphql.operation.type": "query",
        "carbonhub.principal.kind": "anonymous",
    }


def test_given_an_operation_that_fails_then_its_span_is_an_error_with_the_code_only(
    recording: Recording, traced_schema: CarbonhubSchema, hub: Hub, make_person
) -> None:
    person, other = make_person(), make_person()
    query = "query Theirs($id: ID!) { person(id: $id) { id } }"
    result = run(traced_schema, hub, citizen(person), query, id=other)
    assert result.errors
    code = result.errors[0].extensions["code"]
    [operation] = recording.spans("graphql.query Theirs")
    assert operation.status.status_code is StatusCode.ERROR
    assert operation.status.description == code
    assert not operation.events


def test_given_a_document_that_does_not_parse_then_its_span_says_so(
    recording: Recording, traced_schema: CarbonhubSchema, hub: Hub
) -> None:
    run(traced_schema, hub, Principal.anonymous(), "{ regions { code ")
    [operation] = recording.spans("graphql.operation")
    assert operation.status.description == "GRAPHQL_PARSE_FAILED"
