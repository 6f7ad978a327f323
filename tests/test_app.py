"""The HTTP surface: GraphQL over HTTP, GraphiQL, health, readiness, bad tokens, bad bodies."""

import gc

from starlette.testclient import TestClient

from carbonhub.app import create_app, served_app
from carbonhub.auth.keys import generate_signing_key
from carbonhub.db import head_revision
from carbonhub.hub import open_hub


def test_healthz_says_the_process_is_up(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_checks_the_database_and_migrations(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok", "signing_keys": "ok"}


def test_readyz_is_not_ready_when_the_signing_key_file_can_no_longer_be_read(hub, tmp_path):
    key_file = tmp_path / "signing.pem"
    key_file.write_bytes(generate_signing_key().key.as_pem(private=True))
    with_file = open_hub(
        hub.settings.model_copy(update={"signing_key_file": key_file}),
        engine=hub.engine,
        upgrade=False,
    )
    with TestClient(create_app(hub=with_file)) as client:
        key_file.unlink()
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["signing_keys"].startswith("signing keys not loaded")


def test_readyz_is_not_ready_when_the_database_is_at_another_migration(hub, unknown_revision):
    with TestClient(create_app(hub=hub)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert (
        response.json()["checks"]["migrations"]
        == "database at 0000, code expects " + head_revision()
    )


def test_a_query_over_http_is_answered(client):
    response = client.post("/graphql", json={"query": '{ region(code: "110000") { nameEn } }'})
    assert response.status_code == 200
    assert response.json() == {"data": {"region": {"nameEn": "Beijing"}}}


def test_graphiql_is_served_in_development(client):
    response = client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_graphiql_and_get_queries_are_off_in_production(hub):
    production = open_hub(
        hub.settings.model_copy(update={"env": "production"}), engine=hub.engine, upgrade=False
    )
    with TestClient(create_app(hub=production)) as client:
        assert (
            "graphiql" not in client.get("/graphql", headers={"accept": "text/html"}).text.lower()
        )
        assert client.get("/graphql", params={"query": "{ regions { code } }"}).status_code != 200


def test_an_unverifiable_bearer_token_gets_401(client):
    response = client.post(
        "/graphql",
        json={"query": "{ regions { code } }"},
        headers={"authorization": "Bearer forged"},
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_malformed_body_is_a_client_error_not_a_500(client):
    response = client.post(
        "/graphql", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500
    assert "Traceback" not in response.text


def test_a_server_process_app_has_its_startup_heap_frozen(tmp_path, monkeypatch):
    # given the environment a server process is started with
    monkeypatch.setenv("CARBONHUB_DATABASE_URL", f"sqlite:///{tmp_path / 'served.db'}")
    key_file = tmp_path / "signing.pem"
    key_file.write_bytes(generate_signing_key().key.as_pem(private=True))
    monkeypatch.setenv("CARBONHUB_SIGNING_KEY_FILE", str(key_file))
    gc.unfreeze()
    try:
        # when uvicorn's factory builds the app
        app = served_app()

        # then what startup allocated is out of the collector's generations
        assert gc.get_freeze_count() > 0
        with TestClient(app) as client:
            assert client.get("/healthz").json() == {"status": "ok"}
    finally:
        gc.unfreeze()
