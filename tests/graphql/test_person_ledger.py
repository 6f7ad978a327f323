"""A person's ledger, entries connection and points through GraphQL."""

from decimal import Decimal

from carbonhub.auth import Principal, Scope
from tests.fixtures.graphql import citizen

LEDGER = """
query ($id: ID!, $first: Int!, $after: String, $methodology: ID) {
  person(id: $id) {
    id points { balance earned redeemed }
    ledger(period: "2023", methodology: $methodology) {
      totalReductionKg
      byBehaviour { behaviour { code } entries quantity unit reductionKg }
      entries(first: $first, after: $after) {
        edges { cursor node { seq behaviour { code } quantity unit reductionG status methodology { id version } occurredAt } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
"""


def ledger_of(gql, person, first=10, after=None, methodology=None, principal=None):
    variables = {"id": person, "first": first, "after": after, "methodology": methodology}
    return gql(LEDGER, variables, principal=principal)


def test_given_a_resident_then_the_ledger_totals_and_points_follow_the_primary_methodology(
    gql, world
):
    person = ledger_of(gql, world.haidian[0]).ok()["person"]
    assert Decimal(person["ledger"]["totalReductionKg"]) == Decimal("1.04572")
    assert person["points"] == {
        "balance": 104,
        "earned": 104,
        "redeemed": 0,
    }  # 1045.72 g at 10 g a point


def test_entries_are_paged_newest_first_with_cursors(gql, world):
    first = ledger_of(gql, world.haidian[0], first=2).ok()["person"]["ledger"]["entries"]
    assert [e["node"]["seq"] for e in first["edges"]] == [3, 2]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = ledger_of(gql, world.haidian[0], first=2, after=first["pageInfo"]["endCursor"]).ok()
    page = rest["person"]["ledger"]["entries"]
    assert [e["node"]["seq"] for e in page["edges"]] == [1]
    assert page["pageInfo"]["hasNextPage"] is False


def test_an_entry_shows_quantity_unit_reduction_and_methodology(gql, world):
    edges = ledger_of(gql, world.haidian[0]).ok()["person"]["ledger"]["entries"]["edges"]
    ride = next(
        e["node"] for e in edges if e["node"]["behaviour"]["code"] == "transport.bike_share"
    )
    assert ride["quantity"] == "4"
    assert ride["unit"] == "km"
    assert Decimal(ride["reductionG"]) == 1000
    assert ride["methodology"] == {"id": "beijing-green-life-2023", "version": "1.0"}
    metro = next(e["node"] for e in edges if e["node"]["behaviour"]["code"] == "transport.metro")
    assert metro["status"] == "not_covered"
    assert metro["reductionG"] is None


def test_under_another_methodology_entries_show_its_reductions(gql, world):
    edges = ledger_of(gql, world.haidian[0], methodology="ant-forest-2023").ok()["person"][
        "ledger"
    ]["entries"]["edges"]
    metro = next(e["node"] for e in edges if e["node"]["behaviour"]["code"] == "transport.metro")
    assert Decimal(metro["reductionG"]) == 52
    assert metro["methodology"]["id"] == "ant-forest-2023"


def test_a_citizen_reads_their_own_ledger_through_me(gql, world):
    data = gql(
        '{ me { id ledger(period: "2023-07") { totalReductionKg } } }',
        principal=citizen(world.chaoyang[0]),
    ).ok()
    assert data["me"]["id"] == world.chaoyang[0]
    assert Decimal(data["me"]["ledger"]["totalReductionKg"]) == Decimal("0.5")


def test_a_citizen_cannot_see_another_persons_ledger(gql, world):
    result = ledger_of(gql, world.haidian[0], principal=citizen(world.chaoyang[0]))
    assert result.codes == ["NOT_FOUND"]


def test_anonymous_callers_in_production_cannot_read_persons(gql, world):
    assert ledger_of(gql, world.haidian[0], principal=Principal.anonymous()).codes == [
        "UNAUTHENTICATED"
    ]


def test_a_citizen_redeems_points_and_the_balance_drops(gql, world):
    mutation = 'mutation { redeemPoints(points: 100, reward: "metro card top-up") { points reward balance { balance redeemed } } }'
    data = gql(
        mutation, principal=citizen(world.haidian[0], Scope.LEDGER_READ, Scope.POINTS_REDEEM)
    ).ok()["redeemPoints"]
    assert data == {
        "points": 100,
        "reward": "metro card top-up",
        "balance": {"balance": 4, "redeemed": 100},
    }


def test_redeeming_more_than_the_balance_is_refused(gql, world):
    mutation = 'mutation { redeemPoints(points: 1000, reward: "bike pass") { points } }'
    result = gql(
        mutation, principal=citizen(world.haidian[0], Scope.LEDGER_READ, Scope.POINTS_REDEEM)
    )
    assert result.codes == ["CONFLICT"]
    assert "balance is 104" in result.errors[0][0]


def test_a_page_larger_than_500_is_refused(gql, world):
    assert ledger_of(gql, world.haidian[0], first=501).codes == ["BAD_USER_INPUT"]


def test_a_forged_cursor_is_refused(gql, world):
    assert ledger_of(gql, world.haidian[0], after="bm90LWEtY3Vyc29y").codes == ["BAD_USER_INPUT"]
