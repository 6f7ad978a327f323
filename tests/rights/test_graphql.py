"""The rights in GraphQL: who may export, erase, dispute and decide, and what they get."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import select

from carbonhub.auth import Principal, PrincipalKind, Scope
from carbonhub.db import read_session
from carbonhub.models import AccessLogEntry
from tests.fixtures.actors import event
from tests.fixtures.graphql import agency, citizen, enterprise_client

OPERATOR = Principal(PrincipalKind.OPERATOR, frozenset({Scope.ADMIN.value}), client_id="ops")
OK = "ok"

DISPUTE = """mutation ($entry: ID!) { disputeEntry(entryId: $entry, reason: "I walked") {
  id status entryId reason } }"""
RESOLVE = """mutation ($id: ID!, $decision: DisputeDecision!) {
  resolveDispute(id: $id, decision: $decision, note: "provider confirmed") {
  id status resolutionNote reversalEntryId entry { entryType reductionG } } }"""
QUEUE = """{ disputes(first: 10) { edges { cursor node { id personId status reason
  entry { id behaviour { code } reductionG } } } pageInfo { hasNextPage endCursor } } }"""
TOTAL = '{ me { ledger(period: "2023-07") { totalReductionKg } } }'


@pytest.fixture
def riders(make_person: Callable[..., str], post: Callable) -> tuple[str, str]:
    """Two Haidian residents with one 4 km ride each (1000 g under the primary methodology)."""
    people = make_person(), make_person()
    post(
        [
            event(p, "transport.bike_share", "2023-07-03 00:30", km="4", duration_s=1200)
            for p in people
        ]
    )
    return people


def first_entry(gql, person_id: str) -> str:
    data = gql(
        '{ me { ledger(period: "2023-07") { entries(first: 1) { nodes { id } } } } }',
        principal=citizen(person_id),
    ).ok()
    return data["me"]["ledger"]["entries"]["nodes"][0]["id"]


def test_given_a_citizen_when_they_export_then_they_get_their_own_data_and_it_is_logged(
    hub, gql, riders
):
    me, other = riders

    data = gql("mutation { exportMyData }", principal=citizen(me)).ok()["exportMyData"]

    assert data["format"] == "carbonhub-export/1"
    assert data["person"]["id"] == me
    assert [e["person_id"] for e in data["ledger"]] == [me]
    assert other not in str(data)
    with read_session(hub.engine) as session:
        logged = session.scalars(
            select(AccessLogEntry.what).where(AccessLogEntry.subject_person_id == me)
        ).all()
    assert "export" in logged


def test_given_a_citizen_when_they_dispute_and_an_operator_reverses_then_their_total_drops(
    gql, riders
):
    me, _ = riders
    entry = first_entry(gql, me)
    assert gql(TOTAL, principal=citizen(me)).ok()["me"]["ledger"]["totalReductionKg"] == "1"

    opened = gql(DISPUTE, {"entry": entry}, principal=citizen(me)).ok()["disputeEntry"]
    queue = gql(QUEUE, principal=OPERATOR).ok()["disputes"]
    decided = gql(RESOLVE, {"id": opened["id"], "decision": "REVERSE"}, principal=OPERATOR).ok()[
        "resolveDispute"
    ]

    assert opened == {"id": opened["id"], "status": "open", "entryId": entry, "reason": "I walked"}
    (edge,) = queue["edges"]
    assert edge["node"]["personId"] == me
    assert edge["node"]["entry"] == {
        "id": entry,
        "behaviour": {"code": "transport.bike_share"},
        "reductionG": "1000",
    }
    assert decided["status"] == "reversed"
    assert decided["reversalEntryId"] is not None
    total = gql(TOTAL, principal=citizen(me)).ok()["me"]["ledger"]["totalReductionKg"]
    assert Decimal(total) == 0
    assert gql(QUEUE, principal=OPERATOR).ok()["disputes"]["edges"] == []


def test_given_a_rejected_dispute_then_the_total_stays(gql, riders):
    me, _ = riders
    opened = gql(DISPUTE, {"entry": first_entry(gql, me)}, principal=citizen(me)).ok()

    decided = gql(
        RESOLVE, {"id": opened["disputeEntry"]["id"], "decision": "REJECT"}, principal=OPERATOR
    ).ok()["resolveDispute"]

    assert (decided["status"], decided["reversalEntryId"]) == ("rejected", None)
    assert gql(TOTAL, principal=citizen(me)).ok()["me"]["ledger"]["totalReductionKg"] == "1"


def test_given_another_citizens_entry_when_disputed_then_it_is_not_found(gql, riders):
    me, other = riders

    result = gql(DISPUTE, {"entry": first_entry(gql, other)}, principal=citizen(me))

    assert result.codes == ["NOT_FOUND"]


def test_given_a_citizen_when_they_resolve_their_own_dispute_then_it_is_forbidden(gql, riders):
    me, _ = riders
    opened = gql(DISPUTE, {"entry": first_entry(gql, me)}, principal=citizen(me)).ok()

    result = gql(
        RESOLVE,
        {"id": opened["disputeEntry"]["id"], "decision": "REVERSE"},
        principal=citizen(me, Scope.LEDGER_READ, Scope.CONSENT_MANAGE, Scope.POINTS_REDEEM),
    )

    assert result.codes == ["FORBIDDEN"]


def test_given_a_citizen_when_they_erase_themselves_then_they_are_gone(gql, riders):
    me, other = riders
    principal = citizen(me, Scope.LEDGER_READ, Scope.CONSENT_MANAGE)

    wrong = gql(
        f'mutation {{ eraseMyData(confirm: "{other}") {{ personId }} }}', principal=principal
    )
    done = gql(
        f"""mutation {{ eraseMyData(confirm: "{me}") {{ personId erasedAt
        tables {{ table rows }} removedFromStatistics {{ methodology reductionKg }} }} }}""",
        principal=principal,
    ).ok()["eraseMyData"]

    assert wrong.codes == ["BAD_USER_INPUT"]
    assert done["personId"] == me
    assert {"table": "ledger_entry", "rows": 1} in done["tables"]
    assert {"table": "person", "rows": 1} in done["tables"]
    assert {"methodology": "beijing-green-life-2023@1.0", "reductionKg": "1"} in done[
        "removedFromStatistics"
    ]
    assert gql("{ me { id } }", principal=citizen(me)).codes == ["NOT_FOUND"]
    assert gql(TOTAL, principal=citizen(other)).ok()["me"]["ledger"]["totalReductionKg"] == "1"


# -- who may call what -------------------------------------------------------------------------

PRINCIPALS: dict[str, Callable[[str], Principal]] = {
    "anonymous": lambda me: Principal.anonymous(),
    "citizen": lambda me: citizen(me, Scope.LEDGER_READ, Scope.POINTS_REDEEM),
    "citizen with consent:manage": lambda me: citizen(me, Scope.LEDGER_READ, Scope.CONSENT_MANAGE),
    "enterprise": lambda me: enterprise_client("e_any"),
    "agency": lambda me: agency("110000"),
    "operator": lambda me: OPERATOR,
}
DENIED_TO_CLIENTS = {
    "anonymous": "UNAUTHENTICATED",
    "enterprise": "FORBIDDEN",
    "agency": "FORBIDDEN",
}
FIELDS: dict[str, tuple[str, dict[str, str]]] = {
    "disputes": (
        "{ disputes { edges { cursor } } }",
        {**DENIED_TO_CLIENTS, "citizen": "FORBIDDEN", "citizen with consent:manage": "FORBIDDEN",
         "operator": OK},
    ),
    "exportMyData": (
        "mutation { exportMyData }",
        {**DENIED_TO_CLIENTS, "citizen": OK, "citizen with consent:manage": OK,
         "operator": "FORBIDDEN"},
    ),
    "eraseMyData": (
        'mutation { eraseMyData(confirm: "$SELF") { personId } }',
        {**DENIED_TO_CLIENTS, "citizen": "FORBIDDEN", "citizen with consent:manage": OK,
         "operator": "FORBIDDEN"},
    ),
    "disputeEntry": (
        'mutation { disputeEntry(entryId: "$ENTRY", reason: "wrong") { id } }',
        {**DENIED_TO_CLIENTS, "citizen": OK, "citizen with consent:manage": OK,
         "operator": "FORBIDDEN"},
    ),
    "resolveDispute": (
        'mutation { resolveDispute(id: "$DISPUTE", decision: REJECT, note: "no") { id } }',
        {**DENIED_TO_CLIENTS, "citizen": "FORBIDDEN", "citizen with consent:manage": "FORBIDDEN",
         "operator": OK},
    ),
}  # fmt: skip


@pytest.mark.parametrize("kind", PRINCIPALS)
@pytest.mark.parametrize("field", FIELDS)
def test_given_a_principal_kind_when_it_calls_a_rights_field_then_it_gets_what_is_specified(
    gql, riders, field, kind
):
    me, other = riders
    entry = first_entry(gql, me)
    other_entry = first_entry(gql, other)
    pending = gql(DISPUTE, {"entry": other_entry}, principal=citizen(other)).ok()
    operation, expected = FIELDS[field]
    operation = (
        operation.replace("$SELF", me)
        .replace("$ENTRY", entry)
        .replace("$DISPUTE", pending["disputeEntry"]["id"])
    )

    result = gql(operation, principal=PRINCIPALS[kind](me))

    if expected[kind] == OK:
        assert result.errors == []
    else:
        assert result.codes == [expected[kind]], result.errors
