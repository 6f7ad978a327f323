"""Through a real Apollo gateway: joins across carbonhub and HR, under carbonhub's access rules.

Every personal field a gateway query reaches is carbonhub's to answer, for the caller's token,
exactly as carbonhub answers the same token directly: the gateway sends carbonhub
``_entities`` for the persons HR lists, so the direct comparison asks ``_entities`` too.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.federation.conftest import Running, World, ask

EMPLOYEES = """
query Employees($enterprise: ID!) {
  employees(enterpriseId: $enterprise) { id employeeNumber points { balance } }
}
"""
EMPLOYEES_LEDGERS = """
query Employees($enterprise: ID!) {
  employees(enterpriseId: $enterprise) {
    id employeeNumber ledger(period: "2023-07") { totalReductionKg }
  }
}
"""
PERSONS = """
query Persons($persons: [_Any!]!) {
  _entities(representations: $persons) {
    ... on Person { id points { balance } ledger(period: "2023-07") { totalReductionKg } }
  }
}
"""
PERSON = (
    'query Person($id: ID!) { person(id: $id) { ledger(period: "2023-07") { totalReductionKg } } }'
)
CARBONHUB_ME = '{ me { id points { balance } ledger(period: "2023-07") { totalReductionKg } } }'
JOINED_ME = """
{
  me {
    id points { balance } ledger(period: "2023-07") { totalReductionKg }
    employeeNumber department employer { name headcount esgContact }
  }
}
"""
ESG = """
query Esg($enterprise: ID!) {
  enterprise(id: $enterprise) {
    name esgReport(period: "2023-07") { participants employees totalReductionKg }
  }
}
"""
JOINED_ESG = """
query Esg($enterprise: ID!) {
  enterprise(id: $enterprise) {
    name headcount esgReport(period: "2023-07") { participants employees totalReductionKg }
  }
}
"""


def persons(world: World) -> dict[str, list[dict[str, str]]]:
    """The ``_entities`` representations of the employees, in HR's order."""
    return {"persons": [{"__typename": "Person", "id": p} for p in world.employees]}


def test_a_citizen_sees_their_ledger_joined_with_their_hr_record(
    gateway: str, carbonhub_graphql: str, world: World
) -> None:
    # given Alice's citizen token
    # when she asks the gateway for herself with fields of both subgraphs
    me = ask(gateway, JOINED_ME, world.alice_token).ok()["me"]
    # then she gets carbonhub's answer to her token, joined with her HR record
    direct = ask(carbonhub_graphql, CARBONHUB_ME, world.alice_token).ok()["me"]
    assert {k: me[k] for k in ("id", "points", "ledger")} == direct
    assert Decimal(me["ledger"]["totalReductionKg"]) > 0
    assert (me["employeeNumber"], me["department"]) == ("JL-001", "Logistics")
    assert me["employer"] == {
        "name": "京绿科技有限公司",
        "headcount": 3,
        "esgContact": "esg@jinglv.example.cn",
    }


def test_a_citizen_listing_colleagues_from_hr_sees_only_their_own_carbonhub_data(
    gateway: str, carbonhub_graphql: str, world: World
) -> None:
    # given Alice's token and HR's list of her and her two colleagues
    # when she asks the gateway for everyone's points, starting in HR
    joined = ask(gateway, EMPLOYEES, world.alice_token, {"enterprise": world.enterprise})
    # then her own entry carries her points, as carbonhub gives them to her directly
    direct = ask(carbonhub_graphql, PERSONS, world.alice_token, persons(world))
    assert joined.data is not None
    assert direct.data is not None
    alice, bob, carol = joined.data["employees"]
    assert alice["points"] == direct.data["_entities"][0]["points"]
    assert alice["points"]["balance"] > 0
    # and each colleague is refused exactly as carbonhub refuses her directly: not found
    assert (bob, carol) == (None, None)
    for index in (1, 2):
        refusal = joined.errors_at("employees", index)
        assert refusal == direct.errors_at("_entities", index)
        assert [code for _, code in refusal] == ["NOT_FOUND"]


