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

ID, ACCOUNT = "trip_id", "card_holder"
MAX_LIMIT = 500
MAX_ID_LENGTH = 200
MAX_CURSOR_LENGTH = 1000
MAX_TRIP_KM = Decimal(1000)  # beyond any city trip, an absurd value
MODES = {"metro": "transport.metro", "bus": "transport.bus"}


class TransitConnector:
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

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http
        self.base_url = config.base_url.rstrip("/")

    def oauth(self) -> ProviderOAuth:
        """The operator's OAuth endpoints; carbonhub asks to read trips."""
        return ProviderOAuth(
            authorize_url=f"{self.base_url}/oauth/authorize",
            token_url=f"{self.base_url}/oauth/token",
            scope="trips:read",
        )

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
        records = tuple(r if isinstance(r, Mapping) else {"record": r} for r in trips)
        return Page(records, following, has_more)

    def verify(self, request: PushRequest) -> list[Mapping[str, Any]]:
        """The operator does not push: trips are only pulled."""
        raise NotImplementedError("the transit connector is pull-only")

    def normalize(self, record: Mapping[str, Any]) -> Normalized:
        """A trip as a ``transport.metro``/``transport.bus`` event, or why not (never raises)."""
        try:
            return _location(record) or _trip(record)
        except BadRecord as exc:
            return malformed(record, str(exc), ID, ACCOUNT)
        except (ArithmeticError, LookupError, TypeError, ValueError, RecursionError) as exc:
            return malformed(record, f"unreadable record ({type(exc).__name__})", ID, ACCOUNT)


def _location(record: Any) -> RecordRejection | None:
    """Location data (stations' coordinates, a track) is refused before anything else is read."""
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


def _trip(record: Any) -> Normalized:
    if not isinstance(record, Mapping):
        return malformed(record, "", ID, ACCOUNT)
    trip_id, holder = _identifier(record, ID), _identifier(record, ACCOUNT)
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
