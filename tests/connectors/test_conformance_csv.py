"""The csv connector passes the connector conformance suite."""

from __future__ import annotations

from typing import Any

from carbonhub.connectors.builtin.csv import (
    LINE,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    UNIT_COLUMNS,
    CsvConnector,
)
from carbonhub.connectors.testing import BadSample, ConnectorConformance, GoodSample

ANNA = "p_CSVCONFORMANCE0000001"
BO = "p_CSVCONFORMANCE0000002"


def row(line: int, behaviour: str, occurred_at: str, **cells: str) -> dict[str, Any]:
    """A row as read_rows gives it for a file with every column (empty cells are "")."""
    record: dict[str, Any] = dict.fromkeys(
        (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, *UNIT_COLUMNS), ""
    )
    record.update(
        external_id=f"import-{line}", person_id=ANNA, behaviour=behaviour, occurred_at=occurred_at
    )
    record.update(cells)
    record[LINE] = line
    return record


GOOD = [
    (
        "transport.bike_share",
        "2023-07-03T08:05:00+08:00",
        {"km": "3.2", "ride": "1", "duration_s": "900"},
    ),
    ("transport.metro", "2023-07-03T08:40:00+08:00", {"ride": "1", "km": "8.4"}),
    ("transport.bus", "2023-07-03T18:10:00+08:00", {"ride": "1", "business_travel": "true"}),
    ("transport.walk", "2023-07-03T21:00:00+08:00", {"day": "1", "step": "12034"}),
    ("food.no_utensils", "2023-07-03T12:01:00+08:00", {"order": "1", "reference": "T-7781"}),
    ("food.clean_plate", "2023-07-03T12:45:00+08:00", {"meal": "1"}),
    ("food.plant_based_meat", "2023-07-04T12:30:00+08:00", {"meal": "1"}),
    ("housing.water_saving_tap", "2023-07-04T10:00:00+08:00", {"tap": "2"}),
    ("use.e_waybill", "2023-07-04T15:20:00+08:00", {"waybill": "1", "reference": "SF1400"}),
    ("use.own_cup", "2023-07-04T09:10:00Z", {"cup": "1", "person_id": BO}),
    ("office.shared_office", "2023-07-05T09:00:00+08:00", {"day": "1", "person_id": BO}),
    ("digital_finance.e_invoice", "2023-07-05T11:00:00+08:00", {"invoice": "1"}),
    ("digital_finance.offline_payment", "2023-07-05T11:05:00+08:00", {"payment": "1"}),
    ("digital_finance.utility_bill_online", "2023-07-05T20:00:00+08:00", {"bill": "1"}),
    ("digital_finance.e_transfer", "2023-07-05T20:30:00+08:00", {"transfer": "1"}),
]


class TestCsvConformance(ConnectorConformance):
    connector_class = CsvConnector
    good_samples = tuple(
        GoodSample(row(line, behaviour, when, **cells), behaviour)
        for line, (behaviour, when, cells) in enumerate(GOOD, start=2)
    )
    bad_samples = (
        BadSample(row(20, "transport.metro", "2023-07-03 08:40", ride="1"), "malformed"),
        BadSample(
            row(21, "transport.taxi", "2023-07-03T08:40:00+08:00", km="5"), "unknown_behaviour"
        ),
        BadSample(row(22, "food.no_utensils", "2023-07-03T12:00:00+08:00", km="1"), "wrong_unit"),
        BadSample(
            row(23, "use.own_cup", "2023-07-03T09:00:00+08:00", cup="-1"), "non_positive_quantity"
        ),
        BadSample(row(24, "use.own_cup", "2023-07-03T09:00:00+08:00"), "malformed"),
        BadSample(
            {**row(25, "transport.bus", "2023-07-03T09:00:00+08:00", ride="1"), "lat": "39.9"},
            "location_data",
        ),
    )