def test_an_enterprise_reads_no_employee_ledger_through_the_gateway_consenting_or_not(
    gateway: str, carbonhub_graphql: str, world: World, enterprise_token: str
) -> None:
    # given the employer's ESG token; Alice and Bob share with the employer, Carol does not
    # when it asks the gateway for each employee's ledger, starting in HR
    joined = ask(gateway, EMPLOYEES_LEDGERS, enterprise_token, {"enterprise": world.enterprise})
    # then no employee's ledger reaches it
    assert joined.data == {"employees": [None, None, None]}
    # and each is refused as carbonhub refuses that token directly, by entity or by id
    direct = ask(carbonhub_graphql, PERSONS, enterprise_token, persons(world))
    assert direct.data == {"_entities": [None, None, None]}
    for index, person in enumerate(world.employees):
        refusal = joined.errors_at("employees", index)
        assert refusal == direct.errors_at("_entities", index)
        assert [code for _, code in refusal] == ["FORBIDDEN"]
        by_id = ask(carbonhub_graphql, PERSON, enterprise_token, {"id": person})
        assert (by_id.data, by_id.codes) == (None, ["FORBIDDEN"])


def test_an_enterprise_sees_its_consenting_employees_only_in_its_esg_aggregate(
    gateway: str, carbonhub_graphql: str, world: World, enterprise_token: str
) -> None:
    # given the employer's ESG token, three employees in HR and two who share with it
    # when it asks the gateway for its ESG report joined with HR's headcount
    variables = {"enterprise": world.enterprise}
    enterprise = ask(gateway, JOINED_ESG, enterprise_token, variables).ok()["enterprise"]
    # then the report is carbonhub's answer to that token, with HR's headcount beside it
    direct = ask(carbonhub_graphql, ESG, enterprise_token, variables).ok()["enterprise"]
    assert {k: v for k, v in enterprise.items() if k != "headcount"} == direct
    # and only the consenting two count: Alice's 4 km and Bob's 2 km, not Carol's 3 km
    assert enterprise["headcount"] == 3
    assert enterprise["esgReport"]["participants"] == 2
    assert Decimal(enterprise["esgReport"]["totalReductionKg"]) == Decimal("1.5")


@pytest.mark.parametrize("token", [None, "not-a-token"], ids=["no token", "a bad token"])
def test_without_a_valid_token_the_gateway_answers_carbonhubs_401_and_nothing_personal(
    gateway: str, carbonhub_graphql: str, world: World, token: str | None
) -> None:
    # given no token, or one carbonhub did not issue
    # when the gateway is asked for the employees' points
    joined = ask(gateway, EMPLOYEES, token, {"enterprise": world.enterprise})
    # then it answers as carbonhub answers directly: 401 with carbonhub's Bearer challenge
    direct = ask(carbonhub_graphql, PERSONS, token, persons(world))
    assert (direct.status, set(direct.codes)) == (401, {"UNAUTHENTICATED"})
    assert (joined.status, joined.codes) == (401, ["UNAUTHENTICATED"])
    assert joined.challenge == direct.challenge
    assert str(joined.challenge).startswith("Bearer ")
    # and with no person's data (nor carbonhub's internal address)
    assert joined.data == {"employees": [None, None, None]}
    assert all(set(e.get("extensions", {})) == {"code"} for e in joined.errors)


def hr_requests(hr: Running) -> list[str]:
    """HR's log lines of the requests it received so far."""
    return [line for line in hr.log().splitlines() if line.startswith("hr request ")]


def test_the_gateway_sends_the_token_to_carbonhub_and_not_to_hr(
    gateway: str, hr: Running, world: World
) -> None:
    # given the requests HR has had so far
    before = len(hr_requests(hr))
    # when Alice's query needs both subgraphs
    ask(gateway, JOINED_ME, world.alice_token).ok()
    # then HR was asked, without her token
    requests = hr_requests(hr)[before:]
    assert requests
    assert set(requests) == {"hr request authorization=absent"}
