"""Access and copy (PIPL Art. 45): the export holds everything about the citizen and nothing else."""

from __future__ import annotations

import json

import pytest

from carbonhub.consent.rights import EXPORT_FORMAT, export_person
from carbonhub.db import read_session
from carbonhub.errors import NotFound
from carbonhub.hub import Hub
from carbonhub.ledger.chain import entry_hash
from tests.rights.conftest import NOW, Citizen


@pytest.fixture
def two(make_citizen_with_everything) -> tuple[Citizen, Citizen]:
    return make_citizen_with_everything(), make_citizen_with_everything()


def export(hub: Hub, person_id: str) -> dict:
    with read_session(hub.engine) as session:
        return export_person(session, person_id, now=NOW)


def test_given_a_citizen_when_exported_then_every_kind_of_data_is_there(hub, two):
    me, _ = two

    data = export(hub, me.person_id)

    assert data["format"] == EXPORT_FORMAT == "carbonhub-export/1"
    assert data["exported_at"] == NOW.isoformat()
    person = data["person"]
    assert person["id"] == me.person_id
    assert [r["region_code"] for r in person["residences"]] == ["110108", "110105"]
    assert [(j["enterprise_id"], j["valid_to"]) for j in person["employment"]] == [
        (me.enterprise_id, None)
    ]
    assert [(e["seq"], e["entry_type"]) for e in data["ledger"]] == [
        (1, "credit"),
        (2, "credit"),
        (3, "credit"),
        (4, "credit"),
        (5, "reversal"),
    ]
    assert data["points"]["redeemed"] == 1
    assert data["points"]["balance"] == data["points"]["earned"] - 1
    assert [r["reward"] for r in data["points"]["redemptions"]] == ["bus ticket"]
    (consent,) = data["consents"]
    assert (consent["id"], consent["status"]) == (me.consent_id, "active")
    assert consent["category_list"] == ["food", "transport"]
    assert [e["event_type"] for e in consent["events"]] == ["granted"]
    assert [e["event_type"] for e in data["consent_history"]] == ["requested", "granted"]
    assert [r["id"] for r in data["consent_requests"]] == [me.request_id]
    assert data["consent_receipts"][0]["jws"].startswith("eyJ")
    assert [a["subject_person_id"] for a in data["access_log"]] == [me.person_id]
    assert [d["reason"] for d in data["disputes"]] == ["I walked that day"]
    assert sorted(q["reason"] for q in data["quarantined_events"]) == ["implausible", "malformed"]
    assert data["account"]["username"] == me.username
    assert len(data["account"]["login_sessions"]) == 1
    (grant,) = data["oauth_grants"]
    assert (grant["id"], grant["scope"], grant["revoked_at"]) == (me.grant_id, "ledger:read", None)
    assert grant["client_name"].startswith("Green app")


def test_given_an_export_then_ledger_entries_carry_hashes_and_decoded_json(hub, two):
    me, _ = two

    entries = export(hub, me.person_id)["ledger"]

    first = entries[0]
    assert isinstance(first["reductions"], dict)
    assert "beijing-green-life-2023@1.0" in first["reductions"]
    assert isinstance(first["measures"], dict)
    assert isinstance(first["employers"], list)
    assert first["prev_hash"] == "0" * 64
    assert [e["prev_hash"] for e in entries[1:]] == [e["hash"] for e in entries[:-1]]
    assert len(first["hash"]) == 64


def test_given_an_export_then_it_is_json_and_holds_no_secret(hub, two):
    me, _ = two

    text = json.dumps(export(hub, me.person_id))

    assert "password" not in text
    assert "argon2" not in text
    assert "token_hash" not in text
    assert "code_hash" not in text


def test_given_two_citizens_when_one_exports_then_nothing_of_the_other_is_in_it(hub, two):
    me, other = two

    text = json.dumps(export(hub, me.person_id))

    for trace in (other.person_id, other.username, other.consent_id, other.grant_id):
        assert trace not in text
    assert other.request_id not in text


def test_given_an_export_then_the_chain_can_be_checked_from_it_alone(hub, two):
    """Portability: the exported entries verify without the hub (hashes recomputed)."""
    me, _ = two
    with read_session(hub.engine) as session:
        from carbonhub.models import LedgerEntry

        stored = {e.seq: e for e in session.query(LedgerEntry).filter_by(person_id=me.person_id)}

    for item in export(hub, me.person_id)["ledger"]:
        assert entry_hash(stored[item["seq"]].model_dump()) == item["hash"]


def test_given_an_unknown_person_when_exported_then_it_is_not_found(hub):
    with pytest.raises(NotFound):
        export(hub, "p_nobody")
