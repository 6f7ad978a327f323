"""Records as the four providers send them (the examples of API.md), and location data."""

from __future__ import annotations

from typing import Any

RIDE = {
    "ride_id": "B000001-000003",
    "user_id": "B000001",
    "started_at": "2023-06-15T08:01:02+08:00",
    "ended_at": "2023-06-15T08:17:40+08:00",
    "distance_m": 3120,
    "vehicle": "bike",
}
ORDER = {
    "order_no": "T000001-000001",
    "uid": "T000001",
    "paid_at": 1686790000,
    "tableware": "none",
    "status": "completed",
}
WAYBILL = {
    "waybill_no": "L000001-000001",
    "receiver_id": "L000001",
    "signed_at": 1686790000123,
    "electronic": True,
    "pieces": 3,
}
TRIP = {
    "trip_id": "M000001-000001",
    "card_holder": "M000001",
    "mode": "metro",
    "tap_in": "2023-06-15T00:10:00Z",
    "tap_out": "2023-06-15T00:31:00Z",
    "distance_km": "8.4",
}
GOOD: dict[str, dict[str, Any]] = {
    "bikeshare": RIDE,
    "takeaway": ORDER,
    "logistics": WAYBILL,
    "transit": TRIP,
}
LOCATIONS: list[dict[str, Any]] = [
    {"lat": 39.9087, "lng": 116.3975},
    {"start_location": {"latitude": "39.9087", "longitude": "116.3975"}},
    {"trajectory": [[116.3975, 39.9087], [116.4012, 39.9120]]},
    {"extra": {"track": [{"lat": 39.9, "lng": 116.4}]}},
    {"polyline": "_p~iF~ps|U_ulLnnqC"},
]
