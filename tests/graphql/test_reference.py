"""Public reference data: catalogue, methodologies, regions, programmes."""

from decimal import Decimal

from carbonhub.auth import Principal


def test_behaviour_types_cover_the_seven_categories(gql, hub):
    data = gql(
        "{ behaviourCategories { code behaviours { code } } behaviourTypes { code categoryCode } }"
    ).ok()
    assert [c["code"] for c in data["behaviourCategories"]] == [
        "clothing",
        "food",
        "housing",
        "transport",
        "use",
        "office",
        "digital_finance",
    ]
    assert {"transport.bike_share", "food.no_utensils", "use.e_waybill"} <= {
        b["code"] for b in data["behaviourTypes"]
    }


def test_methodologies_carry_their_factors_sources_and_caps(gql, hub):
    data = gql("""{ methodologies { id version source effectiveFrom
        factors { behaviour { code } unit gramsPerUnit } caps { behaviour { code } per maxCount maxGrams } } }""").ok()
    by_id = {m["id"]: m for m in data["methodologies"]}
    assert set(by_id) == {
        "beijing-green-life-2023",
        "beijing-handbook-2022",
        "shenzhen-transit-2021",
        "ant-forest-2023",
    }
    seed = {f["behaviour"]["code"]: f for f in by_id["beijing-green-life-2023"]["factors"]}
    assert Decimal(seed["transport.bike_share"]["gramsPerUnit"]) == 250
    assert seed["transport.bike_share"]["unit"] == "km"
    assert Decimal(seed["food.no_utensils"]["gramsPerUnit"]) == Decimal("45.72")
    metro_cap = [
        c for c in by_id["ant-forest-2023"]["caps"] if c["behaviour"]["code"] == "transport.metro"
    ]
    assert metro_cap == [
        {"behaviour": {"code": "transport.metro"}, "per": "day", "maxCount": 5, "maxGrams": None}
    ]


def test_regions_form_a_hierarchy_with_names_in_both_languages(gql, hub):
    data = gql(
        '{ region(code: "110108") { code name nameEn level parent { code name } } regions { code } }'
    ).ok()
    assert data["region"] == {
        "code": "110108",
        "name": "海淀区",
        "nameEn": "Haidian District",
        "level": "district",
        "parent": {"code": "110000", "name": "北京市"},
    }
    assert [r["code"] for r in data["regions"]] == ["110000", "120000", "310000"]


def test_a_region_names_its_programme_and_primary_methodology(gql, hub):
    data = gql(
        '{ region(code: "310115") { programme { id primaryMethodology { id version } gramsPerPoint } } }'
    ).ok()
    assert data["region"]["programme"]["primaryMethodology"] == {
        "id": "beijing-green-life-2023",
        "version": "1.0",
    }


def test_reference_data_is_public_even_in_production(gql, hub):
    result = gql("{ methodologies { id } }", principal=Principal.anonymous())
    assert len(result.ok()["methodologies"]) == 4
