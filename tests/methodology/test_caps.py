"""Caps cut a reduction to what the day's or month's allowance still permits (apply_caps)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbonhub.methodology import (
    Cap,
    CapPeriod,
    CapUsage,
    Quantification,
    QuantStatus,
    apply_caps,
    packaged_registry,
)

ANT = "ant-forest-2023@1.0"


def credited(mg: int) -> Quantification:
    return Quantification(
        ANT, QuantStatus.CREDITED, unit="ride", quantity_milli=1000, reduction_mg=mg
    )


def ant_caps(behaviour: str) -> tuple[Cap, ...]:
    found = packaged_registry().get(ANT)
    assert found is not None
    return found.caps_for(behaviour)


METRO_DAY = ant_caps("transport.metro")
BILL_MONTH = ant_caps("digital_finance.utility_bill_online")
WALK_GRAMS = (Cap("transport.walk", CapPeriod.DAY, max_grams=Decimal("296")),)


def test_the_shipped_ant_forest_caps_are_metro_5_a_day_and_bills_10_a_month() -> None:
    assert (Cap("transport.metro", CapPeriod.DAY, max_count=5),) == METRO_DAY
    assert (
        Cap("digital_finance.utility_bill_online", CapPeriod.MONTH, max_count=10),
    ) == BILL_MONTH
    assert ant_caps("transport.walk")[0].max_mg == 296_000


@pytest.mark.parametrize(
    ("caps", "usage", "expected_mg", "expected_status"),
    [
        pytest.param(
            METRO_DAY,
            {CapPeriod.DAY: CapUsage(count=4, mg=208_000)},
            52_000,
            QuantStatus.CREDITED,
            id="count cap: the 5th ride of the day is credited",
        ),
        pytest.param(
            METRO_DAY,
            {CapPeriod.DAY: CapUsage(count=5, mg=260_000)},
            0,
            QuantStatus.CAPPED,
            id="count cap: the 6th ride of the day gets nothing",
        ),
        pytest.param(
            METRO_DAY,
            {CapPeriod.MONTH: CapUsage(count=99, mg=0)},
            52_000,
            QuantStatus.CREDITED,
            id="a day cap ignores the month's usage",
        ),
        pytest.param(
            BILL_MONTH,
            {CapPeriod.DAY: CapUsage(count=0), CapPeriod.MONTH: CapUsage(count=9)},
            52_000,
            QuantStatus.CREDITED,
            id="month count cap: the 10th bill of the month is credited",
        ),
        pytest.param(
            BILL_MONTH,
            {CapPeriod.DAY: CapUsage(count=0), CapPeriod.MONTH: CapUsage(count=10)},
            0,
            QuantStatus.CAPPED,
            id="month count cap: the 11th bill of the month gets nothing",
        ),
        pytest.param(
            WALK_GRAMS,
            {CapPeriod.DAY: CapUsage(count=1, mg=150_000)},
            52_000,
            QuantStatus.CREDITED,
            id="grams cap: fits under what is left",
        ),
        pytest.param(
            WALK_GRAMS,
            {CapPeriod.DAY: CapUsage(count=1, mg=270_000)},
            26_000,
            QuantStatus.CAPPED,
            id="grams cap: cut to the 26 g left",
        ),
        pytest.param(
            WALK_GRAMS,
            {CapPeriod.DAY: CapUsage(count=6, mg=296_000)},
            0,
            QuantStatus.CAPPED,
            id="grams cap: nothing left",
        ),
        pytest.param(
            (Cap("transport.walk", CapPeriod.MONTH, max_grams=Decimal("100")),),
            {CapPeriod.MONTH: CapUsage(count=1, mg=90_000)},
            10_000,
            QuantStatus.CAPPED,
            id="month grams cap",
        ),
    ],
)
def test_given_earlier_usage_when_caps_apply_then_the_credit_is_what_is_left(
    caps: tuple[Cap, ...],
    usage: dict[CapPeriod, CapUsage],
    expected_mg: int,
    expected_status: QuantStatus,
) -> None:
    result = apply_caps(credited(52_000), caps, usage)

    assert result.reduction_mg == expected_mg
    assert result.status is expected_status


def test_given_a_capped_event_then_it_keeps_its_quantity_and_names_the_cap() -> None:
    result = apply_caps(credited(52_000), METRO_DAY, {CapPeriod.DAY: CapUsage(count=5)})

    assert result.quantity_milli == 1000
    assert result.note == "cap of 5 a day reached"


def test_given_a_methodology_that_does_not_apply_then_caps_change_nothing() -> None:
    not_covered = Quantification(ANT, QuantStatus.NOT_COVERED, note="does not cover it")

    assert apply_caps(not_covered, METRO_DAY, {CapPeriod.DAY: CapUsage(count=5)}) == not_covered


def test_given_no_caps_then_the_quantification_is_unchanged() -> None:
    assert apply_caps(credited(52_000), (), {CapPeriod.DAY: CapUsage(count=500)}) == credited(
        52_000
    )


@given(
    reduction=st.integers(min_value=0, max_value=10**7),
    max_grams=st.integers(min_value=1, max_value=10_000),
    used_mg=st.integers(min_value=0, max_value=2 * 10**7),
    max_count=st.integers(min_value=1, max_value=20),
    used_count=st.integers(min_value=0, max_value=40),
    per=st.sampled_from(CapPeriod),
)
def test_property_a_capped_credit_is_between_zero_and_the_allowance_left(
    reduction: int, max_grams: int, used_mg: int, max_count: int, used_count: int, per: CapPeriod
) -> None:
    caps = (
        Cap("transport.walk", per, max_grams=Decimal(max_grams)),
        Cap("transport.walk", per, max_count=max_count),
    )

    result = apply_caps(credited(reduction), caps, {per: CapUsage(used_count, used_mg)})

    allowance = 0 if used_count >= max_count else max(0, max_grams * 1000 - used_mg)
    assert result.reduction_mg == min(reduction, allowance)
    assert result.status is (QuantStatus.CREDITED if reduction <= allowance else QuantStatus.CAPPED)
