"""The transit card provider: ``GET /api/trips?cursor=&limit=`` (see API.md).

Card holders ride the metro (25-40 km/h door to door) and buses (12-22 km/h) at commuting
hours; many do both. Taps are in UTC; ``next_cursor`` is opaque to the client.
"""

from __future__ import annotations

import base64
import binascii
import random
import re
from datetime import timedelta

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from carbonhub.connectors.simulators.faults import Breakage
from carbonhub.connectors.simulators.framework import (
    BadParameter,
    ProviderSpec,
    Simulator,
    bad_request,
    int_param,
    json_response,
)
from carbonhub.connectors.simulators.history import (
    Record,
    daily_count,
    local_days,
    maybe,
    trip_km,
    trip_starts,
    utc_z,
    weekend,
)
from carbonhub.connectors.simulators.options import SimulatorOptions

MAX_LIMIT = 500
CURSOR = re.compile(r"^v1:(\d{1,9})$")


def encode_cursor(position: int) -> str:
    """The opaque cursor of a position: url-safe base64 of ``v1:<position>`` without padding."""
    return base64.urlsafe_b64encode(f"v1:{position}".encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str) -> int:
    """The position a cursor stands for (raises BadParameter on anything else)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise BadParameter("cursor is not one this API issued") from None
    match = CURSOR.match(raw)
    if match is None:
        raise BadParameter("cursor is not one this API issued")
    return int(match.group(1))


def generate(
    rng: random.Random, account: str, options: SimulatorOptions
) -> list[tuple[float, Record]]:
    """An account's metro and bus trips over the season, each visible once tapped out."""
    metro_rate = maybe(rng, 0.8, 0.3, 1.6) * options.activity
    bus_rate = maybe(rng, 0.5, 0.1, 0.8) * options.activity
    metro_km, bus_km = rng.uniform(4.0, 25.0), rng.uniform(2.0, 10.0)
    dated: list[tuple[float, Record]] = []
    for day in local_days(options):
        factor = 0.5 if weekend(day) else 1.0
        modes = ["metro"] * daily_count(rng, metro_rate * factor)
        modes += ["bus"] * daily_count(rng, bus_rate * factor)
        if not modes:
            continue
        rng.shuffle(modes)
        trips = []
        for mode in modes:
            if mode == "metro":
                km, speed = trip_km(rng, metro_km, 1.0, 60.0), rng.uniform(25, 40)
            else:
                km, speed = trip_km(rng, bus_km, 0.5, 35.0), rng.uniform(12, 22)
            trips.append((mode, round(km, 1), max(120, int(km / speed * 3600))))
        starts = trip_starts(rng, day, [duration for _, _, duration in trips])
        for start, (mode, km, duration) in zip(starts, trips, strict=True):
            end = start + timedelta(seconds=duration)
            record: Record = {
                "trip_id": None,
                "card_holder": account,
                "mode": mode,
                "tap_in": utc_z(start),
                "tap_out": utc_z(end),
                "distance_km": f"{km:.1f}",
            }
            dated.append((end.timestamp(), record))
    return dated


SPEC = ProviderSpec(
    slug="transit",
    name="transit card",
    letter="M",
    scope="trips:read",
    breakage=Breakage(
        id_field="trip_id",
        fields=("card_holder", "mode", "tap_in", "tap_out", "distance_km"),
        bad_values={
            "tap_in": ("2023-06-15T00:10:00", "0", "15/06/2023 08:10", 1686790000),
            "tap_out": ("soon", "2023-06-15T25:00:00Z"),
            "distance_km": ("-3.5", "0", "1e9", "NaN", "eight"),
        },
    ),
    generate=generate,
)


def create_app(options: SimulatorOptions) -> Starlette:
    """The transit simulator's app."""
    simulator = Simulator(SPEC, options)

    async def trips(request: Request) -> Response:
        account = await simulator.admit(request)
        if isinstance(account, Response):
            return account
        cursor = request.query_params.get("cursor") or None
        try:
            since = 0 if cursor is None else decode_cursor(cursor)
            limit = int_param(request.query_params.get("limit"), "limit", 100, 1, MAX_LIMIT)
        except BadParameter as exc:
            return bad_request(str(exc))
        records, visible = simulator.visible(account)
        page = records[since : min(since + limit, visible)] if since < visible else ()
        last = since + len(page)
        return json_response(
            {
                "trips": simulator.sent(page),
                "next_cursor": encode_cursor(last),
                "has_more": last < visible,
            }
        )

    return simulator.app([Route("/api/trips", trips)])
