"""Enterprise ESG reports through GraphQL."""

from decimal import Decimal

from tests.fixtures.graphql import enterprise_client

ESG = """
query ($id: ID!) {
  enterprise(id: $id) {
    id name uscc region { code }
    esgReport(period: "2023-07") {
      participants employees coverage suppressed totalReductionKg methodology { id version }
      byCategory { category { code } reductionKg participants suppressed }
      byMonth { label reductionKg }
      scope3 { category6EmissionsKg category7EmissionsKg coverage method }
    }
  }
}
"""


def test_given_three_employees_then_the_esg_report_sums_their_reductions(gql, world):
    found = gql(ESG, {"id": world.employer}).ok()["enterprise"]
    report = found["esgReport"]
    assert report["participants"] == 3
    assert report["employees"] == 3
    assert Decimal(report["coverage"]) == 1
    assert Decimal(report["totalReductionKg"]) == Decimal("3.13716")  # 3 x 1045.72 g
    assert report["methodology"] == {"id": "beijing-green-life-2023", "version": "1.0"}
    assert len(found["uscc"]) == 18


def test_scope3_says_plainly_what_it_cannot_estimate(gql, world):
    scope3 = gql(ESG, {"id": world.employer}).ok()["enterprise"]["esgReport"]["scope3"]
    assert scope3["category7EmissionsKg"] is None
    assert "project-emission factors" in scope3["method"]


def test_given_fewer_than_k_employees_then_nothing_but_that_fact_is_released(
    gql, world, make_enterprise, make_person, post
):
    from tests.fixtures.actors import event

    small = make_enterprise(name="小微企业")
    worker = make_person("110108", employer=small)
    post([event(worker, "transport.bike_share", "2023-07-04 00:30", km="3", duration_s=900)])
    report = gql(ESG, {"id": small}).ok()["enterprise"]["esgReport"]
    assert report["suppressed"] is True
    assert report["totalReductionKg"] is None
    assert report["participants"] is None
    assert report["byCategory"] == []
    assert report["byMonth"] == []
    assert report["scope3"] is None


def test_an_enterprise_client_reads_only_its_own_report(gql, world, make_enterprise):
    other = make_enterprise(name="别家公司")
    own = gql(ESG, {"id": world.employer}, principal=enterprise_client(world.employer))
    assert own.ok()["enterprise"]["esgReport"]["participants"] == 3
    assert gql(ESG, {"id": other}, principal=enterprise_client(world.employer)).codes == [
        "NOT_FOUND"
    ]


def test_an_unknown_enterprise_is_named_in_the_error(gql, world):
    result = gql(ESG, {"id": "e_nope"})
    assert result.codes == ["NOT_FOUND"]
    assert "e_nope" in result.errors[0][0]
