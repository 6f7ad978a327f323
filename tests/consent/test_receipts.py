"""Signed consent receipts verify, and say why when they do not."""

from __future__ import annotations

import base64
import json

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from carbonhub.consent.receipts import InvalidReceipt, verify_receipt
from carbonhub.db import read_session, write_session
from carbonhub.models import ConsentReceipt
from tests.consent.conftest import NOW


@pytest.fixture
def receipt(hub, service, terms, make_person, make_enterprise) -> str:
    employer = make_enterprise()
    person = make_person(employer=employer, consents=False)
    with write_session(hub.engine) as session:
        grant = service.grant(session, person, terms(employer), now=NOW)
    with read_session(hub.engine) as session:
        return session.query(ConsentReceipt).filter_by(consent_id=grant.id).one().jws


def verify(hub, token: str) -> dict:
    with read_session(hub.engine) as session:
        return verify_receipt(session, hub.keys, hub.settings, token)


def test_given_a_receipt_then_it_verifies_with_kantara_and_27560_fields(hub, receipt):
    claims = verify(hub, receipt)

    assert claims["version"] == "KI-CR-v1.1.0"
    assert claims["services"][0]["purposes"][0]["thirdPartyDisclosure"] is True
    assert claims["consent"]["purpose"] == "esg_reporting"
    assert claims["event"]["type"] == "granted"


def test_given_an_altered_receipt_then_verification_says_it_was_altered(hub, receipt):
    header, payload, signature = receipt.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["consent"]["categories"] = ["transport"]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()

    with pytest.raises(InvalidReceipt, match="altered"):
        verify(hub, f"{header}.{forged}.{signature}")


def test_given_a_receipt_signed_by_another_key_then_it_is_refused(hub, receipt):
    header = json.loads(base64.urlsafe_b64decode(receipt.split(".")[0] + "=="))
    claims = json.loads(base64.urlsafe_b64decode(receipt.split(".")[1] + "=="))
    impostor = ECKey.generate_key("P-256", private=True, parameters={"kid": header["kid"]})

    forged = jwt.encode(header, claims, impostor, algorithms=["ES256"])

    with pytest.raises(InvalidReceipt, match="altered"):
        verify(hub, forged)


def test_given_garbage_then_verification_says_it_is_no_jws(hub):
    with pytest.raises(InvalidReceipt, match="not a compact JWS"):
        verify(hub, "not-a-receipt")


def test_given_a_rotated_key_then_an_old_receipt_still_verifies(hub, receipt):
    from carbonhub.auth.keys import rotate_signing_key

    rotate_signing_key(hub.engine)
    hub.keys.load()

    assert verify(hub, receipt)["event"]["type"] == "granted"
