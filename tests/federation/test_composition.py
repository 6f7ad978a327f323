"""Composition: the SDL carbonhub serves a router composes with another subgraph's.

The SDL is fetched as a router fetches it, ``{ _service { sdl } }`` from the running hub, and
composed with ``@apollo/composition`` (``infra/supergraph/compose.mjs``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import (
    FieldDefinitionNode,
    ObjectTypeDefinitionNode,
    parse,
    value_from_ast_untyped,
)

from carbonhub.schema import schema
from tests.federation.conftest import Compose, Composition, Running, served_sdl

# An HR subgraph that also declares Enterprise.name, as a number: carbonhub's is a String!.
CONFLICTING_HR = """
extend schema @link(url: "https://specs.apollo.dev/federation/v2.11", import: ["@key"])

type Query {
  enterprises: [Enterprise!]!
}

type Enterprise @key(fields: "id") {
  id: ID!
  name: Int
}
"""


@pytest.fixture(scope="module")
def carbonhub_sdl(carbonhub_graphql: str) -> str:
    return served_sdl(carbonhub_graphql)


@pytest.fixture(scope="module")
def composition(
    compose: Compose, carbonhub_sdl: str, hr: Running, tmp_path_factory: pytest.TempPathFactory
) -> Composition:
    return compose(
        tmp_path_factory.mktemp("compose"),
        carbonhub=(carbonhub_sdl, None),
        hr=(served_sdl(hr.url), None),
    )


def object_type(supergraph: str, name: str) -> ObjectTypeDefinitionNode:
    (found,) = [
        d
        for d in parse(supergraph).definitions
        if isinstance(d, ObjectTypeDefinitionNode) and d.name.value == name
    ]
    return found


def joins(node: ObjectTypeDefinitionNode | FieldDefinitionNode, directive: str) -> list[Any]:
    """The arguments of each ``directive`` on ``node``, as Python values."""
    return [
        {a.name.value: value_from_ast_untyped(a.value) for a in d.arguments or ()}
        for d in node.directives or ()
        if d.name.value == directive
    ]


def test_the_sdl_a_router_fetches_is_the_schema_carbonhub_exports(carbonhub_sdl: str) -> None:
    # given the hub served with production settings
    # when a router asks it for its SDL
    # then it gets what `carbonhub export-schema` prints
    assert carbonhub_sdl.strip() == schema.as_str().strip()


def test_carbonhub_composes_with_the_hr_subgraph(composition: Composition) -> None:
    # given the SDL of carbonhub and of the HR directory, as each serves it
    # when they are composed into a supergraph
    # then composition succeeds
    assert composition.returncode == 0, composition.stderr
    assert composition.supergraph.startswith("schema")


@pytest.mark.parametrize("entity", ["Person", "Enterprise"])
def test_both_subgraphs_resolve_the_shared_entities_by_id(
    composition: Composition, entity: str
) -> None:
    # given the composed supergraph
    # when it says which subgraphs resolve the entity
    keys = joins(object_type(composition.supergraph, entity), "join__type")
    # then carbonhub and HR both do, by id
    assert keys == [{"graph": "CARBONHUB", "key": "id"}, {"graph": "HR", "key": "id"}]


@pytest.mark.parametrize(
    ("entity", "field", "graph"),
    [
        ("Person", "ledger", "CARBONHUB"),
        ("Person", "points", "CARBONHUB"),
        ("Person", "employeeNumber", "HR"),
        ("Enterprise", "esgReport", "CARBONHUB"),
        ("Enterprise", "headcount", "HR"),
    ],
)
def test_the_supergraph_joins_each_field_from_the_subgraph_that_resolves_it(
    composition: Composition, entity: str, field: str, graph: str
) -> None:
    # given the composed supergraph
    (definition,) = [
        f for f in object_type(composition.supergraph, entity).fields or () if f.name.value == field
    ]
    # when it says where the field comes from
    joined = joins(definition, "join__field")
    # then it is the subgraph that declares it
    assert joined == [{"graph": graph}]


def test_a_subgraph_retyping_an_enterprise_field_fails_composition_with_a_named_error(
    compose: Compose, carbonhub_sdl: str, tmp_path: Path
) -> None:
    # given an HR subgraph whose Enterprise.name is an Int, where carbonhub's is a String!
    # when it is composed with carbonhub
    composed = compose(tmp_path, carbonhub=(carbonhub_sdl, None), hr=(CONFLICTING_HR, None))
    # then composition fails, naming the error and the field, and prints no supergraph
    assert composed.returncode == 1
    assert composed.supergraph == ""
    assert (
        'FIELD_TYPE_MISMATCH: Type of field "Enterprise.name" is incompatible across subgraphs'
        in composed.stderr
    ), composed.stderr
