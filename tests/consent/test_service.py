"""Giving, narrowing, revoking consents and answering enterprises' requests."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from carbonhub.consent.history import first_broken_event
from carbonhub.db import read_session, write_session
from carbonhub.errors import Conflict, InvalidInput, NotFound
from carbonhub.models import ConsentEvent, ConsentReceipt
from tests.consent.conftest import NOW

TRANSPORT = ("transport",)


@pytest.fixture
def ask(hub, service):
    """An enterprise asks its current employees to share ``categories`` of their 2023 data."""

    def make(enterprise: str, categories: tuple[str, ...]):
        with write_session(hub.engine) as session:
            return service.request(
                session,
                enterprise_id=enterprise,
                client_id=None,
                categories=categories,
                data_from=date(2023, 1, 1),
                data_to=date(2023, 12, 31),
                consent_expires_at=NOW + timedelta(days=200),
                now=NOW,
            )

    return make


@pytest.fixture
def employee(make_person, make_enterprise):
    employer = make_enterprise()
    return make_person(employer=employer, consents=False), employer


def test_given_an_employee_when_they_consent_then_it_is_active_with_a_receipt(
    hub, service, terms, employee
):
    person, employer = employee
    with write_session(hub.engine) as session:
        grant = service.grant(session, person, terms(employer), now=NOW)

    with read_session(hub.engine) as session:
        state = service.state(session, person, grant.id, NOW)
        receipts = session.query(ConsentReceipt).filter_by(consent_id=grant.id).all()
    assert state.status == "active"
    assert len(receipts) == 1


def test_given_a_consent_when_revoked_twice_then_the_second_changes_nothing(
    hub, service, terms, employee
):
    person, employer = employee
    with write_session(hub.engine) as session:
        grant = service.grant(session, person, terms(employer), now=NOW)
    with write_session(hub.engine) as session:
        first = service.revoke(session, person, grant.id, now=NOW)
    with write_session(hub.engine) as session:
        second = service.revoke(session, person, grant.id, now=NOW + timedelta(minutes=1))

    assert first.status == second.status == "revoked"
    assert first.status_at == second.status_at
    with read_session(hub.engine) as session:
        revocations = session.query(ConsentEvent).filter_by(
            consent_id=grant.id, event_type="revoked"
        )
        assert revocations.count() == 1


def test_given_a_consent_when_narrowed_then_a_new_one_supersedes_it(hub, service, terms, employee):
    person, employer = employee
    with write_session(hub.engine) as session:
        grant = service.grant(session, person, terms(employer), now=NOW)
    with write_session(hub.engine) as session:
        narrower = service.narrow(session, person, grant.id, categories=TRANSPORT, now=NOW)

    with read_session(hub.engine) as session:
        assert service.state(session, person, grant.id, NOW).status == "superseded"
        assert service.state(session, person, narrower.id, NOW).categories == TRANSPORT
        types = [e.event_type for e in session.query(ConsentEvent).filter_by(person_id=person)]
    assert types == ["granted", "narrowed", "superseded"]


def test_given_an_expiry_in_the_past_then_granting_is_refused(hub, service, terms, employee):
    person, employer = employee
    with write_session(hub.engine) as session, pytest.raises(InvalidInput, match="future"):
        service.grant(session, person, terms(employer, expires_at=NOW - timedelta(days=1)), now=NOW)


def test_given_an_expiry_beyond_the_programme_maximum_then_granting_is_refused(
    hub, service, terms, employee
):
    person, employer = employee
    too_late = NOW + timedelta(days=2000)
    with write_session(hub.engine) as session, pytest.raises(InvalidInput, match="at most"):
        service.grant(session, person, terms(employer, expires_at=too_late), now=NOW)


def test_given_an_unknown_recipient_then_granting_names_it(hub, service, terms, employee):
    person, _ = employee
    with write_session(hub.engine) as session, pytest.raises(NotFound, match="e_nobody"):
        service.grant(session, person, terms("e_nobody"), now=NOW)


def test_given_another_employer_then_the_citizen_cannot_share_with_it(
    hub, service, terms, employee, make_enterprise
):
    person, _ = employee
    stranger = make_enterprise(name="别家公司")
    with write_session(hub.engine) as session, pytest.raises(InvalidInput, match="does not employ"):
        service.grant(session, person, terms(stranger), now=NOW)


def test_given_a_request_when_employees_answer_then_the_enterprise_sees_only_approvals(
    hub, service, ask, make_enterprise, make_person
):
    employer = make_enterprise()
    staff = [make_person(employer=employer, consents=False) for _ in range(3)]
    request = ask(employer, ("transport", "food"))
    with write_session(hub.engine) as session:
        service.answer(session, staff[0], request.id, approve=True, now=NOW)
        service.answer(session, staff[1], request.id, approve=False, now=NOW)

    with read_session(hub.engine) as session:
        assert service.request_summary(session, request.id, NOW) == (3, 1)
        assert [r.id for r in service.pending_requests(session, staff[2])] == [request.id]
        assert service.pending_requests(session, staff[1]) == []


def test_given_a_request_when_approving_a_category_it_did_not_ask_then_refused(
    hub, service, ask, make_enterprise, make_person
):
    employer = make_enterprise()
    worker = make_person(employer=employer, consents=False)
    request = ask(employer, ("transport",))
    with write_session(hub.engine) as session, pytest.raises(InvalidInput, match="did not ask"):
        service.answer(session, worker, request.id, approve=True, now=NOW, categories=("food",))


def test_given_an_answered_request_when_answered_again_then_conflict(
    hub, service, ask, make_enterprise, make_person
):
    employer = make_enterprise()
    worker = make_person(employer=employer, consents=False)
    request = ask(employer, ("transport",))
    with write_session(hub.engine) as session:
        service.answer(session, worker, request.id, approve=False, now=NOW)
    with write_session(hub.engine) as session, pytest.raises(Conflict):
        service.answer(session, worker, request.id, approve=True, now=NOW)


def test_given_a_history_when_an_event_is_edited_then_the_chain_names_it(
    hub, service, terms, employee
):
    person, employer = employee
    with write_session(hub.engine) as session:
        grant = service.grant(session, person, terms(employer), now=NOW)
    with write_session(hub.engine) as session:
        service.revoke(session, person, grant.id, now=NOW)
    with read_session(hub.engine) as session:
        assert first_broken_event(session, person) is None

    with write_session(hub.engine) as session:
        event = session.query(ConsentEvent).filter_by(person_id=person, seq=2).one()
        event.reason = "quietly rewritten"

    with read_session(hub.engine) as session:
        assert first_broken_event(session, person) == 2


def test_given_a_history_when_the_consent_terms_are_edited_then_the_chain_breaks(
    hub, service, terms, employee
):
    person, employer = employee
    with write_session(hub.engine) as session:
        grant = service.grant(session, person, terms(employer), now=NOW)
    with write_session(hub.engine) as session:
        stored = session.get(type(grant), grant.id)
        stored.data_to = stored.data_to.replace(year=2030)

    with read_session(hub.engine) as session:
        assert first_broken_event(session, person) == 1


def test_given_an_expired_consent_when_expiries_are_recorded_then_once_in_the_history(
    hub, service, terms, employee
):
    person, employer = employee
    with write_session(hub.engine) as session:
        grant = service.grant(
            session, person, terms(employer, expires_at=NOW + timedelta(days=1)), now=NOW
        )
    later = NOW + timedelta(days=2)

    with write_session(hub.engine) as session:
        first = service.record_expiries(session, later)
    with write_session(hub.engine) as session:
        second = service.record_expiries(session, later)

    assert (first >= 1, second) == (True, 0)
    with read_session(hub.engine) as session:
        assert service.state(session, person, grant.id, later).status == "expired"
        assert (
            session.query(ConsentEvent).filter_by(consent_id=grant.id, event_type="expired").count()
            == 1
        )


def test_given_a_consent_when_its_recipient_terminates_it_then_it_ends_with_that_reason(
    hub, service, terms, employee
):
    person, employer = employee
    with write_session(hub.engine) as session:
        grant = service.grant(session, person, terms(employer), now=NOW)
    with write_session(hub.engine) as session:
        state = service.terminate(session, employer, grant.id, now=NOW, reason="report stopped")

    assert (state.status, state.status_reason) == ("terminated", "report stopped")


def test_given_another_enterprise_when_it_terminates_a_consent_then_not_found(
    hub, service, terms, employee, make_enterprise
):
    person, employer = employee
    with write_session(hub.engine) as session:
        grant = service.grant(session, person, terms(employer), now=NOW)
    other = make_enterprise(name="别家公司")

    with write_session(hub.engine) as session, pytest.raises(NotFound):
        service.terminate(session, other, grant.id, now=NOW)
