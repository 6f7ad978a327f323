"""The predefined periods reports release, and how they nest.

Reports cover calendar partitions only: a year, a quarter, a month or a day (and a programme's
season, which the programme defines once). Arbitrary ranges are refused: two overlapping ranges
that differ by one day would release that day's figures by subtraction, whatever the
suppression of the day itself. The partitions nest day -> month -> quarter -> year, so every
partition but a year has one canonical parent, and complementary suppression is decided within
those canonical groups: the same cell gets the same decision whichever report shows it.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from enum import StrEnum

from carbonhub.errors import InvalidInput
from carbonhub.periods import Period

PREDEFINED = "a year (2023), a quarter (2023-Q3), a month (2023-07) or a day (2023-07-15)"


class Partition(StrEnum):
    """The calendar partitions a report may cover."""

    DAY = "day"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


def day(d: date) -> Period:
    """The one-day partition."""
    return Period(d, d, d.isoformat())


def month(year: int, number: int) -> Period:
    """The calendar month."""
    last = calendar.monthrange(year, number)[1]
    return Period(date(year, number, 1), date(year, number, last), f"{year}-{number:02d}")


def quarter(year: int, number: int) -> Period:
    """The calendar quarter (1-4)."""
    first = month(year, 3 * number - 2)
    last = month(year, 3 * number)
    return Period(first.start, last.end, f"{year}-Q{number}")


def year(number: int) -> Period:
    """The calendar year."""
    return Period(date(number, 1, 1), date(number, 12, 31), str(number))


def partition_of(period: Period) -> Partition | None:
    """Which calendar partition the period is exactly, if any."""
    start, end = period.start, period.end
    if start == end:
        return Partition.DAY
    if start.day != 1 or end + timedelta(days=1) != _month_after(start, _months(start, end)):
        return None
    months = _months(start, end)
    if months == 1:
        return Partition.MONTH
    if months == 3 and start.month % 3 == 1:
        return Partition.QUARTER
    if months == 12 and start.month == 1:
        return Partition.YEAR
    return None


def _months(start: date, end: date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _month_after(start: date, months: int) -> date:
    index = start.month - 1 + months
    return date(start.year + index // 12, index % 12 + 1, 1)


def canonical(period: Period) -> Period:
    """The period with its partition's canonical label (``2023-07-01..2023-07-31`` -> ``2023-07``)."""
    kind = partition_of(period)
    if kind is Partition.DAY:
        return day(period.start)
    if kind is Partition.MONTH:
        return month(period.start.year, period.start.month)
    if kind is Partition.QUARTER:
        return quarter(period.start.year, (period.start.month + 2) // 3)
    if kind is Partition.YEAR:
        return year(period.start.year)
    return period


def parent_of(period: Period) -> Period | None:
    """The partition directly above (day -> month -> quarter -> year); None for a year or a range."""
    kind = partition_of(period)
    start = period.start
    if kind is Partition.DAY:
        return month(start.year, start.month)
    if kind is Partition.MONTH:
        return quarter(start.year, (start.month + 2) // 3)
    if kind is Partition.QUARTER:
        return year(start.year)
    return None


def children_of(period: Period) -> list[Period]:
    """The partitions directly below (year -> quarters -> months -> days); [] for a day."""
    kind = partition_of(period)
    start = period.start
    if kind is Partition.YEAR:
        return [quarter(start.year, q) for q in range(1, 5)]
    if kind is Partition.QUARTER:
        return [month(start.year, start.month + i) for i in range(3)]
    if kind is Partition.MONTH:
        return [day(start + timedelta(days=i)) for i in range(period.days)]
    return []


def days_of(period: Period) -> list[Period]:
    """Every day of the period, as one-day partitions."""
    return [day(period.start + timedelta(days=i)) for i in range(period.days)]


def report_period(period: Period, season: Period | None = None) -> Period:
    """The period if reports may cover it (a calendar partition or the programme's season).

    Raises :class:`InvalidInput` for any other range: it could be differenced against a
    neighbouring one to isolate a person.
    """
    if season is not None and (period.start, period.end) == (season.start, season.end):
        return season
    if partition_of(period) is None:
        raise InvalidInput(
            f"reports cover predefined periods only: {PREDEFINED}, or the programme's season; "
            f"{period.label!r} is not one (two overlapping ranges could be subtracted to isolate a person)"
        )
    return canonical(period)
