"""``normalize`` of each built-in connector on good and bad records (no provider needed)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from carbonhub.connectors.base import ProviderEvent, RecordRejection
from tests.connectors.builtin.samples import GOOD, LOCATIONS, ORDER, RIDE, TRIP, WAYBILL
from tests.connectors.builtin.support import PROVIDER_SLUGS, offline


def rejection(provider: str, record: Any) -> RecordRejection:
    """The connector's answer, which must be a rejection."""
    result = offline(provider).normalize(record)
    assert isinstance(result, RecordRejection), result
    return result


def event(provider: str, record: Any) -> ProviderEvent:
    """The connector's answer, which must be an event."""
    result = offline(provider).normalize(record)
    assert isinstance(result, ProviderEvent), result
    return result


def changed(provider: str, **fields: Any) -> dict[str, Any]:
    """The provider's good record with some fields changed."""
    return {**GOOD[provider], **fields}


def without(provider: str, name: str) -> dict[str, Any]:
    """The provider's good record without one field."""
    return {k: v for k, v in GOOD[provider].items() if k != name}


def test_a_ride_is_a_bike_share_event_in_exact_kilometres() -> None:
    ride = event("bikeshare", RIDE)

    assert ride == ProviderEvent(
        external_id="B000001-000003",
        account="B000001",
        behaviour="transport.bike_share",
        occurred_at=datetime(2023, 6, 15, 0, 1, 2, tzinfo=UTC),
        measures={"km": Decimal("3.120"), "ride": Decimal(1)},
        duration_s=998,
    )


def test_a_ride_of_one_metre_is_one_thousandth_of_a_kilometre() -> None:
    ride = event("bikeshare", changed("bikeshare", distance_m=1))

    assert ride.measures["km"] == Decimal("0.001")


def test_an_e_bike_ride_is_not_covered() -> None:
    refused = rejection("bikeshare", changed("bikeshare", vehicle="ebike"))

    assert (refused.reason, refused.external_id, refused.account) == (
        "not_covered",
        "B000001-000003",
        "B000001",
    )


def test_an_order_without_tableware_is_one_order_referenced_by_its_number() -> None:
    order = event("takeaway", ORDER)

    assert order == ProviderEvent(
        external_id="T000001-000001",
        account="T000001",
        behaviour="food.no_utensils",
        occurred_at=datetime.fromtimestamp(1686790000, UTC),
        measures={"order": Decimal(1)},
        reference="T000001-000001",
    )


def test_a_cancelled_order_is_refused_as_cancelled() -> None:
    assert rejection("takeaway", changed("takeaway", status="cancelled")).reason == "cancelled"


def test_an_order_that_asked_for_tableware_is_not_green() -> None:
    assert rejection("takeaway", changed("takeaway", tableware="standard")).reason == "not_green"


def test_a_waybill_is_one_waybill_whatever_its_pieces() -> None:
    waybill = event("logistics", WAYBILL)

    assert waybill == ProviderEvent(
        external_id="L000001-000001",
        account="L000001",
        behaviour="use.e_waybill",
        occurred_at=datetime(2023, 6, 15, 0, 46, 40, 123000, tzinfo=UTC),
        measures={"waybill": Decimal(1)},
        reference="L000001-000001",
    )


def test_a_paper_waybill_is_not_covered() -> None:
    assert rejection("logistics", changed("logistics", electronic=False)).reason == "not_covered"


def test_a_metro_trip_is_a_metro_ride_with_its_distance_and_duration() -> None:
    trip = event("transit", TRIP)

    assert trip == ProviderEvent(
        external_id="M000001-000001",
        account="M000001",
        behaviour="transport.metro",
        occurred_at=datetime(2023, 6, 15, 0, 10, tzinfo=UTC),
        measures={"km": Decimal("8.4"), "ride": Decimal(1)},
        duration_s=1260,
    )


def test_a_bus_trip_is_a_bus_ride() -> None:
    assert event("transit", changed("transit", mode="bus")).behaviour == "transport.bus"


def test_a_trip_by_another_mode_is_not_covered() -> None:
    assert rejection("transit", changed("transit", mode="taxi")).reason == "not_covered"


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
@pytest.mark.parametrize("location", LOCATIONS)
def test_a_record_with_coordinates_or_a_track_is_refused_as_location_data(
    provider: str, location: dict[str, Any]
) -> None:
    refused = rejection(provider, {**GOOD[provider], **location})

    assert refused.reason == "location_data"


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_location_data_is_refused_before_anything_else_is_read(provider: str) -> None:
    record = {**LOCATIONS[0], "status": "cancelled", "vehicle": "ebike", "mode": "taxi"}

    assert rejection(provider, record).reason == "location_data"


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
def test_a_list_carrying_a_track_is_refused_as_location_data(provider: str) -> None:
    assert rejection(provider, [LOCATIONS[2]]).reason == "location_data"


@pytest.mark.parametrize(
    ("provider", "record"),
    [
        ("bikeshare", without("bikeshare", "ended_at")),
        ("bikeshare", changed("bikeshare", started_at="2023-06-15T08:01:02")),
        ("bikeshare", changed("bikeshare", started_at="yesterday")),
        ("bikeshare", changed("bikeshare", distance_m=-1250)),
        ("bikeshare", changed("bikeshare", distance_m=10**9)),
        ("bikeshare", changed("bikeshare", distance_m=[3120])),
        ("bikeshare", changed("bikeshare", ended_at="2023-06-15T07:59:00+08:00")),
        ("bikeshare", changed("bikeshare", vehicle=None)),
        ("bikeshare", changed("bikeshare", ride_id="x" * 201)),
        ("takeaway", without("takeaway", "uid")),
        ("takeaway", changed("takeaway", paid_at="2023-06-15T12:00:00+08:00")),
        ("takeaway", changed("takeaway", paid_at=10**15)),
        ("takeaway", changed("takeaway", status="unknown")),
        ("takeaway", changed("takeaway", order_no={"value": "T1"})),
        ("logistics", without("logistics", "pieces")),
        ("logistics", changed("logistics", electronic="true")),
        ("logistics", changed("logistics", pieces=0)),
        ("logistics", changed("logistics", pieces=10**8)),
        ("logistics", changed("logistics", signed_at=1.5e12)),
        ("transit", without("transit", "tap_out")),
        ("transit", changed("transit", distance_km="NaN")),
        ("transit", changed("transit", distance_km="-3.5")),
        ("transit", changed("transit", distance_km="1e9")),
        ("transit", changed("transit", tap_out="2023-06-15T00:05:00Z")),
        ("transit", changed("transit", tap_in="0001-01-01T00:00:00+14:00")),
        ("transit", changed("transit", mode=["metro"])),
    ],
)
def test_an_unreadable_record_is_malformed_and_keeps_its_ids(
    provider: str, record: dict[str, Any]
) -> None:
    refused = rejection(provider, record)

    assert refused.reason == "malformed"
    assert refused.detail


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
@pytest.mark.parametrize("record", [None, "B000001-000001", 42, [], [RIDE], {}])
def test_something_that_is_not_a_record_is_malformed(provider: str, record: Any) -> None:
    assert rejection(provider, record).reason == "malformed"


def test_a_malformed_records_ids_are_kept_for_the_quarantine() -> None:
    refused = rejection("transit", changed("transit", distance_km="eight"))

    assert (refused.external_id, refused.account) == ("M000001-000001", "M000001")
