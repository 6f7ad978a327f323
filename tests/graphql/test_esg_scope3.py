"""Scope 3 categories 6 and 7 of the ESG report, under a methodology with project-emission factors.

No shipped methodology publishes project-emission factors, so these tests register one that
does (baseline 100 g/km, project 20 g/km for shared bikes; baseline 90 g, project 30 g a metro
ride) beside the packaged ones.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from carbonhub.hub import Hub
from carbonhub.ledger.verify import verify_ledger
from carbonhub.methodology import Methodology, MethodologyRegistry
from carbonhub.methodology.model import Factor
from tests.fixtures.actors import event

WITH_PROJECT_FACTORS = Methodology(
    id="scope3-test",
    version="1.0",
    name_en="Test methodology with project-emission factors",
    name_zh="测试方法学",
    publisher="carbonhub tests",
    source="tests/graphql/test_esg_scope3.py",
    effective_from=date(2020, 1, 1),
    effective_to=None,
    factors=(
        Factor("transport.bike_share", "km", Decimal(80), Decimal(100), Decimal(20)),
        Factor("transport.metro", "ride", Decimal(60), Decimal(90), Decimal(30)),
    ),
)

SCOPE3 = """
query ($id: ID!, $methodology: ID) {
  enterprise(id: $id) {
    esgReport(period: "2023-07", methodology: $methodology) {
      totalReductionKg
      scope3 { category6EmissionsKg category7EmissionsKg coverage method }
    }
  }
}
"""


@pytest.fixture
def hub(hub: Hub) -> Hub:
    """The test hub with a methodology that gives project-emission factors."""
    registry = MethodologyRegistry(
        hub.registry.catalogue, [*hub.registry.all(), WITH_PROJECT_FACTORS]
    )
    return dataclasses.replace(hub, registry=registry)


@pytest.fixture
def commuters(make_person, make_enterprise, post):
    """12 employees: each commutes 5 km by bike and takes a metro ride on a business trip."""
    employer = make_enterprise()
    staff = [make_person("110108", employer=employer) for _ in range(12)]
    events = []
    for person in staff:
        events.append(
            event(person, "transport.bike_share", "2023-07-03 00:30", km="5", duration_s=1500)
        )
        trip = event(
            person, "transport.metro", "2023-07-04 01:00", source="transit", km="12", ride=1
        )
        events.append(dataclasses.replace(trip, business_travel=True))
    assert post(events).posted == len(events)
    return employer


def test_given_project_factors_then_commuting_is_category_7_and_marked_trips_category_6(
    gql, commuters
):
    report = gql(SCOPE3, {"id": commuters, "methodology": "scope3-test"}).ok()
    scope3 = report["enterprise"]["esgReport"]["scope3"]

    assert Decimal(scope3["category7EmissionsKg"]) == Decimal("1.2")  # 12 x 5 km x 20 g
    assert Decimal(scope3["category6EmissionsKg"]) == Decimal("0.36")  # 12 rides x 30 g
    assert Decimal(scope3["coverage"]) == 1
    assert "never netted" in scope3["method"]


def test_given_project_factors_then_the_estimates_are_gross_not_netted_against_reductions(
    gql, commuters
):
    report = gql(SCOPE3, {"id": commuters, "methodology": "scope3-test"}).ok()["enterprise"]

    # reductions: 12 x (5 km x 80 g + 60 g) = 5.52 kg, reported beside, not subtracted
    assert Decimal(report["esgReport"]["totalReductionKg"]) == Decimal("5.52")


def test_given_a_methodology_without_project_factors_then_scope3_says_it_cannot_estimate(
    gql, commuters
):
    scope3 = gql(SCOPE3, {"id": commuters, "methodology": None}).ok()["enterprise"]["esgReport"][
        "scope3"
    ]

    assert scope3["category6EmissionsKg"] is None
    assert scope3["category7EmissionsKg"] is None
    assert "no project-emission factors" in scope3["method"]


def test_given_a_marked_trip_then_the_mark_is_in_the_hash_chain(hub, commuters):
    assert verify_ledger(hub.engine).ok
