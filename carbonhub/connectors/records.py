"""Helpers for connectors' ``normalize``: reading provider fields, refusing location data.

Movement data is sensitive personal information (PIPL art. 28): connectors deliver quantified
activity only. :func:`location_fields` finds coordinates or trajectories anywhere in a record so
that ``normalize`` can reject it (reason ``location_data``) before anything is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from carbonhub.connectors.base import RecordRejection

LOCATION_KEYS = frozenset(
    {
        "lat", "lng", "lon", "long", "latitude", "longitude", "coordinates", "coords",
        "geometry", "geojson", "path", "polyline", "track", "trajectory", "gps", "waypoints",
        "route_points", "start_location", "end_location", "location", "position",
    }
)  # fmt: skip


class BadRecord(ValueError):
    """A record field is missing or unreadable (turned into a ``malformed`` rejection)."""


def location_fields(record: Any, prefix: str = "") -> list[str]:
    """The paths of every field in ``record`` (nested too) that holds location data."""
    found: list[str] = []
    if isinstance(record, Mapping):
        for key, value in record.items():
            path = f"{prefix}{key}"
            if str(key).lower() in LOCATION_KEYS and value not in (None, "", [], {}):
                found.append(path)
            else:
                found.extend(location_fields(value, path + "."))
    elif isinstance(record, list | tuple):
        for index, value in enumerate(record):
            found.extend(location_fields(value, f"{prefix}{index}."))
    return found


def reject_location(
    record: Mapping[str, Any], id_field: str, account_field: str
) -> RecordRejection | None:
    """A ``location_data`` rejection when the record carries coordinates or a track, else None."""
    paths = location_fields(record)
    if not paths:
        return None
    return RecordRejection(
        "location_data",
        f"the record carries location data ({', '.join(paths[:5])}); only quantified activity is accepted",
        external_id=_optional_text(record.get(id_field)),
        account=_optional_text(record.get(account_field)),
    )


def malformed(record: Any, detail: str, id_field: str, account_field: str) -> RecordRejection:
    """A ``malformed`` rejection naming what was wrong (ids kept when the record had them)."""
    if not isinstance(record, Mapping):
        return RecordRejection(
            "malformed", f"a record must be an object, not {type(record).__name__}"
        )
    return RecordRejection(
        "malformed",
        detail,
        external_id=_optional_text(record.get(id_field)),
        account=_optional_text(record.get(account_field)),
    )


def text(record: Mapping[str, Any], name: str) -> str:
    """A required non-empty text field (numbers are accepted as ids)."""
    value = record.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise BadRecord(f"{name} must be a non-empty string")
    return str(value).strip()


def identifier(record: Mapping[str, Any], name: str, max_length: int = 200) -> str:
    """A required id (text or integer) of at most ``max_length`` characters (the id columns)."""
    value = text(record, name)
    if len(value) > max_length:
        raise BadRecord(f"{name} is longer than {max_length} characters")
    return value


def number(record: Mapping[str, Any], name: str) -> Decimal:
    """A required finite number (JSON number or numeric string)."""
    value = record.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadRecord(f"{name} must be a number")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise BadRecord(f"{name} {value!r} is not a number") from None
    if not result.is_finite():
        raise BadRecord(f"{name} {value!r} is not finite")
    return result


def instant(record: Mapping[str, Any], name: str) -> datetime:
    """A required ISO 8601 timestamp with an offset, as an aware datetime."""
    value = record.get(name)
    if not isinstance(value, str):
        raise BadRecord(f"{name} must be an ISO 8601 timestamp")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadRecord(f"{name} {value!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BadRecord(f"{name} {value!r} has no time zone offset")
    return moment


def epoch(record: Mapping[str, Any], name: str, *, millis: bool = False) -> datetime:
    """A required Unix timestamp (seconds, or milliseconds when ``millis``) as a UTC datetime."""
    value = record.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRecord(f"{name} must be an integer Unix timestamp")
    try:
        return datetime.fromtimestamp(value / 1000 if millis else value, UTC)
    except (OverflowError, OSError, ValueError):
        raise BadRecord(f"{name} {value} is out of range") from None


def _optional_text(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()[:200]
    return None
