"""The takeaway provider: ``GET /open/api/orders?page=&page_size=`` (see API.md).

Only orders that asked for no disposable tableware are listed, around meal times; about 2 % of
them were cancelled after payment. Pages are in time order and only ever grow at the end.
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
    MEAL_HOURS,
    MEAL_WEIGHTS,
    Record,
    daily_count,
    local_days,
    maybe,
    moment,
)
from carbonhub.connectors.simulators.options import SimulatorOptions

MAX_PAGE_SIZE = 200
CANCELLED_SHARE = 0.02


def generate(
    rng: random.Random, account: str, options: SimulatorOptions
) -> list[tuple[float, Record]]:
    """An account's no-tableware orders over the season, each visible once paid."""
    rate = maybe(rng, 0.8, 0.05, 0.6) * options.activity
    dated: list[tuple[float, Record]] = []
    for day in local_days(options):
        times = sorted(
            moment(rng, day, MEAL_HOURS, MEAL_WEIGHTS) for _ in range(daily_count(rng, rate))
        )
        for i, paid in enumerate(times):
            if i and paid <= times[i - 1]:
                paid = times[i - 1] + timedelta(seconds=rng.randrange(60, 3600))
                times[i] = paid
            status = "cancelled" if rng.random() < CANCELLED_SHARE else "completed"
            record: Record = {
                "order_no": None,
                "uid": account,
                "paid_at": int(paid.timestamp()),
                "tableware": "none",
                "status": status,
            }
            dated.append((paid.timestamp(), record))
    return dated


SPEC = ProviderSpec(
    slug="takeaway",
    name="takeaway",
    letter="T",
    scope="orders:read",
    breakage=Breakage(
        id_field="order_no",
        fields=("uid", "paid_at", "tableware", "status"),
        bad_values={
            "paid_at": ("2023-06-15T12:00:00+08:00", "1686790000", 1686790000.5, 10**15, -(10**15)),
            "status": ("", "unknown", 0),
            "tableware": (0, ""),
        },
    ),
    generate=generate,
)


def create_app(options: SimulatorOptions) -> Starlette:
    """The takeaway simulator's app."""
    simulator = Simulator(SPEC, options)

    async def orders(request: Request) -> Response:
        account = await simulator.admit(request)
        if isinstance(account, Response):
            return account
        try:
            page = int_param(request.query_params.get("page"), "page", 1, 1)
            size = int_param(
                request.query_params.get("page_size"), "page_size", 50, 1, MAX_PAGE_SIZE
            )
        except BadParameter as exc:
            return bad_request(str(exc))
        records, visible = simulator.visible(account)
        first = (page - 1) * size
        chunk = records[first : min(first + size, visible)] if first < visible else ()
        data = {
            "orders": simulator.sent(chunk),
            "page": page,
            "page_size": size,
            "total_pages": -(-visible // size),
        }
        return json_response({"code": 0, "data": data})

    return simulator.app([Route("/open/api/orders", orders)])
