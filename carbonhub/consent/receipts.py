"""Consent receipts: a signed JWS for every grant, change and revocation.

The claims follow the Kantara Consent Receipt v1.1 field names, with the consent record and the
history event in the shape of ISO/IEC TS 27560. Receipts are signed with the hub's access-token
key ring (``kid`` in the header) and verify offline against the hub's JWKS, or at
``/receipts/verify``, which knows every key the hub ever signed with.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.auth.keys import JWT_PURPOSE, SUPPORTED_ALGORITHMS, KeyRing, import_key
from carbonhub.errors import InvalidInput
from carbonhub.models import ConsentEvent, ConsentGrant, ConsentReceipt, ServerKey
from carbonhub.settings import Settings

RECEIPT_TYPE = "consent-receipt+jwt"
KANTARA_VERSION = "KI-CR-v1.1.0"


class InvalidReceipt(InvalidInput):
    """A receipt that does not verify; the message says why."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def receipt_claims(
    settings: Settings,
    receipt_id: str,
    grant: ConsentGrant,
    categories: list[str],
    recipient_name: str,
    event: ConsentEvent,
) -> dict[str, Any]:
    """The claims of a receipt for ``event`` about ``grant``."""
    issuer = settings.issuer
    return {
        "iss": issuer,
        "iat": int(event.at.timestamp()),
        "jti": receipt_id,
        "version": KANTARA_VERSION,
        "jurisdiction": "CN",
        "consentTimestamp": int(grant.granted_at.timestamp()),
        "collectionMethod": "carbonhub consent centre",
        "consentReceiptID": receipt_id,
        "language": grant.language,
        "piiPrincipalId": grant.person_id,
        "piiControllers": [{"piiController": "carbonhub hub operator", "url": issuer}],
        "policyUrl": f"{issuer}/consent/notices/{grant.notice_version}",
        "services": [
            {
                "service": grant.purpose,
                "purposes": [
                    {
                        "purpose": grant.purpose,
                        "consentType": "EXPLICIT",
                        "piiCategory": sorted(categories),
                        "primaryPurpose": True,
                        "termination": _iso(grant.expires_at),
                        "thirdPartyDisclosure": grant.kind == "share",
                        "thirdPartyName": recipient_name,
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        "consent": {
            "id": grant.id,
            "kind": grant.kind,
            "recipient": {"kind": grant.recipient_kind, "id": grant.recipient_id},
            "purpose": grant.purpose,
            "categories": sorted(categories),
            "granularity": grant.granularity,
            "dataWindow": {"from": grant.data_from.isoformat(), "to": grant.data_to.isoformat()},
            "expiresAt": _iso(grant.expires_at),
            "notice": {"version": grant.notice_version, "sha256": grant.notice_sha256},
        },
        "event": {
            "type": event.event_type,
            "seq": event.seq,
            "at": _iso(event.at),
            "actor": event.actor,
            "reason": event.reason,
            "hash": event.hash,
        },
    }


def issue_receipt(
    session: Session,
    keys: KeyRing,
    settings: Settings,
    grant: ConsentGrant,
    categories: list[str],
    recipient_name: str,
    event: ConsentEvent,
) -> ConsentReceipt:
    """Sign and store the receipt of ``event`` (in the caller's transaction)."""
    assert event.id is not None, "the event is flushed before its receipt"
    receipt_id = f"r_{secrets.token_urlsafe(15)}"
    signing = keys.signing_key
    claims = receipt_claims(settings, receipt_id, grant, categories, recipient_name, event)
    header = {"alg": signing.algorithm, "typ": RECEIPT_TYPE, "kid": signing.kid}
    token = jwt.encode(header, claims, signing.key, algorithms=[signing.algorithm])
    receipt = ConsentReceipt(
        id=receipt_id,
        person_id=grant.person_id,
        consent_id=grant.id,
        event_id=event.id,
        issued_at=event.at,
        jws=token,
    )
    session.add(receipt)
    return receipt


def every_signing_key(session: Session, keys: KeyRing) -> KeySet:
    """Every key the hub signed with, retired ones included (receipts outlive key rotation)."""
    found = {k.kid: k.key for k in keys.accepted_keys()}
    for row in session.scalars(select(ServerKey).where(col(ServerKey.purpose) == JWT_PURPOSE)):
        found.setdefault(row.kid, import_key(row.private_key, kid=row.kid))
    return KeySet(list(found.values()))


def verify_receipt(
    session: Session, keys: KeyRing, settings: Settings, token: str
) -> dict[str, Any]:
    """The claims of a genuine receipt of this hub, or :class:`InvalidReceipt` saying why."""
    try:
        header = dict(extract_compact(token.strip().encode()).protected)
    except (JoseError, ValueError, TypeError, UnicodeError):
        raise InvalidReceipt("this is not a compact JWS") from None
    if header.get("typ") != RECEIPT_TYPE:
        raise InvalidReceipt("this JWS is not a carbonhub consent receipt (typ)")
    if header.get("alg") not in SUPPORTED_ALGORITHMS:
        raise InvalidReceipt(f"algorithm {header.get('alg')!r} is not one this hub signs with")
    key_set = every_signing_key(session, keys)
    if not any(k.kid == header.get("kid") for k in key_set.keys):
        raise InvalidReceipt("the receipt names a key this hub never had (kid)")
    try:
        decoded = jwt.decode(token.strip(), key_set, algorithms=list(SUPPORTED_ALGORITHMS))
    except JoseError as exc:
        if exc.error == "bad_signature":
            raise InvalidReceipt("the signature does not match: the receipt was altered") from None
        raise InvalidReceipt(f"the receipt does not verify ({exc.error})") from None
    claims = dict(decoded.claims)
    if claims.get("iss") != settings.issuer:
        raise InvalidReceipt("the receipt was issued by another hub")
    stored = session.get(ConsentReceipt, str(claims.get("jti")))
    if stored is None:
        raise InvalidReceipt("the signature is good but this hub has no record of the receipt")
    return claims
