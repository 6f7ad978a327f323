"""Domain telemetry in-process: ledger batches and event outcomes, consent changes."""

from __future__ import annotations

import pytest

from carbonhub.db import write_session
from carbonhub.hub import Hub
from carbonhub.models import utcnow
from tests.fixtures.actors import event, sharing
from tests.telemetry.conftest import Recording


def test_given_a_batch_with_a_bad_event_then_its_span_and_the_counter_have_each_outcome(
    recording: Recording, hub: Hub, make_person, post
) -> None:
    person = make_person()
    ride = event(person, "transport.bike_share", "2023-07-01 01:00", km="3", duration_s=900)
    post([ride])
    report = post(
        [
            ride,  # posted before: a duplicate
            event(person, "transport.bike_share", "2023-07-02 01:00", km="3", duration_s=900),
            {"source": "bikeshare", "external_id": "bad-1"},  # malformed: quarantined
        ]
    )
    assert (report.posted, report.duplicates, report.quarantined) == (1, 1, 1)
    first, second = recording.spans("ledger.post_batch")
    assert dict(second.attributes or {}) == {
        "carbonhub.events.count": 3,
        "carbonhub.events.posted": 1,
        "carbonhub.events.duplicate": 1,
        "carbonhub.events.quarantined": 1,
        "carbonhub.events.rejected": 0,
    }
    assert first.attributes is not None
    assert first.attributes["carbonhub.events.posted"] == 1
    counted = {
        (p["source"], p["outcome"]): p["amount"] for p in recording.points("carbonhub.events")
    }
    assert counted == {
        ("bikeshare", "posted"): 2,
        ("bikeshare", "duplicate"): 1,
        ("bikeshare", "quarantined"): 1,
    }


def test_given_a_consent_granted_then_revoked_then_both_changes_are_counted_by_purpose(
    recording: Recording, hub: Hub, make_person
) -> None:
    person = make_person(consents=False)
    consents = hub.consents()
    with write_session(hub.engine) as session:
        grant = consents.grant(
            session, person, sharing("regional_statistics", "110000", hub), now=utcnow()
        )
    with write_session(hub.engine) as session:
        consents.revoke(session, person, grant.id, now=utcnow())
    counted = {
        (p["change"], p["purpose"]): p["amount"] for p in recording.points("carbonhub.consents")
    }
    assert counted == {
        ("granted", "regional_statistics"): 1,
        ("revoked", "regional_statistics"): 1,
    }
    assert all(person not in str(p.values()) for p in recording.points("carbonhub.consents"))


def test_given_a_grant_rolled_back_then_it_is_not_counted(
    recording: Recording, hub: Hub, make_person
) -> None:
    person = make_person(consents=False)
    terms = sharing("regional_statistics", "110000", hub)

    def grant_then_fail() -> None:
        with write_session(hub.engine) as session:
            hub.consents().grant(session, person, terms, now=utcnow())
            raise RuntimeError("the request failed after the grant")

    with pytest.raises(RuntimeError):
        grant_then_fail()
    assert recording.points("carbonhub.consents") == []
