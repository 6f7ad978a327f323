"""Quantification under the four shipped methodologies: worked examples, refusals, properties."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbonhub.methodology import (
    Activity,
    Factor,
    Methodology,
    QuantStatus,
    milligrams,
    packaged_registry,
    quantify,
    quantify_all,
)

SEASON_DAY = date(2023, 7, 1)  # every shipped methodology is in effect on this day


def methodology(key: str) -> Methodology:
    found = packaged_registry().get(key)
    assert found is not None, key
    return found


def activity(behaviour: str, on: date = SEASON_DAY, **measures: str) -> Activity:
    """An activity with measures in units (``km="3.217"``), stored in exact thousandths."""
    return Activity(
        behaviour, {u: int(Decimal(q) * 1000) for u, q in measures.items()}, local_date=on
    )


@pytest.mark.parametrize(
    ("key", "behaviour", "measures", "expected_mg"),
    [
        pytest.param(
            "beijing-green-life-2023@1.0",
            "transport.bike_share",
            {"km": "3.217", "ride": "1"},
            804_250,
            id="beijing-2023 bike 3.217 km x 250 g",
        ),
        pytest.param(
            "beijing-green-life-2023@1.0",
            "food.no_utensils",
            {"order": "1"},
            45_720,
            id="beijing-2023 no-utensils order 45.72 g",
        ),
        pytest.param(
            "beijing-green-life-2023@1.0",
            "use.e_waybill",
            {"waybill": "1"},
            5_000,
            id="beijing-2023 e-waybill 5 g",
        ),
        pytest.param(
            "beijing-handbook-2022@1.0",
            "transport.bike_share",
            {"km": "3.217", "ride": "1"},
            52_000,
            id="handbook bike counts the ride, not the km",
        ),
        pytest.param(
            "beijing-handbook-2022@1.0",
            "transport.metro",
            {"ride": "1"},
            46_000,
            id="handbook metro",
        ),
        pytest.param(
            "beijing-handbook-2022@1.0", "transport.bus", {"ride": "1"}, 80_000, id="handbook bus"
        ),
        pytest.param(
            "beijing-handbook-2022@1.0",
            "food.no_utensils",
            {"order": "1"},
            23_000,
            id="handbook no-utensils",
        ),
        pytest.param(
            "beijing-handbook-2022@1.0",
            "food.clean_plate",
            {"meal": "1"},
            449_000,
            id="handbook clean plate",
        ),
        pytest.param(
            "shenzhen-transit-2021@1.0",
            "transport.metro",
            {"km": "10", "ride": "1"},
            468_000,
            id="shenzhen metro 10 km x 46.8 g",
        ),
        pytest.param(
            "shenzhen-transit-2021@1.0",
            "transport.metro",
            {"km": "3.217"},
            150_555,
            id="shenzhen metro 46.8 x 3.217 = 150555.6 mg rounds down",
        ),
        pytest.param(
            "shenzhen-transit-2021@1.0",
            "transport.bus",
            {"km": "7.5"},
            201_750,
            id="shenzhen bus 7.5 km x 26.9 g",
        ),
        pytest.param(
            "shenzhen-transit-2021@1.0",
            "transport.metro",
            {"km": "0.001"},
            46,
            id="shenzhen metro 1 m = 46.8 mg rounds down to 46",
        ),
        pytest.param(
            "ant-forest-2023@1.0", "transport.metro", {"ride": "1"}, 52_000, id="ant metro"
        ),
        pytest.param("ant-forest-2023@1.0", "transport.bus", {"ride": "1"}, 80_000, id="ant bus"),
        pytest.param(
            "ant-forest-2023@1.0",
            "digital_finance.e_invoice",
            {"invoice": "1"},
            5_000,
            id="ant e-invoice",
        ),
        pytest.param(
            "ant-forest-2023@1.0",
            "digital_finance.offline_payment",
            {"payment": "1"},
            5_000,
            id="ant offline payment",
        ),
        pytest.param(
            "ant-forest-2023@1.0",
            "digital_finance.utility_bill_online",
            {"bill": "1"},
            262_000,
            id="ant utility bill",
        ),
        pytest.param(
            "ant-forest-2023@1.0",
            "digital_finance.e_transfer",
            {"transfer": "1"},
            23_000,
            id="ant e-transfer",
        ),
    ],
)
def test_given_a_worked_example_when_quantified_then_the_reduction_is_exact_to_the_mg(
    key: str, behaviour: str, measures: dict[str, str], expected_mg: int
) -> None:
    result = quantify(activity(behaviour, **measures), methodology(key))

    assert result.status is QuantStatus.CREDITED
    assert result.reduction_mg == expected_mg
    assert result.methodology_key == key


def test_given_a_credited_event_then_the_quantification_records_unit_quantity_and_factor() -> None:
    result = quantify(
        activity("transport.bike_share", km="3.217", ride="1"),
        methodology("beijing-green-life-2023@1.0"),
    )

    assert (result.unit, result.quantity_milli, result.factor_g) == ("km", 3217, Decimal("250"))


@pytest.mark.parametrize(
    ("key", "behaviour", "day", "measures", "status", "note_mentions"),
    [
        pytest.param(
            "beijing-green-life-2023@1.0",
            "transport.metro",
            SEASON_DAY,
            {"ride": "1"},
            QuantStatus.NOT_COVERED,
            "does not cover transport.metro",
            id="not covered: beijing-2023 has no metro factor",
        ),
        pytest.param(
            "beijing-green-life-2023@1.0",
            "transport.bike_share",
            date(2023, 6, 14),
            {"km": "3"},
            QuantStatus.NOT_IN_EFFECT,
            "not in effect on 2023-06-14",
            id="not in effect: the day before the season",
        ),
        pytest.param(
            "beijing-green-life-2023@1.0",
            "transport.bike_share",
            date(2023, 11, 1),
            {"km": "3"},
            QuantStatus.NOT_IN_EFFECT,
            "not in effect on 2023-11-01",
            id="not in effect: the day after the season",
        ),
        pytest.param(
            "shenzhen-transit-2021@1.0",
            "transport.metro",
            SEASON_DAY,
            {"ride": "1"},
            QuantStatus.MISSING_MEASURE,
            "in km",
            id="missing measure: shenzhen counts km, the event has only the ride",
        ),
        pytest.param(
            "beijing-green-life-2023@1.0",
            "transport.bike_share",
            SEASON_DAY,
            {"ride": "1"},
            QuantStatus.MISSING_MEASURE,
            "in km",
            id="missing measure: beijing-2023 counts km, the event has only the ride",
        ),
        pytest.param(
            "ant-forest-2023@1.0",
            "transport.walk",
            SEASON_DAY,
            {"step": "8000", "day": "1"},
            QuantStatus.NO_PUBLISHED_VALUE,
            "not published",
            id="no published value: ant-forest walking",
        ),
    ],
)
def test_given_no_applicable_factor_when_quantified_then_it_says_why_and_gives_zero(
    key: str,
    behaviour: str,
    day: date,
    measures: dict[str, str],
    status: QuantStatus,
    note_mentions: str,
) -> None:
    result = quantify(activity(behaviour, day, **measures), methodology(key))

    assert result.status is status
    assert result.reduction_mg == 0
    assert not result.applies
    assert result.note is not None
    assert note_mentions in result.note


def test_given_every_methodology_when_quantifying_a_bike_ride_then_each_uses_its_own_unit() -> None:
    ride = activity("transport.bike_share", km="3.2", ride="1")

    results = {q.methodology_key: q for q in quantify_all(ride, packaged_registry().all())}

    assert results["beijing-green-life-2023@1.0"].reduction_mg == 800_000
    assert results["beijing-handbook-2022@1.0"].reduction_mg == 52_000
    assert results["shenzhen-transit-2021@1.0"].status is QuantStatus.NOT_COVERED
    assert results["ant-forest-2023@1.0"].status is QuantStatus.NOT_COVERED


def test_given_baseline_and_project_factors_then_the_reduction_is_their_difference() -> None:
    commute = Methodology(
        id="acef-form",
        version="1",
        name_en="baseline minus project",
        name_zh="基准减项目",
        publisher="test",
        source="test",
        effective_from=date(2023, 1, 1),
        effective_to=None,
        factors=(
            Factor(
                "transport.metro",
                "km",
                grams_per_unit=Decimal("100.5"),
                baseline_grams_per_unit=Decimal("130.5"),
                project_grams_per_unit=Decimal("30"),
            ),
        ),
    )

    result = quantify(activity("transport.metro", km="2"), commute)

    assert result.reduction_mg == 201_000
    assert result.project_emission_mg == 60_000


def test_given_exact_decimal_inputs_then_milligrams_round_down_never_up() -> None:
    assert milligrams(3217, Decimal("46.8")) == 150_555
    assert milligrams(1, Decimal("0.999")) == 0
    assert milligrams(1000, Decimal("45.72")) == 45_720


CREDITING_FACTORS = [
    (m, f) for m in packaged_registry().all() for f in m.factors if f.grams_per_unit is not None
]


@given(
    pair=st.sampled_from(CREDITING_FACTORS),
    quantities=st.lists(st.integers(min_value=0, max_value=10**9), min_size=2, max_size=2),
)
def test_property_reduction_is_never_negative_and_monotone_in_quantity(
    pair: tuple[Methodology, Factor], quantities: list[int]
) -> None:
    chosen, factor = pair
    small, large = sorted(quantities)
    day = chosen.effective_from

    def reduction(quantity: int) -> int:
        return quantify(
            Activity(factor.behaviour, {factor.unit: quantity}, day), chosen
        ).reduction_mg

    assert 0 <= reduction(small) <= reduction(large)


@given(
    quantity=st.integers(min_value=0, max_value=10**12),
    grams=st.decimals(min_value=0, max_value=10_000, places=3, allow_nan=False),
)
def test_property_milligrams_is_the_exact_product_rounded_down(
    quantity: int, grams: Decimal
) -> None:
    exact = Decimal(quantity) * grams

    assert milligrams(quantity, grams) <= exact < milligrams(quantity, grams) + 1
