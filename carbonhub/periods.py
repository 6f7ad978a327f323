"""Reporting periods and local days.

Timestamps are stored in UTC; days, months and caps are counted in the programme's time zone.
A :class:`Period` is a closed range of local dates, written the way people write them:
``2023``, ``2023-Q3``, ``2023-07``, ``2023-W27``, ``2023-07-15`` or ``2023-07-01..2023-07-15``.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from carbonhub.errors import InvalidInput

ACCEPTED_FORMS = (
    "YYYY (2023), YYYY-Qn (2023-Q3), YYYY-MM (2023-07), YYYY-Www (2023-W27), "
    "YYYY-MM-DD (2023-07-15), or from/to dates (2023-07-01..2023-07-15)"
)

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$", re.IGNORECASE)
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*(?:\.\.|/)\s*(\d{4}-\d{2}-\d{2})$")

MAX_PERIOD_DAYS = 3660


class Interval(StrEnum):
    """The step of a time series."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Period:
    """A closed range of local dates ``start..end`` (both included)."""

    start: date
    end: date
    label: str

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidInput(f"period {self.label!r} ends before it starts")
        if (self.end - self.start).days >= MAX_PERIOD_DAYS:
            raise InvalidInput(f"period {self.label!r} is longer than ten years")

    @property
    def days(self) -> int:
        """Number of local days in the period."""
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        """Whether ``day`` falls inside the period."""
        return self.start <= day <= self.end

    def buckets(self, interval: Interval) -> Iterator[Period]:
        """Split the period into consecutive day, ISO week or calendar month buckets.

        The first and last bucket are clipped to the period, so the buckets tile it exactly.
        """
        cursor = self.start
        while cursor <= self.end:
            if interval is Interval.DAY:
                bucket_end = cursor
                label = cursor.isoformat()
            elif interval is Interval.WEEK:
                bucket_end = cursor + timedelta(days=6 - cursor.weekday())
                iso = cursor.isocalendar()
                label = f"{iso.year}-W{iso.week:02d}"
            else:
                last = calendar.monthrange(cursor.year, cursor.month)[1]
                bucket_end = cursor.replace(day=last)
                label = f"{cursor.year}-{cursor.month:02d}"
            bucket_end = min(bucket_end, self.end)
            yield Period(cursor, bucket_end, label)
            cursor = bucket_end + timedelta(days=1)


def parse_period(
    text: str | None = None, *, start: date | None = None, end: date | None = None
) -> Period:
    """Parse a period written as text, or given as explicit ``start``/``end`` dates.

    Raises :class:`InvalidInput` naming the accepted forms when the text is malformed.
    """
    if text is None or not text.strip():
        if start is None or end is None:
            raise InvalidInput(f"give a period: one of {ACCEPTED_FORMS}")
        try:
            return Period(start, end, f"{start.isoformat()}..{end.isoformat()}")
        except InvalidInput as exc:
            raise InvalidInput(f"{exc}: use one of {ACCEPTED_FORMS}") from None
    if start is not None or end is not None:
        raise InvalidInput(f"give either a period or from/to dates, not both: {ACCEPTED_FORMS}")
    try:
        return _parse_text(text.strip())
    except ValueError:
        raise InvalidInput(f"malformed period {text!r}: use one of {ACCEPTED_FORMS}") from None
    except InvalidInput as exc:
        raise InvalidInput(f"{exc}: use one of {ACCEPTED_FORMS}") from None


def _parse_text(text: str) -> Period:
    if m := _YEAR.match(text):
        year = int(m[1])
        return Period(date(year, 1, 1), date(year, 12, 31), text)
    if m := _QUARTER.match(text):
        year, quarter = int(m[1]), int(m[2])
        first_month = 3 * (quarter - 1) + 1
        last_month = first_month + 2
        last_day = calendar.monthrange(year, last_month)[1]
        return Period(date(year, first_month, 1), date(year, last_month, last_day), text.upper())
    if m := _MONTH.match(text):
        year, month = int(m[1]), int(m[2])
        last_day = calendar.monthrange(year, month)[1]  # raises ValueError on month 13
        return Period(date(year, month, 1), date(year, month, last_day), text)
    if m := _WEEK.match(text):
        monday = date.fromisocalendar(int(m[1]), int(m[2]), 1)
        return Period(monday, monday + timedelta(days=6), text.upper())
    if m := _DAY.match(text):
        day = date.fromisoformat(text)
        return Period(day, day, text)
    if m := _RANGE.match(text):
        return Period(date.fromisoformat(m[1]), date.fromisoformat(m[2]), f"{m[1]}..{m[2]}")
    raise ValueError(text)


def ensure_utc(moment: datetime) -> datetime:
    """Return ``moment`` in UTC; naive datetimes are refused, never guessed."""
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise InvalidInput(f"timestamp {moment.isoformat()} has no time zone")
    return moment.astimezone(UTC)


def local_date(moment: datetime, zone: ZoneInfo) -> date:
    """The calendar date of ``moment`` in the programme's time zone."""
    return ensure_utc(moment).astimezone(zone).date()


def local_day_start(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which local ``day`` begins."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def month_of(day: date) -> tuple[date, date]:
    """First and last date of the calendar month containing ``day``."""
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)
