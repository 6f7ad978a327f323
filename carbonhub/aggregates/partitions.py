"""The predefined partitions distinct persons are counted over, keyed by short strings.

A report releases figures of calendar partitions (day, month, quarter, year), the programme's
season, and steps of its time series: ISO weeks, clipped to the month or season at its ends,
and months clipped to the season. Every one of those is a fixed set of days, so the number of
distinct persons in it can be counted once, when the data arrives, instead of at every read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from carbonhub.periods import Period

ALL_TIME = "all"


@dataclass(frozen=True, slots=True)
class Span:
    """A partition: its key and its days ``start..end``."""

    key: str
    start: date
    end: date


@lru_cache(maxsize=8192)
def spans_of_day(day: date, season: Period | None) -> tuple[Span, ...]:
    """Every partition containing ``day``, in the order :func:`partition_key` prefers them."""
    week_start = day - timedelta(days=day.weekday())
    week_end = week_start + timedelta(days=6)
    iso_year, iso_week, _ = day.isocalendar()
    week = f"{iso_year}-W{iso_week:02d}"
    month_start = day.replace(day=1)
    month_end = _month_end(day)
    month = f"{day.year}-{day.month:02d}"
    quarter = (day.month - 1) // 3
    spans = [
        Span(f"d:{day.isoformat()}", day, day),
        Span(f"m:{month}", month_start, month_end),
        Span(
            f"q:{day.year}-Q{quarter + 1}",
            date(day.year, 3 * quarter + 1, 1),
            _month_end(date(day.year, 3 * quarter + 3, 1)),
        ),
        Span(f"y:{day.year}", date(day.year, 1, 1), date(day.year, 12, 31)),
    ]
    if season is not None and season.contains(day):
        spans.append(Span("s", season.start, season.end))
    spans.append(Span(f"w:{week}", week_start, week_end))
    if week_start < month_start or week_end > month_end:
        spans.append(
            Span(f"wm:{week}:{month}", max(week_start, month_start), min(week_end, month_end))
        )
    if season is not None and season.contains(day):
        if week_start < season.start or week_end > season.end:
            spans.append(
                Span(f"sw:{week}", max(week_start, season.start), min(week_end, season.end))
            )
        if month_start < season.start or month_end > season.end:
            spans.append(
                Span(f"sm:{month}", max(month_start, season.start), min(month_end, season.end))
            )
    spans.append(Span(ALL_TIME, date.min, date.max))
    return tuple(spans)


def partition_key(period: Period, season: Period | None) -> str | None:
    """The key distinct persons of exactly ``period`` are counted under, if it is a partition."""
    for span in spans_of_day(period.start, season):
        if (span.start, span.end) == (period.start, period.end):
            return span.key
    return None


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)
