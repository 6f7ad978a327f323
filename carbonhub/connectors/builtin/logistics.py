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

from collections.abc import Mapping
from datetime import UTC
from decimal import Decimal
from typing import Any, ClassVar

from carbonhub.connectors.base import (
    ConnectorInfo,
    Normalized,
    Page,
    ProviderAccount,
    ProviderConfig,
    ProviderEvent,
    ProviderRefused,
    RecordRejection,
)
from carbonhub.connectors.http import request_json
from carbonhub.connectors.provider import ProviderConnector, page_records
from carbonhub.connectors.records import (
    BadRecord,
    epoch,
    identifier,
)

ID, ACCOUNT = "waybill_no", "receiver_id"
MAX_LIMIT = 500
MAX_PIECES = 10_000
BEHAVIOUR = "use.e_waybill"


class LogisticsConnector(ProviderConnector):
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
    scope = "waybills:read"
    id_field, account_field = ID, ACCOUNT
    push_list, push_item = "items", "waybill"

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
        records = page_records(items)
        return Page(records, str(following), following < total)

    def read(self, record: Mapping[str, Any]) -> Normalized:
        """One waybill (an object) as an event or a rejection."""
        return _waybill(record)


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isascii() or not cursor.isdigit():
        raise ProviderRefused(f"cursor {cursor!r} is not a waybill offset")
    return int(cursor)


def _waybill(record: Mapping[str, Any]) -> Normalized:
    waybill_no, receiver = identifier(record, ID), identifier(record, ACCOUNT)
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
