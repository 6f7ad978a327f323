"""Signed pushes: a connector client's token, an HMAC signature in a replay window, and one
result per record (posted, duplicate, quarantined with reason, rejected with reason)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from carbonhub.db import read_session
from carbonhub.models import LedgerEntry, QuarantinedEvent, SyncRun, utcnow
from tests.connectors.hub.conftest import refill, signed_push


def outcomes(response) -> list[tuple[str, str | None]]:
    return [(r["outcome"], r["reason"]) for r in response.json()["results"]]


def test_given_a_linked_consenting_member_when_the_provider_pushes_then_the_refill_is_posted(
    app_client, connector_token, make_person, link, hub
):
    person = make_person()
    link(person, "m-1")

    response = signed_push(app_client, connector_token(), [refill("r-1", "m-1")])

    assert response.status_code == 200, response.text
    assert outcomes(response) == [("posted", None)]
    with read_session(hub.engine) as session:
        entry = session.scalars(select(LedgerEntry)).one()
    assert (entry.person_id, entry.source, entry.external_id) == (person, "cups", "r-1")


def test_given_a_push_replayed_with_a_fresh_signature_then_it_posts_nothing_twice(
    app_client, connector_token, make_person, link
):
    link(make_person(), "m-1")
    token = connector_token()
    signed_push(app_client, token, [refill("r-1", "m-1")])

    again = signed_push(app_client, token, [refill("r-1", "m-1")])

    assert outcomes(again) == [("duplicate", None)]


def test_given_a_record_of_a_member_nobody_linked_then_it_is_rejected_and_not_stored(
    app_client, connector_token, hub
):
    response = signed_push(app_client, connector_token(), [refill("r-1", "stranger")])

    assert outcomes(response) == [("rejected", "no_linked_account")]
    with read_session(hub.engine) as session:
        assert session.scalar(select(func.count()).select_from(QuarantinedEvent)) == 0
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_given_a_linked_member_without_ingest_consent_then_the_record_is_rejected(
    app_client, connector_token, make_person, link
):
    link(make_person(), "m-1", consent=False)

    response = signed_push(app_client, connector_token(), [refill("r-1", "m-1")])

    assert outcomes(response) == [("rejected", "no_ingest_consent")]


def test_given_a_record_carrying_coordinates_then_it_is_quarantined_without_them(
    app_client, connector_token, make_person, link, hub
):
    link(make_person(), "m-1")
    record = refill("r-1", "m-1", path=[[39.99, 116.31], [39.98, 116.32]])

    response = signed_push(app_client, connector_token(), [record])

    assert outcomes(response) == [("quarantined", "location_data")]
    with read_session(hub.engine) as session:
        kept = session.scalars(select(QuarantinedEvent)).one()
    assert "116.31" not in kept.payload
    assert json.loads(kept.payload)["path"] == "[location removed]"


def test_given_a_mixed_push_then_each_record_gets_its_own_result_in_order(
    app_client, connector_token, make_person, link
):
    link(make_person(), "m-1")
    records = [
        refill("r-1", "m-1"),
        {"id": "r-2", "member": "m-1", "at": "yesterday"},
        refill("r-1", "m-1"),
        "not even an object",
        refill("r-3", "m-1", behaviour="transport.metro"),
    ]

    response = signed_push(app_client, connector_token(), records)

    assert outcomes(response) == [
        ("posted", None),
        ("quarantined", "malformed"),
        ("duplicate", None),
        ("quarantined", "malformed"),
        ("quarantined", "undeclared_behaviour"),
    ]
    assert response.json()["counts"] == {
        "fetched": 5, "posted": 1, "duplicates": 1, "quarantined": 3, "rejected": 0
    }  # fmt: skip


def test_given_a_push_then_an_operator_sees_its_run(
    app_client, connector_token, make_person, link, hub
):
    link(make_person(), "m-1")

    response = signed_push(app_client, connector_token(), [refill("r-1", "m-1")])

    with read_session(hub.engine) as session:
        run = session.get(SyncRun, int(response.json()["run_id"]))
    assert run is not None
    assert (run.connector, run.mode, run.status, run.posted) == ("cups", "push", "ok", 1)


def test_given_a_wrong_signature_then_401_and_nothing_is_posted(
    app_client, connector_token, make_person, link, hub
):
    link(make_person(), "m-1")

    response = signed_push(app_client, connector_token(), [refill("r-1", "m-1")], secret="guess")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_signature"
    with read_session(hub.engine) as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 0


def test_given_a_signature_older_than_the_replay_window_then_401(app_client, connector_token):
    stale = utcnow() - timedelta(minutes=10)

    response = signed_push(app_client, connector_token(), [], now=stale)

    assert response.status_code == 401
    assert "window" in response.json()["detail"]


def test_given_no_token_then_401_with_a_bearer_challenge(app_client):
    response = signed_push(app_client, None, [refill("r-1", "m-1")])

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_given_a_garbage_token_then_401(app_client):
    response = signed_push(app_client, "not-a-token", [refill("r-1", "m-1")])

    assert response.status_code == 401


def test_given_another_connectors_token_then_403(app_client, connector_token):
    response = signed_push(app_client, connector_token("raising"), [refill("r-1", "m-1")])

    assert response.status_code == 403


def test_given_a_connector_that_does_not_push_or_is_not_enabled_then_404(
    app_client, connector_token
):
    response = signed_push(app_client, connector_token("bikeshare"), [], slug="bikeshare")

    assert response.status_code == 404


def test_given_a_plugin_whose_normalize_raises_then_its_records_are_quarantined_not_crashing(
    app_client, connector_token, make_person, link
):
    link(make_person(), "m-1", slug="raising")

    response = signed_push(
        app_client, connector_token("raising"), [refill("r-1", "m-1")], slug="raising"
    )

    assert response.status_code == 200
    assert outcomes(response) == [("quarantined", "connector_error")]


def test_given_a_shorter_replay_window_setting_then_a_push_outside_it_is_refused(
    hub, connectors, make_person, link
):
    from dataclasses import replace

    from carbonhub.connectors.base import InvalidPush, PushRequest
    from carbonhub.connectors.service import Connectors
    from carbonhub.connectors.signing import signed_headers
    from tests.connectors.hub.conftest import SECRET

    strict = Connectors(
        replace(hub, settings=hub.settings.model_copy(update={"push_window_s": 30})),
        connectors.registry,
    )
    link(make_person(), "m-1")
    body = b'{"refills": []}'
    headers = signed_headers(SECRET.encode(), body, utcnow() - timedelta(seconds=60))
    request = PushRequest({k.lower(): v for k, v in headers.items()}, body, utcnow())

    with pytest.raises(InvalidPush, match="window 30 s"):
        strict.push("cups", request)


def test_given_a_refused_record_pushed_again_then_the_quarantine_keeps_one_copy(
    app_client, connector_token, make_person, link, hub
):
    link(make_person(), "m-1")
    token = connector_token()
    bad = {"id": "r-9", "member": "m-1", "at": "not a time"}

    first = signed_push(app_client, token, [bad, bad])
    again = signed_push(app_client, token, [bad])

    assert outcomes(first) == [("quarantined", "malformed")] * 2
    assert outcomes(again) == [("quarantined", "malformed")]
    with read_session(hub.engine) as session:
        assert session.scalar(select(func.count()).select_from(QuarantinedEvent)) == 1
