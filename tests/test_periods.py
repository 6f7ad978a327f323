"""Reporting periods, their buckets, and local days in the programme's time zone."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbonhub.errors import InvalidInput
from carbonhub.periods import (
    ACCEPTED_FORMS,
    Interval,
    Period,
    ensure_utc,
    local_date,
    local_day_start,
    month_of,
    parse_period,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        pytest.param("2023", date(2023, 1, 1), date(2023, 12, 31), "2023", id="year"),
        pytest.param("2023-Q3", date(2023, 7, 1), date(2023, 9, 30), "2023-Q3", id="quarter"),
        pytest.param("2023-q1", date(2023, 1, 1), date(2023, 3, 31), "2023-Q1", id="quarter lower"),
        pytest.param("2023-07", date(2023, 7, 1), date(2023, 7, 31), "2023-07", id="month"),
        pytest.param("2024-02", date(2024, 2, 1), date(2024, 2, 29), "2024-02", id="leap february"),
        pytest.param("2023-W27", date(2023, 7, 3), date(2023, 7, 9), "2023-W27", id="iso week"),
        pytest.param("2020-W53", date(2020, 12, 28), date(2021, 1, 3), "2020-W53", id="week 53"),
        pytest.param("2023-07-15", date(2023, 7, 15), date(2023, 7, 15), "2023-07-15", id="day"),
        pytest.param(
            "2023-07-01..2023-07-15",
            date(2023, 7, 1),
            date(2023, 7, 15),
            "2023-07-01..2023-07-15",
            id="range",
        ),
        pytest.param(
            " 2023-07-01 / 2023-07-15 ",
            date(2023, 7, 1),
            date(2023, 7, 15),
            "2023-07-01..2023-07-15",
            id="range with a slash",
        ),
    ],
)
def test_given_an_accepted_form_when_parsed_then_the_period_is_exact(
    text: str, start: date, end: date, label: str
) -> None:
    assert parse_period(text) == Period(start, end, label)


def test_given_explicit_dates_when_parsed_then_the_period_is_inclusive() -> None:
    period = parse_period(start=date(2023, 6, 15), end=date(2023, 10, 31))

    assert (period.start, period.end, period.label) == (
        date(2023, 6, 15),
        date(2023, 10, 31),
        "2023-06-15..2023-10-31",
    )
    assert period.days == 139


@pytest.mark.parametrize(
    "text",
    [
        "2023-13",
        "2023-00",
        "2023-Q5",
        "2023-Q0",
        "2023-W54",
        "2023-W00",
        "2023-02-30",
        "last week",
        "",
        "   ",
        "2023-7",
        "23",
        "2023-07-15..2023-07-01",
        "2010-01-01..2023-01-01",
    ],
)
def test_given_malformed_text_when_parsed_then_invalid_input_lists_the_accepted_forms(
    text: str,
) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_period(text)

    assert ACCEPTED_FORMS in str(raised.value)


def test_given_reversed_explicit_dates_then_invalid_input_lists_the_accepted_forms() -> None:
    with pytest.raises(InvalidInput, match="ends before it starts") as raised:
        parse_period(start=date(2023, 7, 15), end=date(2023, 7, 1))

    assert ACCEPTED_FORMS in str(raised.value)


def test_given_only_one_explicit_date_then_invalid_input_lists_the_accepted_forms() -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_period(start=date(2023, 7, 15))

    assert ACCEPTED_FORMS in str(raised.value)


def test_given_both_text_and_dates_then_it_is_refused() -> None:
    with pytest.raises(InvalidInput, match="not both"):
        parse_period("2023", start=date(2023, 1, 1), end=date(2023, 1, 2))


def test_given_a_period_then_contains_is_inclusive_at_both_ends() -> None:
    period = parse_period("2023-07")

    assert period.contains(date(2023, 7, 1))
    assert period.contains(date(2023, 7, 31))
    assert not period.contains(date(2023, 6, 30))
    assert not period.contains(date(2023, 8, 1))


@pytest.mark.parametrize(
    ("interval", "labels"),
    [
        pytest.param(Interval.MONTH, ["2023-06", "2023-07"], id="month"),
        pytest.param(Interval.WEEK, ["2023-W26", "2023-W27", "2023-W28"], id="week"),
    ],
)
def test_given_a_period_across_boundaries_then_buckets_are_clipped_to_it(
    interval: Interval, labels: list[str]
) -> None:
    period = parse_period("2023-06-29..2023-07-10")

    buckets = list(period.buckets(interval))

    assert [b.label for b in buckets] == labels
    assert buckets[0].start == date(2023, 6, 29)
    assert buckets[-1].end == date(2023, 7, 10)


periods = st.builds(
    lambda start, days: Period(start, start + timedelta(days=days), "p"),
    st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)),
    st.integers(min_value=0, max_value=800),
)


@given(period=periods, interval=st.sampled_from(Interval))
def test_property_buckets_tile_the_period_exactly(period: Period, interval: Interval) -> None:
    buckets = list(period.buckets(interval))

    assert buckets[0].start == period.start
    assert buckets[-1].end == period.end
    for before, after in itertools.pairwise(buckets):
        assert after.start == before.end + timedelta(days=1)
    assert sum(b.days for b in buckets) == period.days
    for bucket in buckets:
        if interval is Interval.DAY:
            assert bucket.days == 1
        elif interval is Interval.WEEK:
            assert bucket.start.isocalendar()[:2] == bucket.end.isocalendar()[:2]
        else:
            assert (bucket.start.year, bucket.start.month) == (bucket.end.year, bucket.end.month)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        pytest.param(
            datetime(2023, 6, 30, 15, 59, 59, tzinfo=UTC), date(2023, 6, 30), id="23:59:59 local"
        ),
        pytest.param(
            datetime(2023, 6, 30, 16, 0, 0, tzinfo=UTC), date(2023, 7, 1), id="00:00 local"
        ),
        pytest.param(
            datetime(2023, 7, 1, 0, 30, tzinfo=timezone(timedelta(hours=8))),
            date(2023, 7, 1),
            id="an offset other than UTC",
        ),
    ],
)
def test_local_date_is_the_day_in_asia_shanghai(moment: datetime, expected: date) -> None:
    assert local_date(moment, SHANGHAI) == expected


def test_a_local_day_starts_at_16_00_utc_the_day_before() -> None:
    assert local_day_start(date(2023, 7, 1), SHANGHAI) == datetime(2023, 6, 30, 16, tzinfo=UTC)


def test_given_a_naive_datetime_then_ensure_utc_refuses_it() -> None:
    with pytest.raises(InvalidInput, match="has no time zone"):
        ensure_utc(datetime(2023, 7, 1, 12))


def test_given_an_aware_datetime_then_ensure_utc_converts_it() -> None:
    moment = datetime(2023, 7, 1, 8, tzinfo=timezone(timedelta(hours=8)))

    converted = ensure_utc(moment)

    assert converted == datetime(2023, 7, 1, 0, tzinfo=UTC)
    assert converted.utcoffset() == timedelta(0)


def test_month_of_gives_the_first_and_last_day() -> None:
    assert month_of(date(2024, 2, 10)) == (date(2024, 2, 1), date(2024, 2, 29))
