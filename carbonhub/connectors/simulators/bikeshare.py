"""The bike-share provider: ``GET /v1/rides?since_id=&limit=`` (see API.md).

Riders commute by shared bike at 9-16 km/h over a few kilometres; some also take e-bikes (not a
pedal-bike behaviour), and about 0.3 % of rides are implausibly fast (40-60 km/h: a scooter or a
car), as real data has.
"""

from __future__ import annotations

import random
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
    weekend,
)
from carbonhub.connectors.simulators.options import SimulatorOptions

MAX_LIMIT = 500
IMPLAUSIBLE_SHARE = 0.003


def generate(
    rng: random.Random, account: str, options: SimulatorOptions
) -> list[tuple[float, Record]]:
    """An account's rides over the season, each visible once it has ended."""
    rate = maybe(rng, 0.85, 0.15, 1.3) * options.activity
    typical_km = rng.uniform(1.2, 4.5)
    ebike_share = maybe(rng, 0.3, 0.05, 0.35)
    dated: list[tuple[float, Record]] = []
    for day in local_days(options):
        count = daily_count(rng, rate * (0.5 if weekend(day) else 1.0))
        if not count:
            continue
        rides = []
        for _ in range(count):
            km = trip_km(rng, typical_km, 0.3, 25.0)
            ebike = rng.random() < ebike_share
            speed = rng.uniform(14, 22) if ebike else rng.uniform(9, 16)
            if rng.random() < IMPLAUSIBLE_SHARE:
                speed = rng.uniform(40, 60)
            rides.append((round(km * 1000), max(60, int(km / speed * 3600)), ebike))
        starts = trip_starts(rng, day, [duration for _, duration, _ in rides])
        for start, (metres, duration, ebike) in zip(starts, rides, strict=True):
            end = start + timedelta(seconds=duration)
            record: Record = {
                "ride_id": None,
                "user_id": account,
                "started_at": start.isoformat(timespec="seconds"),
                "ended_at": end.isoformat(timespec="seconds"),
                "distance_m": metres,
                "vehicle": "ebike" if ebike else "bike",
            }
            dated.append((end.timestamp(), record))
    return dated


SPEC = ProviderSpec(
    slug="bikeshare",
    name="bike share",
    letter="B",
    scope="rides:read",
    breakage=Breakage(
        id_field="ride_id",
        fields=("user_id", "started_at", "ended_at", "distance_m", "vehicle"),
        bad_values={
            "started_at": (
                "2023-06-15 8h",
                "yesterday",
                "2023-06-15T08:01:02",
                "2023-13-45T99:00:00+08:00",
            ),
            "ended_at": ("", "1686790000", "2023-02-30T08:00:00+08:00"),
            "distance_m": (-1250, 0, 10**9, "far", 3.5e12),
        },
    ),
    generate=generate,
)


def create_app(options: SimulatorOptions) -> Starlette:
    """The bike-share simulator's app."""
    simulator = Simulator(SPEC, options)

    async def rides(request: Request) -> Response:
        account = await simulator.admit(request)
        if isinstance(account, Response):
            return account
        try:
            since = int_param(request.query_params.get("since_id"), "since_id", 0, 0)
            limit = int_param(request.query_params.get("limit"), "limit", 100, 1, MAX_LIMIT)
        except BadParameter as exc:
            return bad_request(str(exc))
        records, visible = simulator.visible(account)
        page = records[since : min(since + limit, visible)] if since < visible else ()
        last = since + len(page)
        return json_response(
            {"rides": simulator.sent(page), "next_since_id": last, "has_more": last < visible}
        )

    return simulator.app([Route("/v1/rides", rides)])
