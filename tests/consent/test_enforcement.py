"""Reports include only what consents cover at read time: revocation bites on the next read."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from carbonhub.db import write_session
from carbonhub.models import utcnow
from tests.consent.conftest import NOW
from tests.fixtures.actors import event
from tests.fixtures.graphql import agency, enterprise_client

ESG = '{ enterprise(id: "%s") { esgReport(period: "2023-07") { participants totalReductionKg } } }'
REGION = (
    '{ region(code: "110108") { report(period: "2023-07") { participants totalReductionKg } } }'
)


@pytest.fixture
def office(make_enterprise, make_person, post):
    """An employer with 3 consenting employees and 1 who never consented; each rides 4 km."""
    employer = make_enterprise()
    sharing = [make_person(employer=employer) for _ in range(3)]
    silent = make_person(employer=employer, consents=False)
    post(
        event(p, "transport.bike_share", "2023-07-03 00:30", km="4", duration_s=1200)
        for p in [*sharing, silent]
    )
    return employer, sharing, silent


def esg(gql, employer):
    return gql(ESG % employer, principal=enterprise_client(employer)).ok()["enterprise"][
        "esgReport"
    ]


def test_given_a_non_consenting_employee_then_the_esg_report_leaves_them_out(gql, office):
    employer, _, _ = office

    report = esg(gql, employer)

    assert report["participants"] == 3
    assert report["totalReductionKg"] == "3"


def test_given_a_revocation_then_the_next_esg_read_excludes_that_employee(
    gql, hub, office, make_person, post
):
    employer, _, _ = office
    extra = make_person(employer=employer)
    post([event(extra, "transport.bike_share", "2023-07-04 00:30", km="4", duration_s=1200)])
    assert esg(gql, employer)["participants"] == 4

    service, now = hub.consents(), utcnow()
    with write_session(hub.engine) as session:
        consent = service.active_for(session, extra, "enterprise", employer, "esg_reporting", now)
        service.revoke(session, extra, consent.grant.id, now=now)

    assert esg(gql, employer)["participants"] == 3


def test_given_a_consent_not_covering_the_category_then_its_rows_are_left_out(
    gql, hub, office, make_person, post
):
    employer, _, _ = office
    diner = make_person(employer=employer, consents=False)
    with write_session(hub.engine) as session:
        hub.consents().grant(
            session,
            diner,
            _terms(hub, "esg_reporting", employer, ("food",)),
            now=NOW,
        )
    post([event(diner, "transport.bike_share", "2023-07-05 00:30", km="4", duration_s=1200)])

    assert esg(gql, employer)["participants"] == 3


def test_given_a_data_window_ending_before_the_rows_then_they_are_left_out(
    gql, hub, office, make_person, post
):
    employer, _, _ = office
    early = make_person(employer=employer, consents=False)
    with write_session(hub.engine) as session:
        hub.consents().grant(
            session,
            early,
            _terms(hub, "esg_reporting", employer, ("transport",), data_to=date(2023, 6, 30)),
            now=NOW,
        )
    post([event(early, "transport.bike_share", "2023-07-05 00:30", km="4", duration_s=1200)])

    assert esg(gql, employer)["participants"] == 3


def test_given_residents_without_regional_consent_then_the_region_report_leaves_them_out(
    gql, make_person, post
):
    sharing = [make_person("110108") for _ in range(3)]
    silent = [make_person("110108", consents=False) for _ in range(2)]
    post(
        event(p, "transport.bike_share", "2023-07-03 00:30", km="4", duration_s=1200)
        for p in sharing + silent
    )

    report = gql(REGION, principal=agency("110000")).ok()["region"]["report"]

    assert report["participants"] == 3


def test_given_a_release_then_the_access_log_shows_it_to_the_consenting_citizens(gql, office):
    employer, sharing, silent = office
    esg(gql, employer)
    query = '{ person(id: "%s") { accessLog { what purpose persons recipientId } } }'

    seen = gql(query % sharing[0]).ok()["person"]["accessLog"]
    unseen = gql(query % silent).ok()["person"]["accessLog"]

    assert {
        "what": "esg_report",
        "purpose": "esg_reporting",
        "persons": 3,
        "recipientId": employer,
    } in seen
    assert all(entry["what"] != "esg_report" for entry in unseen)


def _terms(hub, purpose, recipient, categories, *, data_to=date(2023, 12, 31)):
    from carbonhub.consent.service import ConsentTerms

    return ConsentTerms(
        purpose, recipient, categories, date(2023, 1, 1), data_to, NOW + timedelta(days=200)
    )
