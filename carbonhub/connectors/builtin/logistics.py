"""The logistics connector: parcels delivered on an electronic waybill, pulled or pushed.

Pulls ``POST /api/v2/waybills/query`` with ``{"offset", "limit"}`` and accepts signed pushes
``{"items": [...]}``. A signed-for parcel on an electronic waybill becomes ``use.e_waybill``:
one waybill per record whatever its pieces, referenced by the waybill number so that a shop
reporting the same parcel is counted once. Paper waybills are ``not_covered``.

The cursor is the offset of the next waybill. It advances by what was asked for, capped by the
provider's ``total``, never by the number of items received (duplicates or malformed extras in
a page must not move it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from carbonhub.connectors.base import (
    ConnectorInfo,
    InvalidPush,
    Normalized,
    Page,
    ProviderAccount,
    ProviderConfig,
    ProviderEvent,
    ProviderOAuth,
    ProviderRefused,
    PushRequest,
    RecordRejection,
)
from carbonhub.connectors.http import request_json
from carbonhub.connectors.records import (
    BadRecord,
    epoch,
    location_fields,
    malformed,
    reject_location,
    text,
)
from carbonhub.connectors.signing import verify_signature

ID, ACCOUNT = "waybill_no", "receiver_id"
MAX_LIMIT = 500
MAX_ID_LENGTH = 200
MAX_PIECES = 10_000
BEHAVIOUR = "use.e_waybill"


class LogisticsConnector:
    """Reads a linked receiver's signed-for parcels from the courier and normalises them."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        slug="logistics",
        name="Logistics",
        version="1.0.0",
        behaviours=frozenset({BEHAVIOUR}),
        categories=frozenset({"use"}),
        pull=True,
        push=True,
        config_model=ProviderConfig,
        description="Parcels shipped with an electronic waybill (pulled or pushed).",
    )

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http
        self.base_url = config.base_url.rstrip("/")

    def oauth(self) -> ProviderOAuth:
        """The courier's OAuth endpoints; carbonhub asks to read waybills."""
        return ProviderOAuth(
            authorize_url=f"{self.base_url}/oauth/authorize",
            token_url=f"{self.base_url}/oauth/token",
            scope="waybills:read",
        )

    async def fetch(self, account: ProviderAccount, cursor: str | None) -> Page:
        """The waybills from offset ``cursor`` (None: 0) and the offset to read next."""
        offset = _offset(cursor)
        limit = max(1, min(self.config.page_size, MAX_LIMIT))
        body = await request_json(
            self.http,
            "POST",
            f"{self.base_url}/api/v2/waybills/query",
            token=account.access_token,
            timeout_s=self.config.timeout_s,
            json={"offset": offset, "limit": limit},
        )
        items = body.get("items") if isinstance(body, Mapping) else None
        total = body.get("total") if isinstance(body, Mapping) else None
        if not isinstance(items, list) or isinstance(total, bool) or not isinstance(total, int):
            raise ProviderRefused("the waybill answer lacks items or total")
        if not items:
            return Page((), cursor, False)
        following = max(offset, min(offset + limit, total))
        records = tuple(r if isinstance(r, Mapping) else {"record": r} for r in items)
        return Page(records, str(following), following < total)

    def verify(self, request: PushRequest) -> list[Mapping[str, Any]]:
        """The waybills of a signed push ``{"items": [...]}`` (InvalidPush when unacceptable)."""
        secret = self.config.signing_secret
        if not request.secret and secret is not None:
            request = replace(request, secret=secret.get_secret_value().encode())
        verify_signature(request)
        try:
            body = json.loads(request.body)
        except (UnicodeDecodeError, ValueError):
            raise InvalidPush("the push body is not JSON") from None
        items = body.get("items") if isinstance(body, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise InvalidPush('the push body must be {"items": [<waybill object>, ...]}')
        return list(items)

    def normalize(self, record: Mapping[str, Any]) -> Normalized:
        """A waybill as a ``use.e_waybill`` event, or why not (never raises)."""
        try:
            return _location(record) or _waybill(record)
        except BadRecord as exc:
            return malformed(record, str(exc), ID, ACCOUNT)
        except (ArithmeticError, LookupError, TypeError, ValueError, RecursionError) as exc:
            return malformed(record, f"unreadable record ({type(exc).__name__})", ID, ACCOUNT)


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isascii() or not cursor.isdigit():
        raise ProviderRefused(f"cursor {cursor!r} is not a waybill offset")
    return int(cursor)


def _location(record: Any) -> RecordRejection | None:
    """Location data (addresses' coordinates, a courier's track) is refused first."""
    if isinstance(record, Mapping):
        return reject_location(record, ID, ACCOUNT)
    if location_fields(record):
        return RecordRejection("location_data", "the record carries location data")
    return None


def _identifier(record: Mapping[str, Any], name: str) -> str:
    value = text(record, name)
    if len(value) > MAX_ID_LENGTH:
        raise BadRecord(f"{name} is longer than {MAX_ID_LENGTH} characters")
    return value


def _waybill(record: Any) -> Normalized:
    if not isinstance(record, Mapping):
        return malformed(record, "", ID, ACCOUNT)
    waybill_no, receiver = _identifier(record, ID), _identifier(record, ACCOUNT)
    signed = epoch(record, "signed_at", millis=True)
    electronic, pieces = record.get("electronic"), record.get("pieces")
    if not isinstance(electronic, bool):
        raise BadRecord("electronic must be true or false")
    if isinstance(pieces, bool) or not isinstance(pieces, int) or not 1 <= pieces <= MAX_PIECES:
        raise BadRecord(f"pieces must be an integer from 1 to {MAX_PIECES}")
    if not electronic:
        detail = "a paper waybill (only electronic waybills are this behaviour)"
        return RecordRejection("not_covered", detail, waybill_no, receiver)
    return ProviderEvent(
        external_id=waybill_no,
        account=receiver,
        behaviour=BEHAVIOUR,
        occurred_at=signed.astimezone(UTC),
        measures={"waybill": Decimal(1)},
        reference=waybill_no,
    )
