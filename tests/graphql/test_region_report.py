"""Regional reports through GraphQL: totals, breakdowns, children, series, comparison."""

from decimal import Decimal

from carbonhub.hub import open_hub
from carbonhub.settings import Settings
from tests.fixtures.graphql import agency

REPORT = """
query ($code: ID!, $period: String, $methodology: ID) {
  region(code: $code) {
    report(period: $period, methodology: $methodology) {
      totalReductionKg participants suppressed
      byCategory { category { code } reductionKg participants suppressed }
      byBehaviour { behaviour { code } covered unit quantity reductionKg participants suppressed }
      children { region { code } totalReductionKg participants suppressed }
    }
  }
}
"""


def report(gql, code="110000", period="2023-07", methodology=None, principal=None):
    variables = {"code": code, "period": period, "methodology": methodology}
    return gql(REPORT, variables, principal=principal).ok()["region"]["report"]


def test_given_the_world_when_beijing_is_reported_then_totals_are_exact(gql, world):
    beijing = report(gql)
    # 4 x (1000 + 45.72) g + 3 x 500 g = 5682.88 g
    assert Decimal(beijing["totalReductionKg"]) == Decimal("5.68288")
    assert beijing["participants"] == 7


def test_given_the_world_when_reported_then_parent_total_is_the_sum_of_children(gql, world):
    beijing = report(gql)
    children = beijing["children"]
    assert len(children) == 16
    released = [c for c in children if not c["suppressed"]]
    assert sum(Decimal(c["totalReductionKg"]) for c in released) == Decimal(
        beijing["totalReductionKg"]
    )


def test_given_a_behaviour_the_methodology_does_not_cover_then_it_is_shown_as_not_covered(
    gql, world
):
    rows = {r["behaviour"]["code"]: r for r in report(gql)["byBehaviour"]}
    assert rows["transport.metro"]["covered"] is False
    assert rows["transport.metro"]["reductionKg"] is None
    assert rows["transport.bike_share"]["unit"] == "km"
    assert Decimal(rows["transport.bike_share"]["quantity"]) == Decimal(22)


def test_given_another_methodology_when_reported_then_its_own_factors_apply(gql, world):
    handbook = report(gql, methodology="beijing-handbook-2022")
    # 7 rides x 52 g + 4 orders x 23 g + 7 metro rides x 46 g
    assert Decimal(handbook["totalReductionKg"]) == Decimal("0.778")


def test_given_a_small_cell_then_it_is_suppressed_with_a_complement(gql, world):
    # k = 3 in tests: food (4 persons) and transport (7) are released; no single cell hides alone
    categories = {r["category"]["code"]: r for r in report(gql)["byCategory"]}
    assert categories["transport"]["participants"] == 7
    assert categories["food"]["participants"] == 4


def test_given_a_district_with_fewer_than_k_persons_then_its_row_is_suppressed(
    gql, world, make_person, post
):
    from tests.fixtures.actors import event

    lonely = make_person("110119")
    post([event(lonely, "transport.bike_share", "2023-07-05 00:30", km="3", duration_s=900)])
    children = {c["region"]["code"]: c for c in report(gql)["children"]}
    assert children["110119"]["suppressed"] is True
    assert children["110119"]["totalReductionKg"] is None
    # the single suppressed child could be derived from the parent: a complement is suppressed too
    assert sum(1 for c in children.values() if c["suppressed"]) == 2


def test_when_compared_then_each_methodology_gives_its_figures_and_what_it_does_not_cover(
    gql, world
):
    query = """{ region(code: "110000") { report(period: "2023-07") {
        compare(methodologies: ["beijing-green-life-2023", "shenzhen-transit-2021@1.0"]) {
          methodology { id version } totalReductionKg participants notCovered { code }
        } } } }"""
    compared = gql(query).ok()["region"]["report"]["compare"]
    assert [c["methodology"]["id"] for c in compared] == [
        "beijing-green-life-2023",
        "shenzhen-transit-2021",
    ]
    shenzhen = compared[1]
    assert Decimal(shenzhen["totalReductionKg"]) == Decimal("3.276")  # 7 x 10 km x 46.8 g
    assert {c["code"] for c in shenzhen["notCovered"]} == {
        "transport.bike_share",
        "food.no_utensils",
    }


def test_when_a_series_is_asked_then_its_steps_tile_the_period(gql, world):
    query = """{ region(code: "110108") { report(period: "2023-07") {
        totalReductionKg series(interval: WEEK) { label start end reductionKg } } } }"""
    found = gql(query).ok()["region"]["report"]
    series = found["series"]
    assert series[0]["start"] == "2023-07-01"
    assert series[-1]["end"] == "2023-07-31"
    assert sum(Decimal(s["reductionKg"]) for s in series) == Decimal(found["totalReductionKg"])


def test_given_an_agency_of_haidian_when_it_reads_beijing_then_it_is_not_found(gql, world):
    result = gql(REPORT, {"code": "110000", "period": "2023-07"}, principal=agency("110108"))
    assert result.codes == ["NOT_FOUND"]


def test_given_an_agency_of_beijing_when_it_reads_haidian_then_it_gets_the_report(gql, world):
    haidian = report(gql, code="110108", principal=agency("110000"))
    assert haidian["participants"] == 4


def test_given_production_when_anonymous_reads_a_report_then_it_must_authenticate(hub, world):
    import asyncio

    from carbonhub.auth import Principal
    from carbonhub.resolvers.context import Context
    from carbonhub.schema import schema

    production = open_hub(
        Settings(database_url="sqlite://", env="production"), engine=hub.engine, upgrade=False
    )
    context = Context(hub=production, principal=Principal.anonymous())
    result = asyncio.run(
        schema.execute(REPORT, {"code": "110000", "period": "2023-07"}, context_value=context)
    )
    assert [e.extensions["code"] for e in result.errors] == ["UNAUTHENTICATED"]
