"""Every principal kind x every protected root field: allowed, or refused as specified.

Anonymous callers (production) get UNAUTHENTICATED, a principal without the field's scope gets
FORBIDDEN, and another principal's person answers NOT_FOUND (its existence is not revealed).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from carbonhub.auth import Principal, PrincipalKind, Scope
from tests.fixtures.graphql import agency, citizen, enterprise_client
from tests.graphql.conftest import World

OK = "ok"

PrincipalFor = Callable[[World], Principal]
PRINCIPALS: dict[str, PrincipalFor] = {
    "anonymous": lambda w: Principal.anonymous(),
    "citizen": lambda w: citizen(w.haidian[0], Scope.LEDGER_READ, Scope.POINTS_REDEEM),
    "enterprise": lambda w: enterprise_client(w.employer),
    "agency": lambda w: agency("110000"),
    "connector": lambda w: Principal(
        PrincipalKind.CONNECTOR,
        frozenset({Scope.EVENTS_INGEST.value}),
        client_id="bikeshare",
        connector="bikeshare",
    ),
    "operator": lambda w: Principal(
        PrincipalKind.OPERATOR, frozenset({Scope.ADMIN.value}), client_id="ops"
    ),
}

# (operation, expected outcome per principal kind)
FIELDS: dict[str, tuple[str, dict[str, str]]] = {
    "me": (
        "{ me { id } }",
        {
            "anonymous": "UNAUTHENTICATED",
            "citizen": OK,
            "enterprise": "FORBIDDEN",
            "agency": "FORBIDDEN",
            "connector": "FORBIDDEN",
            "operator": "FORBIDDEN",
        },
    ),
    "person (own)": (
        '{ person(id: "$SELF") { ledger(period: "2023-07") { totalReductionKg } } }',
        {
            "anonymous": "UNAUTHENTICATED",
            "citizen": OK,
            "enterprise": "FORBIDDEN",
            "agency": "FORBIDDEN",
            "connector": "FORBIDDEN",
            "operator": OK,
        },
    ),
    "person (another)": (
        '{ person(id: "$OTHER") { points { balance } } }',
        {
            "anonymous": "UNAUTHENTICATED",
            "citizen": "NOT_FOUND",
            "enterprise": "FORBIDDEN",
            "agency": "FORBIDDEN",
            "connector": "FORBIDDEN",
            "operator": OK,
        },
    ),
    "region.report": (
        '{ region(code: "110000") { report(period: "2023-07") { participants } } }',
        {
            "anonymous": "UNAUTHENTICATED",
            "citizen": "FORBIDDEN",
            "enterprise": "FORBIDDEN",
            "agency": OK,
            "connector": "FORBIDDEN",
            "operator": OK,
        },
    ),
    "region.report outside the agency's subtree": (
        '{ region(code: "120000") { report(period: "2023-07") { participants } } }',
        {
            "anonymous": "UNAUTHENTICATED",
            "citizen": "FORBIDDEN",
            "enterprise": "FORBIDDEN",
            "agency": "NOT_FOUND",
            "connector": "FORBIDDEN",
            "operator": OK,
        },
    ),
    "enterprise.esgReport": (
        '{ enterprise(id: "$EMPLOYER") { esgReport(period: "2023-07") { participants } } }',
        {
            "anonymous": "UNAUTHENTICATED",
            "citizen": "FORBIDDEN",
            "enterprise": OK,
            "agency": "FORBIDDEN",
            "connector": "FORBIDDEN",
            "operator": OK,
        },
    ),
    "quarantinedEvents": (
        "{ quarantinedEvents { edges { node { reason } } } }",
        {
            "anonymous": "UNAUTHENTICATED",
            "citizen": "FORBIDDEN",
            "enterprise": "FORBIDDEN",
            "agency": "FORBIDDEN",
            "connector": "FORBIDDEN",
            "operator": OK,
        },
    ),
    "redeemPoints": (
        'mutation { redeemPoints(points: 1, reward: "bus ticket") { points } }',
        {
            "anonymous": "UNAUTHENTICATED",
            "citizen": OK,
            "enterprise": "FORBIDDEN",
            "agency": "FORBIDDEN",
            "connector": "FORBIDDEN",
            "operator": "FORBIDDEN",
        },
    ),
    "reverseLedgerEntry": (
        'mutation { reverseLedgerEntry(id: "1", reason: "matrix") { id } }',
        {
            "anonymous": "UNAUTHENTICATED",
            "citizen": "FORBIDDEN",
            "enterprise": "FORBIDDEN",
            "agency": "FORBIDDEN",
            "connector": "FORBIDDEN",
            "operator": OK,
        },
    ),
}

CASES = [
    pytest.param(field, kind, id=f"{field} as {kind}") for field in FIELDS for kind in PRINCIPALS
]


@pytest.mark.parametrize(("field", "kind"), CASES)
def test_given_a_principal_kind_when_it_asks_a_protected_field_then_it_gets_what_is_specified(
    gql, world, field, kind
):
    operation, expected = FIELDS[field]
    operation = (
        operation.replace("$SELF", world.haidian[0])
        .replace("$OTHER", world.chaoyang[0])
        .replace("$EMPLOYER", world.employer)
    )

    result = gql(operation, principal=PRINCIPALS[kind](world))

    if expected[kind] == OK:
        assert result.errors == []
    else:
        assert result.codes == [expected[kind]], result.errors


def test_every_protected_root_field_is_in_the_matrix_for_every_principal_kind():
    assert all(set(outcomes) == set(PRINCIPALS) for _, outcomes in FIELDS.values())
