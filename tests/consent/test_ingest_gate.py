"""An event enters the ledger only under its person's ingest consent to the delivering provider."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from carbonhub.consent.ingest import ConsentIngestGate
from carbonhub.db import read_session, write_session
from carbonhub.ledger import Outcome, Rejection
from carbonhub.models import LedgerEntry, QuarantinedEvent, utcnow
from tests.fixtures.actors import event


def ride(person, source="bikeshare"):
    return event(
        person, "transport.bike_share", "2023-07-03 00:30", source=source, km="4", duration_s=1200
    )


@pytest.fixture
def rider(hub, make_person, terms):
    person = make_person(consents=False)
    with write_session(hub.engine) as session:
        hub.consents().grant(
            session,
            person,
            terms("bikeshare", purpose="data_ingest", categories=("transport",)),
            now=utcnow(),
        )
    return person


def post_gated(hub, events):
    return hub.poster().post(hub.engine, events, gate=ConsentIngestGate())


def stored(hub) -> tuple[int, int]:
    with read_session(hub.engine) as session:
        entries = session.scalar(select(func.count()).select_from(LedgerEntry))
        quarantined = session.scalar(select(func.count()).select_from(QuarantinedEvent))
    return entries, quarantined


def test_given_an_ingest_consent_then_the_providers_event_is_posted(hub, rider):
    report = post_gated(hub, [ride(rider)])

    assert report.posted == 1


def test_given_no_ingest_consent_then_the_event_is_rejected_and_not_stored(hub, make_person):
    stranger = make_person(consents=False)

    report = post_gated(hub, [ride(stranger)])

    result = report.results[0]
    assert result.outcome is Outcome.REJECTED
    assert result.reason is Rejection.NO_INGEST_CONSENT
    assert "bikeshare" in (result.detail or "")
    assert stored(hub) == (0, 0)


def test_given_a_consent_to_another_provider_then_the_event_is_rejected(hub, rider):
    report = post_gated(hub, [ride(rider, source="transit")])

    assert report.rejected == 1


def test_given_a_revoked_ingest_consent_then_the_next_event_is_rejected(hub, rider):
    service, now = hub.consents(), utcnow()
    with write_session(hub.engine) as session:
        consent = service.active_for(session, rider, "connector", "bikeshare", "data_ingest", now)
        service.revoke(session, rider, consent.grant.id, now=now)

    report = post_gated(hub, [ride(rider)])

    assert report.rejected == 1
