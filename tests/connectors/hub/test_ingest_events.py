"""GraphQL ``ingestEvents``: what a signed push does, for connector clients only."""

from __future__ import annotations

from tests.connectors.hub.conftest import refill

INGEST = """
mutation ($records: [JSON!]!) {
  ingestEvents(records: $records) {
    counts { posted duplicates quarantined rejected }
    results { externalId outcome reason }
  }
}
"""
RUNS = '{ syncRuns(connector: "cups") { mode status posted } }'


def post(client, token, query, variables=None):
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )


def test_given_a_connector_client_when_it_ingests_events_then_each_gets_a_result(
    app_client, connector_token, make_person, link
):
    link(make_person(), "m-1")
    records = [refill("r-1", "m-1"), refill("r-2", "nobody"), {"member": "m-1"}]

    response = post(app_client, connector_token(), INGEST, {"records": records})

    body = response.json()
    assert "errors" not in body, body
    result = body["data"]["ingestEvents"]
    assert [(r["outcome"], r["reason"]) for r in result["results"]] == [
        ("posted", None),
        ("rejected", "no_linked_account"),
        ("quarantined", "malformed"),
    ]
    assert result["counts"] == {"posted": 1, "duplicates": 0, "quarantined": 1, "rejected": 1}


def test_given_the_development_superuser_then_ingest_events_is_refused(app_client):
    response = post(app_client, None, INGEST, {"records": [refill("r-1", "m-1")]})

    errors = response.json()["errors"]
    assert errors[0]["extensions"]["code"] == "FORBIDDEN"


def test_given_more_than_a_thousand_records_then_a_clear_error_and_nothing_posted(
    app_client, connector_token
):
    records = [refill(f"r-{i}", "m-1") for i in range(1001)]

    response = post(app_client, connector_token(), INGEST, {"records": records})

    errors = response.json()["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "1000" in errors[0]["message"]


def test_given_ingested_events_then_an_operator_reads_the_run(
    app_client, connector_token, make_person, link
):
    link(make_person(), "m-1")
    post(app_client, connector_token(), INGEST, {"records": [refill("r-1", "m-1")]})

    runs = post(app_client, None, RUNS).json()["data"]["syncRuns"]

    assert runs == [{"mode": "graphql", "status": "ok", "posted": 1}]
