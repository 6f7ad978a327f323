"""GreenMiles passes carbonhub's connector conformance suite."""

import json

from carbonhub.connectors.testing import BadSample, ConnectorConformance, GoodSample

from greenmiles_connector import GreenMilesConnector

PURCHASE = {
    "purchase_id": "GM-0017-000042",
    "member_id": "M-1001",
    "bought_at": "2023-07-03T08:12:00+08:00",
    "own_cup": True,
}


class TestGreenMilesConformance(ConnectorConformance):
    connector_class = GreenMilesConnector
    config = {"base_url": "https://api.greenmiles.example"}
    good_samples = (GoodSample(PURCHASE, "use.own_cup"),)
    bad_samples = (
        BadSample({**PURCHASE, "own_cup": False}, "not_green"),
        BadSample({**PURCHASE, "bought_at": "03/07/2023"}, "malformed"),
    )
    push_body = json.dumps({"purchases": [PURCHASE]}).encode()
