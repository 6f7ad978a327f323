"""Federation's ``_entities``: batched by DataLoaders, and no side door around the access policy."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from carbonhub.auth import Principal
from carbonhub.hub import Hub
from tests.fixtures.graphql import Execute, citizen, enterprise_client

ENTITIES = """query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Person { id points { balance } }
    ... on Enterprise { id name }
    ... on Region { code name }
    ... on Methodology { id version }
  }
}"""


class Statements:
    """The SQL statements an engine ran, by the table they read first."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def reading(self, table: str) -> list[str]:
        return [t for t in self.texts if t.lstrip().upper().startswith("SELECT") and table in t]

    def writing(self, table: str) -> list[str]:
        return [t for t in self.texts if t.lstrip().upper().startswith("INSERT") and table in t]


@contextmanager
def counting(engine: Engine) -> Iterator[Statements]:
    """Record every statement ``engine`` runs inside the block."""
    statements = Statements()

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.texts.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def persons(ids: list[str]) -> list[dict[str, str]]:
    return [{"__typename": "Person", "id": pid} for pid in ids]


@pytest.fixture
def residents(make_person) -> list[str]:
    """Thirty Haidian residents."""
    return [make_person("110108") for _ in range(30)]


def test_a_batch_of_regions_is_one_query_whatever_its_size(gql: Execute, hub: Hub) -> None:
    # given every region the hub knows, as representations
    codes = sorted(hub.regions.codes())
    representations = [{"__typename": "Region", "code": c} for c in codes]
    # when a router asks for all of them at once
    with counting(hub.engine) as statements:
        data = gql(ENTITIES, {"representations": representations}).ok()
    # then each is resolved, in order, from one query
    assert [e["code"] for e in data["_entities"]] == codes
    assert len(statements.reading("region")) == 1


def test_a_batch_of_persons_is_one_person_query_and_one_log_write(
    gql: Execute, hub: Hub, residents: list[str]
) -> None:
    # given an operator asking for thirty persons and, separately, for three
    operator = Principal.operator()
    with counting(hub.engine) as few:
        gql(ENTITIES, {"representations": persons(residents[:3])}, operator).ok()
    # when the batch is ten times larger
    with counting(hub.engine) as many:
        data = gql(ENTITIES, {"representations": persons(residents)}, operator).ok()
    # then the same statements load the persons and log the reads
    assert [e["id"] for e in data["_entities"]] == residents
    assert len(many.reading("FROM person ")) == len(few.reading("FROM person ")) == 1
    assert len(many.writing("access_log")) == len(few.writing("access_log")) >= 1


def test_every_read_in_a_batch_is_logged_to_its_citizen(
    gql: Execute, hub: Hub, residents: list[str]
) -> None:
    # given an operator reading five persons through _entities
    gql(ENTITIES, {"representations": persons(residents[:5])}, Principal.operator()).ok()
    # then each of them finds the read in their access log
    for person in residents[:5]:
        log = gql("{ me { accessLog { what purpose } } }", principal=citizen(person)).ok()
        assert {"what": "person", "purpose": "operations"} in log["me"]["accessLog"]


def test_a_citizen_resolves_only_themself_as_a_person_entity(
    gql: Execute, residents: list[str]
) -> None:
    # given a citizen's token and representations of themself and of a neighbour
    me, neighbour = residents[0], residents[1]
    # when a router asks for both
    result = gql(ENTITIES, {"representations": persons([me, neighbour])}, citizen(me))
    # then their own entity resolves and the neighbour is not found, as `person(id:)` answers
    assert result.data is not None
    assert result.data["_entities"][0]["id"] == me
    assert result.data["_entities"][1] is None
    direct = gql("query($id: ID!) { person(id: $id) { id } }", {"id": neighbour}, citizen(me))
    assert result.codes == direct.codes == ["NOT_FOUND"]


def test_an_enterprise_client_resolves_no_person_entity(
    gql: Execute, make_enterprise, make_person
) -> None:
    # given an employee who shares with their employer, and the employer's client
    employer = make_enterprise()
    employee = make_person("110108", employer=employer)
    token = enterprise_client(employer)
    # when the client asks for the employee as an entity
    result = gql(ENTITIES, {"representations": persons([employee])}, token)
    direct = gql("query($id: ID!) { person(id: $id) { id } }", {"id": employee}, token)
    # then it is refused exactly as the root field refuses it: enterprises see aggregates only
    assert result.data == {"_entities": [None]}
    assert result.codes == direct.codes == ["FORBIDDEN"]


def test_public_entities_resolve_for_any_caller(gql: Execute, make_enterprise, hub: Hub) -> None:
    # given an enterprise and a methodology, and a caller without any scope
    employer = make_enterprise()
    methodology = hub.registry.all()[0]
    representations = [
        {"__typename": "Enterprise", "id": employer},
        {"__typename": "Methodology", "id": methodology.id, "version": methodology.version},
        {"__typename": "Region", "code": "110108"},
    ]
    # when they are asked for
    data = gql(ENTITIES, {"representations": representations}, Principal.anonymous()).ok()
    # then registry data answers as from the root fields
    assert data["_entities"] == [
        {"__typename": "Enterprise", "id": employer, "name": "京绿科技有限公司"},
        {"__typename": "Methodology", "id": methodology.id, "version": methodology.version},
        {"__typename": "Region", "code": "110108", "name": "海淀区"},
    ]
