"""The logistics provider: ``POST /api/v2/waybills/query`` with ``{"offset", "limit"}`` (see API.md).

Parcels are signed for during the day; about 3 % still travel on a paper waybill (not the
electronic-waybill behaviour), and a few hold more than one piece.
"""

from __future__ import annotations

import random

import orjson
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
from carbonhub.connectors.simulators.history import Record, daily_count, local_days, maybe, moment
from carbonhub.connectors.simulators.options import SimulatorOptions

MAX_LIMIT = 500
PAPER_SHARE = 0.03
DELIVERY_HOURS = (9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20)
DELIVERY_WEIGHTS = (3, 4, 4, 2, 3, 4, 4, 4, 3, 3, 2, 1)


def generate(
    rng: random.Random, account: str, options: SimulatorOptions
) -> list[tuple[float, Record]]:
    """An account's parcels over the season, each visible once signed for."""
    rate = maybe(rng, 0.75, 0.05, 0.4) * options.activity
    dated: list[tuple[float, Record]] = []
    for day in local_days(options):
        count = daily_count(rng, rate)
        times = sorted(moment(rng, day, DELIVERY_HOURS, DELIVERY_WEIGHTS) for _ in range(count))
        for signed in times:
            millis = int(signed.timestamp()) * 1000 + rng.randrange(1000)
            record: Record = {
                "waybill_no": None,
                "receiver_id": account,
                "signed_at": millis,
                "electronic": rng.random() >= PAPER_SHARE,
                "pieces": rng.choices((1, 2, 3), (85, 10, 5))[0],
            }
            dated.append((millis / 1000, record))
    return dated


SPEC = ProviderSpec(
    slug="logistics",
    name="logistics",
    letter="L",
    scope="waybills:read",
    breakage=Breakage(
        id_field="waybill_no",
        fields=("receiver_id", "signed_at", "electronic", "pieces"),
        bad_values={
            "signed_at": ("2023-06-15 10:00", "1686790000000", 1.5e12, 10**19, -(10**18)),
            "electronic": ("yes", 1, "true"),
            "pieces": (-1, 0, 10**8, "many", 1.5),
        },
    ),
    generate=generate,
)


def create_app(options: SimulatorOptions) -> Starlette:
    """The logistics simulator's app."""
    simulator = Simulator(SPEC, options)

    async def query(request: Request) -> Response:
        account = await simulator.admit(request)
        if isinstance(account, Response):
            return account
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return bad_request("the body must be JSON")
        if not isinstance(body, dict):
            return bad_request('the body must be an object {"offset": ..., "limit": ...}')
        try:
            offset = int_param(body.get("offset"), "offset", 0, 0, strict=True)
            limit = int_param(body.get("limit"), "limit", 100, 1, MAX_LIMIT, strict=True)
        except BadParameter as exc:
            return bad_request(str(exc))
        records, visible = simulator.visible(account)
        items = records[offset : min(offset + limit, visible)] if offset < visible else ()
        return json_response({"total": visible, "offset": offset, "items": simulator.sent(items)})

    return simulator.app([Route("/api/v2/waybills/query", query, methods=["POST"])])
