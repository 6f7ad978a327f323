"""Deny by default: no path from a root field to personal, enterprise or regional data lacks a
permission. Reference data (catalogue, methodologies, programmes, the region tree and the
public enterprise register) is the only thing served without one."""

from __future__ import annotations

import strawberry
from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    get_named_type,
)

from carbonhub.auth import Scope
from carbonhub.schema import schema
from carbonhub.schema.permissions import guard_of

# Types whose every field may be served without a token: published reference data.
PUBLIC_TYPES = {
    "BehaviourCategory",
    "BehaviourType",
    "Cap",
    "ConnectorInfo",  # which providers' connectors the hub runs (citizens choose what to link)
    "Factor",
    "Methodology",
    "Programme",
    "Region",  # the GB/T 2260 tree; its `report` is guarded
    "Enterprise",  # the public register (name, USCC, region); its `esgReport` is guarded
    "_Service",
}
# Types that carry an identifier only: every other field must be guarded.
IDENTITY_FIELDS = {"Person": {"id"}}
ROOTS = ("Query", "Mutation")


def _guard(field: GraphQLField) -> Scope | None:
    return guard_of(field.extensions.get("strawberry-definition"))


def _members(graphql: GraphQLSchema, named: GraphQLNamedType) -> list[GraphQLNamedType]:
    if isinstance(named, GraphQLUnionType):
        return list(named.types)
    if isinstance(named, GraphQLInterfaceType):
        return list(graphql.get_implementations(named).objects)
    return [named]


def unguarded_paths(graphql: GraphQLSchema) -> list[str]:
    """Every schema path that reaches non-public data without passing a permission."""
    problems: list[str] = []
    seen: set[str] = set()
    pending: list[tuple[str, GraphQLObjectType]] = []
    for root in ROOTS:
        root_type = graphql.get_type(root)
        if isinstance(root_type, GraphQLObjectType):
            pending.append((root, root_type))
    while pending:
        path, owner = pending.pop()
        if owner.name in seen:
            continue
        seen.add(owner.name)
        identity = IDENTITY_FIELDS.get(owner.name)
        for name, field in owner.fields.items():
            where = f"{path}.{name}"
            if _guard(field) is not None:
                continue
            if identity is not None and name not in identity:
                problems.append(f"{where} (a field of {owner.name} beyond its id)")
                continue
            for target in _members(graphql, get_named_type(field.type)):
                if not isinstance(target, GraphQLObjectType):
                    continue  # scalars and enums of a public or root type
                if target.name in PUBLIC_TYPES or target.name in IDENTITY_FIELDS:
                    pending.append((where, target))
                else:
                    problems.append(f"{where} -> {target.name}")
    return sorted(problems)


def test_given_the_schema_when_walked_from_its_roots_then_no_data_path_lacks_a_permission():
    assert unguarded_paths(schema._schema) == []


def test_given_a_guarded_field_then_the_sdl_names_its_scope_for_a_router():
    sdl = schema.as_str()

    assert "report(" in sdl
    assert '@requiresScopes(scopes: [["region:read"], ["admin"]])' in sdl
    assert '@requiresScopes(scopes: [["esg:read"], ["admin"]])' in sdl
    assert '@requiresScopes(scopes: [["ledger:read"], ["admin"]])' in sdl
    assert "@authenticated" in sdl


@strawberry.type(name="Ledger")
class _LeakyLedger:
    total: int


@strawberry.type(name="Person")
class _LeakyPerson:
    id: strawberry.ID
    ledger: _LeakyLedger
    nickname: str


@strawberry.type(name="Query")
class _LeakyQuery:
    person: _LeakyPerson
    ledgers: list[_LeakyLedger]


def test_given_a_schema_with_an_unguarded_path_to_personal_data_then_the_walk_reports_it():
    leaky = strawberry.Schema(query=_LeakyQuery)

    assert unguarded_paths(leaky._schema) == [
        "Query.ledgers -> Ledger",
        "Query.person.ledger (a field of Person beyond its id)",
        "Query.person.nickname (a field of Person beyond its id)",
    ]


def test_given_the_root_query_then_exactly_the_personal_roots_are_guarded():
    query = schema._schema.get_type("Query")
    assert isinstance(query, GraphQLObjectType)
    guarded = {name for name, field in query.fields.items() if _guard(field) is not None}

    assert guarded == {"me", "person", "quarantinedEvents", "disputes", "syncRuns"}
