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

import httpx

from carbonhub.connectors.base import (
    ConnectorInfo,
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
    instant,
    location_fields,
    malformed,
    number,
    reject_location,
    text,
)

ID, ACCOUNT = "ride_id", "user_id"
MAX_LIMIT = 500
MAX_ID_LENGTH = 200
MAX_RIDE_M = Decimal(1_000_000)  # 1,000 km: beyond any ride, an absurd value
BEHAVIOUR = "transport.bike_share"


class BikeshareConnector:
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

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http
        self.base_url = config.base_url.rstrip("/")

    def oauth(self) -> ProviderOAuth:
        """The operator's OAuth endpoints; carbonhub asks to read rides."""
        return ProviderOAuth(
            authorize_url=f"{self.base_url}/oauth/authorize",
            token_url=f"{self.base_url}/oauth/token",
            scope="rides:read",
        )

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
        records = tuple(r if isinstance(r, Mapping) else {"record": r} for r in rides)
        return Page(records, str(next_since), has_more)

    def verify(self, request: PushRequest) -> list[Mapping[str, Any]]:
        """The operator does not push: rides are only pulled."""
        raise NotImplementedError("the bikeshare connector is pull-only")

    def normalize(self, record: Mapping[str, Any]) -> Normalized:
        """A ride as a ``transport.bike_share`` event, or why not (never raises)."""
        try:
            return _location(record) or _ride(record)
        except BadRecord as exc:
            return malformed(record, str(exc), ID, ACCOUNT)
        except (ArithmeticError, LookupError, TypeError, ValueError, RecursionError) as exc:
            return malformed(record, f"unreadable record ({type(exc).__name__})", ID, ACCOUNT)


def _position(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isascii() or not cursor.isdigit():
        raise ProviderRefused(f"cursor {cursor!r} is not a ride position")
    return int(cursor)


def _location(record: Any) -> RecordRejection | None:
    """Location data is refused before anything else is read (PIPL art. 28)."""
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


def _ride(record: Any) -> Normalized:
    if not isinstance(record, Mapping):
        return malformed(record, "", ID, ACCOUNT)
    ride_id, rider = _identifier(record, ID), _identifier(record, ACCOUNT)
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
