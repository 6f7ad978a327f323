"""Trusted documents: a client sends a registered document's id instead of its text, and a
client kind can be held to registered documents only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from carbonhub.auth.clients import NewClient, create_client
from carbonhub.auth.documents import document_id, parse_manifest, register_manifest
from carbonhub.auth.scopes import ClientKind
from carbonhub.cli import main
from carbonhub.db import write_session
from carbonhub.errors import InvalidInput
from carbonhub.hub import Hub
from carbonhub.settings import Settings
from tests.graphql.conftest import MakeClient

REGIONS = "query Regions { regions { code } }"
METHODOLOGIES = "query Methodologies { methodologies { id } }"


@pytest.fixture
def agency(hub: Hub) -> NewClient:
    """An agency client with one registered document (the regions query)."""
    with write_session(hub.engine) as session:
        client = create_client(session, kind=ClientKind.AGENCY, name="stats", region_code="110000")
        register_manifest(session, client.client_id, parse_manifest(json.dumps(manifest())))
    return client


def manifest(*bodies: str) -> dict[str, Any]:
    """An Apollo persisted-query manifest of ``bodies`` (default: the regions query)."""
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": document_id(b), "body": b, "type": "query"} for b in bodies or (REGIONS,)
        ],
    }


def bearer(http: TestClient, client: NewClient) -> dict[str, str]:
    answer = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.client_secret or ""),
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def persisted(digest: str) -> dict[str, Any]:
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}


def code_of(response: Any) -> str:
    return str(response.json()["errors"][0]["extensions"]["code"])


def test_given_a_registered_document_when_its_hash_is_sent_then_it_runs(
    client_with: MakeClient, agency: NewClient
) -> None:
    http = client_with()

    answer = http.post(
        "/graphql", json=persisted(document_id(REGIONS)), headers=bearer(http, agency)
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["regions"]


def test_given_a_registered_document_when_its_document_id_is_sent_then_it_runs(
    client_with: MakeClient, agency: NewClient
) -> None:
    http = client_with()

    answer = http.post(
        "/graphql",
        json={"documentId": f"sha256:{document_id(REGIONS)}"},
        headers=bearer(http, agency),
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["regions"]


def test_given_an_unknown_hash_when_sent_then_400_persisted_query_not_found(
    client_with: MakeClient, agency: NewClient
) -> None:
    http = client_with()

    answer = http.post(
        "/graphql", json=persisted(document_id(METHODOLOGIES)), headers=bearer(http, agency)
    )

    assert answer.status_code == 400
    assert code_of(answer) == "PERSISTED_QUERY_NOT_FOUND"


def test_given_another_clients_document_when_its_hash_is_sent_then_it_is_not_found(
    client_with: MakeClient, agency: NewClient, hub: Hub
) -> None:
    with write_session(hub.engine) as session:
        other = create_client(session, kind=ClientKind.AGENCY, name="other", region_code="110000")
    http = client_with()

    answer = http.post(
        "/graphql", json=persisted(document_id(REGIONS)), headers=bearer(http, other)
    )

    assert answer.status_code == 400
    assert code_of(answer) == "PERSISTED_QUERY_NOT_FOUND"


def test_given_text_and_a_hash_that_is_not_its_digest_then_400(
    client_with: MakeClient, agency: NewClient
) -> None:
    http = client_with()

    answer = http.post(
        "/graphql",
        json={"query": METHODOLOGIES, **persisted(document_id(REGIONS))},
        headers=bearer(http, agency),
    )

    assert answer.status_code == 400
    assert code_of(answer) == "BAD_REQUEST"


def test_given_a_malformed_hash_then_400_not_a_500(client_with: MakeClient) -> None:
    http = client_with()

    answer = http.post("/graphql", json=persisted("not-a-digest"))

    assert answer.status_code == 400
    assert "sha256Hash" in answer.json()["errors"][0]["message"]


def test_given_agencies_held_to_trusted_documents_when_one_sends_other_text_then_403(
    client_with: MakeClient, agency: NewClient
) -> None:
    http = client_with(trusted_documents_required_for="agency,enterprise")

    answer = http.post("/graphql", json={"query": METHODOLOGIES}, headers=bearer(http, agency))

    assert answer.status_code == 403
    assert code_of(answer) == "PERSISTED_QUERY_REQUIRED"


def test_given_agencies_held_to_trusted_documents_when_one_sends_registered_text_then_it_runs(
    client_with: MakeClient, agency: NewClient
) -> None:
    http = client_with(trusted_documents_required_for="agency")

    answer = http.post("/graphql", json={"query": REGIONS}, headers=bearer(http, agency))

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["regions"]


def test_given_agencies_held_to_trusted_documents_then_other_callers_send_any_text(
    client_with: MakeClient,
) -> None:
    http = client_with(trusted_documents_required_for="agency")

    answer = http.post("/graphql", json={"query": METHODOLOGIES})

    assert answer.status_code == 200, answer.text


def test_given_an_unknown_client_kind_in_the_setting_then_the_app_does_not_start(
    client_with: MakeClient,
) -> None:
    with pytest.raises(InvalidInput, match="unknown client kind 'agencies'"):
        client_with(trusted_documents_required_for="agencies")


def test_given_a_manifest_entry_whose_id_is_not_its_digest_then_it_is_refused() -> None:
    wrong = {"0" * 64: REGIONS}

    with pytest.raises(InvalidInput, match="is not the SHA-256 of its body"):
        parse_manifest(json.dumps(wrong))


def test_given_a_plain_map_manifest_then_its_documents_are_read_with_their_names() -> None:
    operations = parse_manifest(json.dumps({document_id(REGIONS): REGIONS}))

    assert [(o.document_id, o.operation_name) for o in operations] == [
        (document_id(REGIONS), "Regions")
    ]


def test_given_a_manifest_document_that_does_not_parse_then_it_is_refused() -> None:
    with pytest.raises(InvalidInput, match="does not parse"):
        parse_manifest(json.dumps({document_id("{ regions"): "{ regions"}))


def test_given_the_cli_when_a_manifest_replaces_a_clients_documents_then_only_it_remains(
    hub: Hub, agency: NewClient, settings: Settings, tmp_path: Path
) -> None:
    file = tmp_path / "manifest.json"
    file.write_text(json.dumps(manifest(METHODOLOGIES)), encoding="utf-8")

    result = CliRunner().invoke(
        main,
        ["clients", "documents", agency.client_id, str(file), "--replace"],
        env={"CARBONHUB_DATABASE_URL": settings.database_url},
    )

    assert result.exit_code == 0, result.output
    assert f"{agency.client_id} has 1" in result.output
