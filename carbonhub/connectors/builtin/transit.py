"""The transit connector: metro and bus trips pulled from the card operator's ``GET /api/trips``.

A trip becomes ``transport.metro`` or ``transport.bus`` with its distance (km), one ride and its
duration (tap-in to tap-out). Other modes are ``not_covered``; records carrying coordinates or
tracks are refused first (``location_data``). The cursor is the operator's opaque
``next_cursor``, passed back as given.
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
    identifier,
    instant,
    number,
    text,
)

ID, ACCOUNT = "trip_id", "card_holder"
MAX_LIMIT = 500
MAX_CURSOR_LENGTH = 1000
MAX_TRIP_KM = Decimal(1000)  # beyond any city trip, an absurd value
MODES = {"metro": "transport.metro", "bus": "transport.bus"}


class TransitConnector(ProviderConnector):
    """Pulls a linked card holder's metro and bus trips and normalises them."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        slug="transit",
        name="Transit card",
        version="1.0.0",
        behaviours=frozenset(MODES.values()),
        categories=frozenset({"transport"}),
        pull=True,
        push=False,
        config_model=ProviderConfig,
        description="Metro and bus trips (distance, duration) from the transit card operator.",
    )
    scope = "trips:read"
    id_field, account_field = ID, ACCOUNT

    async def fetch(self, account: ProviderAccount, cursor: str | None) -> Page:
        """The trips after ``cursor`` (None: from the first trip) and the cursor to resume at."""
        params: dict[str, str | int] = {"limit": max(1, min(self.config.page_size, MAX_LIMIT))}
        if cursor is not None:
            params["cursor"] = cursor
        body = await request_json(
            self.http,
            "GET",
            f"{self.base_url}/api/trips",
            token=account.access_token,
            timeout_s=self.config.timeout_s,
            params=params,
        )
        if not isinstance(body, Mapping):
            raise ProviderRefused("the trips answer is not an object")
        trips, following, has_more = (
            body.get("trips"),
            body.get("next_cursor"),
            body.get("has_more"),
        )
        if (
            not isinstance(trips, list)
            or not isinstance(following, str)
            or not 0 < len(following) <= MAX_CURSOR_LENGTH
            or not isinstance(has_more, bool)
        ):
            raise ProviderRefused("the trips answer lacks trips, next_cursor or has_more")
        if not trips:
            return Page((), cursor, False)
        records = page_records(trips)
        return Page(records, following, has_more)

    def read(self, record: Mapping[str, Any]) -> Normalized:
        """One record (an object) as an event or a rejection."""
        return _trip(record)


def _trip(record: Mapping[str, Any]) -> Normalized:
    trip_id, holder = identifier(record, ID), identifier(record, ACCOUNT)
    mode = text(record, "mode")
    tap_in, tap_out = instant(record, "tap_in"), instant(record, "tap_out")
    km = number(record, "distance_km")
    if not 0 < km <= MAX_TRIP_KM:
        raise BadRecord(f"distance_km {km} is not a trip's distance")
    duration = int((tap_out - tap_in).total_seconds())
    if duration <= 0:
        raise BadRecord("tap_out is not after tap_in")
    behaviour = MODES.get(mode)
    if behaviour is None:
        detail = f"mode {mode[:40]!r} is neither metro nor bus"
        return RecordRejection("not_covered", detail, trip_id, holder)
    return ProviderEvent(
        external_id=trip_id,
        account=holder,
        behaviour=behaviour,
        occurred_at=tap_in.astimezone(UTC),
        measures={"km": km, "ride": Decimal(1)},
        duration_s=duration,
    )
