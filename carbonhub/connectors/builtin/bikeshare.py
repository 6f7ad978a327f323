"""The bike-share connector: shared-bike rides pulled from the operator's ``GET /v1/rides``.

A ride becomes ``transport.bike_share`` with its distance (km, exact from metres), one ride and
its duration (for the speed plausibility check downstream). E-bike rides are not the pedal-bike
behaviour (``not_covered``); records carrying coordinates or tracks are refused first
(``location_data``). The cursor is the position of the last ride seen (``since_id``).
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

ID, ACCOUNT = "ride_id", "user_id"
MAX_LIMIT = 500
MAX_RIDE_M = Decimal(1_000_000)  # 1,000 km: beyond any ride, an absurd value
BEHAVIOUR = "transport.bike_share"


class BikeshareConnector(ProviderConnector):
    """Pulls a linked rider's rides from the bike-share operator and normalises them."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        slug="bikeshare",
        name="Bike share",
        version="1.0.0",
        behaviours=frozenset({BEHAVIOUR}),
        categories=frozenset({"transport"}),
        pull=True,
        push=False,
        config_model=ProviderConfig,
        description="Shared-bike rides (distance, duration) from the operator's rides API.",
    )
    scope = "rides:read"
    id_field, account_field = ID, ACCOUNT

    async def fetch(self, account: ProviderAccount, cursor: str | None) -> Page:
        """The rides after position ``cursor`` (None: from the first ride)."""
        since = _position(cursor)
        body = await request_json(
            self.http,
            "GET",
            f"{self.base_url}/v1/rides",
            token=account.access_token,
            timeout_s=self.config.timeout_s,
            params={"since_id": since, "limit": max(1, min(self.config.page_size, MAX_LIMIT))},
        )
        if not isinstance(body, Mapping):
            raise ProviderRefused("the rides answer is not an object")
        rides, next_since, has_more = (
            body.get("rides"),
            body.get("next_since_id"),
            body.get("has_more"),
        )
        if (
            not isinstance(rides, list)
            or isinstance(next_since, bool)
            or not isinstance(next_since, int)
            or next_since < 0
            or not isinstance(has_more, bool)
        ):
            raise ProviderRefused("the rides answer lacks rides, next_since_id or has_more")
        if not rides:
            return Page((), cursor, False)
        records = page_records(rides)
        return Page(records, str(next_since), has_more)

    def read(self, record: Mapping[str, Any]) -> Normalized:
        """One record (an object) as an event or a rejection."""
        return _ride(record)


def _position(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isascii() or not cursor.isdigit():
        raise ProviderRefused(f"cursor {cursor!r} is not a ride position")
    return int(cursor)


def _ride(record: Mapping[str, Any]) -> Normalized:
    ride_id, rider = identifier(record, ID), identifier(record, ACCOUNT)
    started, ended = instant(record, "started_at"), instant(record, "ended_at")
    metres = number(record, "distance_m")
    vehicle = text(record, "vehicle")
    if not 0 < metres <= MAX_RIDE_M:
        raise BadRecord(f"distance_m {metres} is not a ride's distance")
    duration = int((ended - started).total_seconds())
    if duration <= 0:
        raise BadRecord("ended_at is not after started_at")
    if vehicle != "bike":
        return RecordRejection(
            "not_covered",
            f"vehicle {vehicle[:40]!r} is not a pedal bike (only bike rides are this behaviour)",
            external_id=ride_id,
            account=rider,
        )
    return ProviderEvent(
        external_id=ride_id,
        account=rider,
        behaviour=BEHAVIOUR,
        occurred_at=started.astimezone(UTC),
        measures={"km": metres.scaleb(-3), "ride": Decimal(1)},
        duration_s=duration,
    )
