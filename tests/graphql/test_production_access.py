"""In production, nothing personal, enterprise or regional answers over HTTP without a token:
every protected root field gets HTTP 401 with a Bearer challenge; reference data still answers."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from carbonhub.app import create_app
from carbonhub.hub import open_hub

PROTECTED = {
    "me": "{ me { id } }",
    "person": '{ person(id: "$PERSON") { id points { balance } } }',
    "region.report": '{ region(code: "110000") { report(period: "2023-07") { participants } } }',
    "enterprise.esgReport": '{ enterprise(id: "$EMPLOYER") { esgReport { participants } } }',
    "quarantinedEvents": "{ quarantinedEvents { hasNextPage } }",
    "redeemPoints": 'mutation { redeemPoints(points: 1, reward: "x") { points } }',
    "reverseLedgerEntry": 'mutation { reverseLedgerEntry(id: "1", reason: "x") { id } }',
}


@pytest.fixture
def production(settings, engine):
    hub = open_hub(settings.model_copy(update={"env": "production"}), engine=engine, upgrade=False)
    with TestClient(create_app(hub=hub)) as client:
        yield client


@pytest.mark.parametrize("field", list(PROTECTED))
def test_given_production_when_a_protected_field_is_asked_without_a_token_then_401(
    production, world, field
):
    query = PROTECTED[field].replace("$PERSON", world.haidian[0])
    query = query.replace("$EMPLOYER", world.employer)

    response = production.post("/graphql", json={"query": query})

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert not any((body.get("data") or {}).values())


def test_given_production_when_reference_data_is_asked_without_a_token_then_it_answers(
    production,
):
    response = production.post(
        "/graphql", json={"query": '{ methodologies { id } region(code: "110000") { name } }'}
    )

    assert response.status_code == 200
    assert "errors" not in response.json()
