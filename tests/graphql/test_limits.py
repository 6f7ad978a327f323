"""GraphQL hardening: every hostile request is refused with a GraphQL error before it runs,
never with a 500 or a traceback; limits come from settings; the validation cache still hits."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import strawberry
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    get_operation_ast,
    parse,
)
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from strawberry.federation.schema_directives import ListSize

from carbonhub.app import Authenticated, GraphQLEndpoint, create_app
from carbonhub.exports.documents import ESG_REPORT_DOCUMENT, REGION_REPORT_DOCUMENT
from carbonhub.schema import schema, schema_for
from carbonhub.schema.cost import MAX_PAGE, operation_cost
from carbonhub.schema.limits import DEFAULT_LIMITS, GraphQLLimits, validation_rules
from carbonhub.settings import Settings
from tests.graphql.conftest import MakeClient
from tests.graphql.hostile import aliases, doubling_fragments, nested, refusal


@pytest.fixture
def production(client_with: MakeClient) -> TestClient:
    return client_with(env="production")


def ask(client: TestClient, query: str, variables: dict[str, Any] | None = None) -> Any:
    return client.post("/graphql", json={"query": query, "variables": variables})


def cost(query: str, variables: dict[str, Any] | None = None) -> int:
    document = parse(query)
    operation = get_operation_ast(document)
    assert operation is not None
    return operation_cost(schema._schema, document, operation, variables)


def endpoint_of(app: Starlette) -> GraphQLEndpoint:
    route = next(r for r in app.routes if getattr(r, "path", None) == "/graphql")
    authenticated = route.endpoint  # type: ignore[attr-defined]
    assert isinstance(authenticated, Authenticated)
    return authenticated.app


# --- the document limits ----------------------------------------------------------------


def test_given_circular_fragments_when_posted_then_a_validation_error_not_a_500(client):
    query = (
        '{ region(code: "110000") { ...Up } } '
        "fragment Up on Region { parent { ...Down } } "
        "fragment Down on Region { children { ...Up } }"
    )

    message = refusal(ask(client, query))

    assert "Cannot spread fragment 'Up' within itself via 'Down'" in message


def test_given_1000_aliases_of_a_field_when_posted_then_the_alias_limit_refuses_it_unrun(
    client_with,
):
    client = client_with(graphql_max_tokens=10_000)  # the token limit would refuse it first

    message = refusal(ask(client, aliases(1000)))

    assert message == "'anonymous' has 1000 aliases, more than the 30 allowed"


def test_given_fragments_multiplying_aliases_when_posted_then_they_count_as_expanded(client):
    message = refusal(ask(client, doubling_fragments(10)))

    assert message == "'anonymous' has 1024 aliases, more than the 30 allowed"


def test_given_a_chain_of_doubling_fragments_when_posted_then_it_is_refused_at_once(client):
    # strawberry's own depth and alias limiters take exponential time on this (22 levels: 22 s)
    started = time.perf_counter()

    message = refusal(ask(client, doubling_fragments(60)))

    assert time.perf_counter() - started < 5
    assert f"has {2**60} aliases" in message


def test_given_the_longest_chain_of_fragments_the_token_limit_allows_then_no_500(client):
    chain = [f"fragment F{i} on Region {{ ...F{i + 1} }}" for i in range(245)]
    query = '{ region(code: "110000") { ...F0 } } ' + " ".join(chain)
    query += " fragment F245 on Region { code }"

    response = ask(client, query)

    assert response.status_code == 200
    assert "Traceback" not in response.text
    assert response.json().get("data") or response.json()["errors"]


def test_given_a_query_deeper_than_the_limit_when_posted_then_the_depth_limit_refuses_it(client):
    message = refusal(ask(client, nested(20)))

    assert message == "'anonymous' exceeds maximum operation depth of 12 (it is 21 deep)"


def test_given_depth_hidden_in_fragments_when_posted_then_it_counts(client):
    query = (
        '{ region(code: "110000") { ...Down } } '
        "fragment Down on Region { children { ...Deeper } } "
        "fragment Deeper on Region { " + "children { " * 12 + "code" + " }" * 12 + " }"
    )

    message = refusal(ask(client, query))

    assert message == "'anonymous' exceeds maximum operation depth of 12 (it is 14 deep)"


def test_given_a_depth_setting_when_a_query_passes_it_then_it_is_refused(client_with):
    client = client_with(graphql_max_depth=3)

    assert ask(client, nested(2)).json() == {"data": {"region": {"parent": {"parent": None}}}}
    assert "maximum operation depth of 3" in refusal(ask(client, nested(3)))


def test_given_a_query_over_the_token_limit_when_posted_then_parsing_stops(client):
    query = "{ regions { " + "code " * 2100 + "} }"

    message = refusal(ask(client, query))

    assert message.startswith("Syntax Error: Document contains more than 2000 tokens")


def test_given_too_many_root_fields_when_posted_then_they_are_refused(client):
    query = "{ " + " ".join(f"r{i}: regions {{ code }}" for i in range(11)) + " }"

    message = refusal(ask(client, query))

    assert message == "'anonymous' asks for 11 top-level fields, more than the 10 allowed"


def test_given_root_fields_spread_from_fragments_when_posted_then_each_counts(client):
    query = (
        "{ ...Six ...Six } "
        "fragment Six on Query { "
        + " ".join(f"r{i}: behaviourCategories {{ code }}" for i in range(6))
        + " }"
    )

    assert "asks for 12 top-level fields" in refusal(ask(client, query))


def test_given_a_well_behaved_query_when_posted_then_no_limit_gets_in_the_way(client):
    query = '{ region(code: "110108") { parent { name } } behaviourCategories { code } }'

    response = ask(client, query)

    assert response.status_code == 200
    assert "errors" not in response.json()


# --- the cost limit ---------------------------------------------------------------------


def test_given_nested_lists_when_posted_then_the_cost_limit_names_cost_and_limit(client):
    message = refusal(ask(client, "{ regions { children { children { code } } } }"))

    assert message.startswith("the operation costs 202040, more than the limit of 10000")


def test_given_nested_pages_of_500_when_posted_then_the_cost_limit_refuses_them(client):
    query = (
        "{ me { ledger { entries(first: 500) { edges { node { "
        "behaviour { category { behaviours { code units } } } } } } } } }"
    )

    response = ask(client, query)

    assert "more than the limit of 10000" in refusal(response)
    assert response.json()["errors"][0]["extensions"] == {
        "code": "COST_ESTIMATED_TOO_EXPENSIVE",
        "maxCost": 10_000,
    }


def test_given_a_page_size_in_a_variable_when_posted_then_the_request_value_is_priced(client):
    query = (
        "query ($n: Int!) { me { ledger { entries(first: $n) { edges { node { "
        "behaviour { category { behaviours { code } } } } } } } } }"
    )

    small = ask(client, query, {"n": 10}).json()
    large = ask(client, query, {"n": 500}).json()

    assert all(
        e["extensions"].get("code") != "COST_ESTIMATED_TOO_EXPENSIVE" for e in small["errors"]
    )
    assert large["errors"][0]["extensions"]["code"] == "COST_ESTIMATED_TOO_EXPENSIVE"


def test_given_pages_when_priced_then_first_then_its_default_sizes_the_list():
    page = "{ quarantinedEvents%s { edges { node { id } } } }"

    assert cost(page % "(first: 10)") == 1 + 10 * 3
    assert cost(page % "") == 1 + 50 * 3  # first defaults to 50
    assert cost("query ($n: Int!) { q: quarantinedEvents(first: $n) { edges { cursor } } }") == (
        1 + MAX_PAGE * 2  # a variable without a value: the largest page
    )
    assert cost("query ($n: Int = 3) { quarantinedEvents(first: $n) { edges { cursor } } }") == 7


def test_given_compared_methodologies_when_priced_then_each_costs_a_report():
    compare = '{ region(code: "1") { report { compare(methodologies: %s) { participants } } } }'

    one, three = cost(compare % '["a"]'), cost(compare % '["a", "b", "c"]')

    assert three - one == 2 * (50 + 1)


def test_given_a_series_when_priced_then_its_interval_sizes_it():
    series = '{ region(code: "1") { report { series%s { label } } } }'

    assert cost(series % "(interval: DAY)") - cost(series % "") == (366 - 13) * 2


def test_given_a_skipped_field_when_priced_then_it_costs_nothing():
    query = "query ($all: Boolean!) { regions @include(if: $all) { children { code } } }"

    assert cost(query, {"all": False}) == 0
    assert cost(query, {"all": True}) == 40 * (1 + 50 * 2)


def test_given_the_export_documents_when_priced_at_their_largest_then_they_fit_the_limit():
    largest = {"compare": [f"m{i}" for i in range(8)], "withCompare": True, "daily": True}

    for document in (REGION_REPORT_DOCUMENT, ESG_REPORT_DOCUMENT):
        assert cost(document, {"code": "1", "id": "1", **largest}) <= DEFAULT_LIMITS.max_cost


# --- HTTP: batches and bodies -----------------------------------------------------------


def test_given_a_json_batch_of_1000_operations_when_posted_then_a_clear_400(client):
    response = client.post("/graphql", json=[{"query": "{ __typename }"}] * 1000)

    assert response.status_code == 400
    assert refusal(response) == "Batching is not enabled"
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_REQUEST"}


def test_given_a_body_over_the_limit_when_posted_then_413(client):
    padding = "x" * (1_048_576 + 1)

    response = ask(client, "{ __typename }", {"padding": padding})

    assert response.status_code == 413
    assert refusal(response) == "the request body is larger than 1048576 bytes"
    assert response.json()["errors"][0]["extensions"] == {"code": "PAYLOAD_TOO_LARGE"}


def test_given_an_oversized_body_without_a_length_when_streamed_then_413(client):
    def chunks() -> Iterator[bytes]:
        yield b'{"query": "{ __typename }", "variables": {"padding": "'
        for _ in range(20):
            yield b"x" * 65_536
        yield b'"}}'

    response = client.post(
        "/graphql", content=chunks(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert "content-length" not in response.request.headers


# --- production: introspection, suggestions, masked errors -------------------------------


@pytest.mark.parametrize(
    "query", ["{ __schema { queryType { name } } }", '{ __type(name: "Region") { name } }']
)
def test_given_production_when_introspecting_then_refused(production, query):
    assert "introspection has been disabled" in refusal(ask(production, query))


def test_given_production_when_the_router_asks_for_the_sdl_then_it_gets_it(production):
    response = ask(production, "{ _service { sdl } __typename }")

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["__typename"] == "Query"
    assert "type Region @key" in data["_service"]["sdl"]


def test_given_development_when_introspecting_then_the_schema_answers(client):
    response = ask(client, "{ __schema { queryType { name } } }")

    assert response.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


@pytest.mark.parametrize(
    ("env", "setting", "introspection"),
    [
        ("development", None, True),
        ("production", None, False),
        ("production", True, True),
        ("development", False, False),
    ],
)
def test_given_settings_then_introspection_follows_them_or_the_environment(
    env, setting, introspection
):
    settings = Settings(env=env, graphql_introspection=setting)

    assert GraphQLLimits.from_settings(settings).introspection is introspection


@pytest.mark.parametrize(
    "query",
    [
        "{ regoin { code } }",
        '{ region(cod: "110000") { code } }',
        '{ region(code: "110000") { ... on Regoin { code } } }',
        '{ region(code: "110000") { report { series(interval: MONHT) { label } } } }',
        'query ($i: Interval!) { region(code: "110000") { report { series(interval: $i) { label } } } }',
    ],
)
def test_given_a_misspelt_name_when_posted_then_nothing_is_suggested(production, query):
    response = ask(production, query, {"i": "MONHT"} if "$i" in query else None)

    assert "Did you mean" not in response.text
    assert response.json()["errors"]


def test_given_a_variable_of_the_wrong_type_then_it_is_bad_input_not_an_internal_error(client):
    query = 'query ($d: Date!) { region(code: "110000") { report(from: $d, to: $d) { entries } } }'

    response = ask(client, query, {"d": "the fifth of July"})

    [error] = response.json()["errors"]
    assert error["message"].startswith("Variable '$d' has invalid value")
    assert "the fifth of July" in error["message"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}


def test_given_production_when_a_resolver_fails_then_only_an_error_id_leaves(
    production, monkeypatch, caplog
):
    async def broken(info: Any) -> list[Any]:
        raise RuntimeError("connection string postgres://secret@db")

    monkeypatch.setattr("carbonhub.resolvers.region.top_regions", broken)

    with caplog.at_level(logging.ERROR, logger="carbonhub.graphql"):
        response = ask(production, "{ regions { code } }")

    assert response.status_code == 200
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    error_id = error["extensions"]["errorId"]
    assert "secret" not in response.text
    assert "Traceback" not in response.text
    assert "RuntimeError" not in response.text
    [record] = [r for r in caplog.records if error_id in r.getMessage()]
    assert record.exc_info is not None
    assert "secret" in str(record.exc_info[1])


def test_given_a_fault_while_validating_then_it_is_masked_like_any_other(monkeypatch, caplog):
    def broken(document: Any) -> Any:
        raise RuntimeError("internal detail")

    monkeypatch.setattr("carbonhub.schema.limits.measure", broken)

    with caplog.at_level(logging.ERROR, logger="carbonhub.graphql"):
        result = asyncio.run(schema.execute(f"query Fault{uuid.uuid4().hex} {{ __typename }}"))

    assert result.errors is not None
    [error] = result.errors
    assert error.extensions is not None
    assert error.extensions["code"] == "INTERNAL_SERVER_ERROR"
    assert "internal detail" not in error.message
    assert any(error.extensions["errorId"] in r.getMessage() for r in caplog.records)


# --- subscriptions ----------------------------------------------------------------------


def test_given_the_schema_then_it_has_no_subscriptions():
    assert schema._schema.subscription_type is None


@pytest.mark.parametrize("protocol", ["graphql-ws", "graphql-transport-ws"])
def test_given_a_websocket_to_graphql_when_opened_then_it_is_refused(client, protocol):
    assert endpoint_of(client.app).protocols == ()
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/graphql", subprotocols=[protocol]),
    ):
        pass


# --- rule classes and schemas are built once per limits ---------------------------------


def test_given_equal_limits_then_the_same_rule_classes_and_schema_serve_them():
    same = dataclasses.replace(DEFAULT_LIMITS)

    assert validation_rules(same) is validation_rules(DEFAULT_LIMITS)
    assert schema_for(same) is schema


def test_given_apps_with_the_same_settings_then_they_share_one_schema(hub, client):
    with TestClient(create_app(hub=hub)) as other:
        assert endpoint_of(other.app).schema is endpoint_of(client.app).schema is schema


def test_given_the_same_document_twice_when_executed_then_it_is_validated_once(monkeypatch):
    rule = validation_rules(DEFAULT_LIMITS)[0]
    runs: list[object] = []
    original = rule.__init__

    def counted(self: Any, context: Any) -> None:
        runs.append(context)
        original(self, context)

    monkeypatch.setattr(rule, "__init__", counted)
    query = f"query Twice{uuid.uuid4().hex} {{ __typename }}"

    for _ in range(2):
        assert asyncio.run(schema.execute(query)).errors is None

    assert len(runs) == 1


# --- pagination is mandatory, and the SDL prices every list for a router ------------------

# Lists a directive cannot be put on, with the reason they are bounded anyway.
BOUNDED_ELSEWHERE = {
    "Query._entities": "federation's: one entity per representation the router sends",
}


def _list_size(field: GraphQLField) -> ListSize | None:
    definition = field.extensions.get("strawberry-definition")
    directives = getattr(definition, "directives", None) or ()
    return next((d for d in directives if isinstance(d, ListSize)), None)


def _is_list(field: GraphQLField) -> bool:
    kind = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    return isinstance(kind, GraphQLList)


def unbounded_lists(graphql: GraphQLSchema) -> list[str]:
    """Every list field that could return any number of rows: it has no ``@listSize`` with a
    slicing argument or an assumed size, and is not the ``edges``/``nodes`` of a connection
    sized by every field returning it; and every ``first`` that does not slice its list."""
    fields = [
        (f"{owner.name}.{name}", owner, field)
        for owner in graphql.type_map.values()
        if isinstance(owner, GraphQLObjectType | GraphQLInterfaceType)
        and not owner.name.startswith("__")
        for name, field in owner.fields.items()
    ]
    sizers: dict[str, list[frozenset[str]]] = {}
    for _, _, field in fields:
        size = _list_size(field)
        sized = frozenset(size.sized_fields or ()) if size is not None else frozenset()
        sizers.setdefault(get_named_type(field.type).name, []).append(sized)
    problems = []
    for where, owner, field in fields:
        size = _list_size(field)
        name = where.split(".")[1]
        slicing = set(size.slicing_arguments or ()) if size is not None else set()
        if "first" in field.args and "first" not in slicing:
            problems.append(f"{where}: first does not size it")
        if not _is_list(field) or where in BOUNDED_ELSEWHERE:
            continue
        bounded = size is not None and (size.assumed_size is not None or slicing)
        sized = bool(sizers.get(owner.name)) and all(name in s for s in sizers[owner.name])
        if not bounded and not sized:
            problems.append(f"{where}: unbounded list")
    return sorted(problems)


def test_given_the_schema_when_walked_then_every_list_has_a_page_or_an_assumed_size():
    assert unbounded_lists(schema._schema) == []


@strawberry.type(name="Row")
class _Row:
    n: int


@strawberry.type(name="Page")
class _Page:
    edges: list[_Row]


@strawberry.type(name="Query")
class _UnboundedQuery:
    @strawberry.field
    def rows(self) -> list[_Row]:
        return []

    @strawberry.field
    def page(self, first: int = 10) -> _Page:
        return _Page(edges=[])


def test_given_a_list_without_a_size_then_the_walk_reports_it():
    unbounded = strawberry.Schema(query=_UnboundedQuery)

    assert unbounded_lists(unbounded._schema) == [
        "Page.edges: unbounded list",
        "Query.page: first does not size it",
        "Query.rows: unbounded list",
    ]


def test_given_the_sdl_then_it_prices_reports_and_pages_for_a_router():
    sdl = schema.as_str()
    imported = sdl.split("import: [", 1)[1].split("]", 1)[0]

    assert {'"@cost"', '"@listSize"'} <= set(imported.split())
    assert "): RegionReport! @cost(weight: 50)" in sdl
    assert "): EsgReport! @cost(weight: 50)" in sdl
    assert (
        "entries(first: Int! = 50, after: String = null): LedgerEntryConnection! "
        '@listSize(assumedSize: 50, slicingArguments: ["first"], sizedFields: ["edges", "nodes"], '
        "requireOneSlicingArgument: false)"
    ) in sdl
    assert "behaviourCategories: [BehaviourCategory!]! @listSize(assumedSize: 7)" in sdl
