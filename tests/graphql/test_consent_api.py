"""Consents through GraphQL: citizens grant and revoke, enterprises ask and see only counts."""

from __future__ import annotations

from datetime import timedelta

from carbonhub.auth import Scope
from carbonhub.models import utcnow
from tests.fixtures.graphql import citizen, enterprise_client

MANAGE = (Scope.LEDGER_READ, Scope.CONSENT_MANAGE)
GRANT = """
mutation ($recipient: ID!, $expires: DateTime!) {
  grantConsent(purpose: "esg_reporting", recipientId: $recipient, categories: ["transport"],
               dataFrom: "2023-01-01", dataTo: "2023-12-31", expiresAt: $expires) {
    id status purpose categories recipient { kind id name } receipts { jws }
  }
}
"""
REVOKE = "mutation ($id: ID!) { revokeConsent(id: $id) { id status statusReason } }"
REQUEST = """
mutation ($enterprise: ID!, $expires: DateTime!) {
  requestConsent(enterpriseId: $enterprise, categories: ["transport", "food"],
                 dataFrom: "2023-01-01", dataTo: "2023-12-31", expiresAt: $expires) {
    request { id categories } asked approved
  }
}
"""


def expires() -> str:
    return (utcnow() + timedelta(days=100)).isoformat()


def test_given_an_employee_when_they_grant_then_the_consent_and_its_receipt_come_back(
    gql, make_enterprise, make_person
):
    employer = make_enterprise()
    worker = make_person(employer=employer, consents=False)

    data = gql(
        GRANT, {"recipient": employer, "expires": expires()}, principal=citizen(worker, *MANAGE)
    ).ok()["grantConsent"]

    assert data["status"] == "active"
    assert data["recipient"] == {"kind": "enterprise", "id": employer, "name": "京绿科技有限公司"}
    assert data["receipts"][0]["jws"].count(".") == 2


def test_given_a_consent_when_revoked_twice_through_graphql_then_both_say_revoked(
    gql, make_enterprise, make_person
):
    employer = make_enterprise()
    worker = make_person(employer=employer, consents=False)
    me = citizen(worker, *MANAGE)
    consent = gql(GRANT, {"recipient": employer, "expires": expires()}, principal=me).ok()
    consent_id = consent["grantConsent"]["id"]

    first = gql(REVOKE, {"id": consent_id}, principal=me).ok()["revokeConsent"]
    second = gql(REVOKE, {"id": consent_id}, principal=me).ok()["revokeConsent"]

    assert first == second
    assert first["status"] == "revoked"


def test_given_another_citizens_consent_when_revoking_it_then_not_found(
    gql, make_enterprise, make_person
):
    employer = make_enterprise()
    owner = make_person(employer=employer, consents=False)
    intruder = make_person(employer=employer, consents=False)
    consent = gql(
        GRANT, {"recipient": employer, "expires": expires()}, principal=citizen(owner, *MANAGE)
    ).ok()["grantConsent"]["id"]

    result = gql(REVOKE, {"id": consent}, principal=citizen(intruder, *MANAGE))

    assert result.codes == ["NOT_FOUND"]


def test_given_a_token_without_consent_manage_then_granting_is_forbidden(
    gql, make_enterprise, make_person
):
    employer = make_enterprise()
    worker = make_person(employer=employer, consents=False)

    result = gql(GRANT, {"recipient": employer, "expires": expires()}, principal=citizen(worker))

    assert result.codes == ["FORBIDDEN"]


def test_given_a_request_then_the_enterprise_sees_counts_and_employees_see_the_request(
    gql, make_enterprise, make_person
):
    employer = make_enterprise()
    staff = [make_person(employer=employer, consents=False) for _ in range(2)]
    asked = gql(
        REQUEST,
        {"enterprise": employer, "expires": expires()},
        principal=enterprise_client(employer),
    ).ok()["requestConsent"]
    request_id = asked["request"]["id"]
    gql(
        "mutation ($id: ID!) { answerConsentRequest(id: $id, approve: true) { status } }",
        {"id": request_id},
        principal=citizen(staff[0], *MANAGE),
    ).ok()

    summary = gql(
        f'{{ enterprise(id: "{employer}") {{ consentRequests {{ asked approved }} }} }}',
        principal=enterprise_client(employer),
    ).ok()["enterprise"]["consentRequests"]
    pending = gql(
        f'{{ person(id: "{staff[1]}") {{ consentRequests {{ id }} }} }}',
        principal=citizen(staff[1]),
    ).ok()["person"]["consentRequests"]

    assert asked["asked"] == 2
    assert summary == [{"asked": 2, "approved": 1}]
    assert pending == [{"id": request_id}]


def test_given_an_enterprise_when_it_asks_for_another_enterprise_then_forbidden(
    gql, make_enterprise
):
    mine, theirs = make_enterprise(), make_enterprise(name="别家公司")

    result = gql(
        REQUEST, {"enterprise": theirs, "expires": expires()}, principal=enterprise_client(mine)
    )

    assert result.codes == ["FORBIDDEN"]


def test_given_a_consent_to_an_enterprise_then_the_enterprise_can_terminate_it(
    gql, make_enterprise, make_person
):
    employer = make_enterprise()
    worker = make_person(employer=employer, consents=False)
    consent = gql(
        GRANT, {"recipient": employer, "expires": expires()}, principal=citizen(worker, *MANAGE)
    ).ok()["grantConsent"]["id"]

    ended = gql(
        'mutation ($id: ID!) { terminateConsent(id: $id, reason: "closed") { status statusReason } }',
        {"id": consent},
        principal=enterprise_client(employer),
    ).ok()["terminateConsent"]

    assert ended == {"status": "terminated", "statusReason": "closed"}
