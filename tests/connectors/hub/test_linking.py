"""Linking a provider account: the provider's OAuth (code + PKCE), tokens encrypted, the ingest
consent recorded with the link, unlinking revokes it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from carbonhub.connectors.linking import LinkFailed
from carbonhub.db import read_session, write_session
from carbonhub.demo.providers import link_simulated
from carbonhub.errors import Conflict
from carbonhub.models import ConsentGrant, LinkedAccount, utcnow
from tests.connectors.hub.conftest import LINK_TERMS, sync


@pytest.fixture
def bikeshare(hub, providers):
    return providers(("bikeshare",)).connectors(hub)


def test_given_a_citizen_approving_at_the_provider_then_the_account_is_linked_with_a_consent(
    bikeshare, make_person, hub
):
    person = make_person(consents=False)

    account = link_simulated(
        bikeshare, person, "bikeshare", "B000001", now=utcnow(), terms=LINK_TERMS
    )

    assert (account.person_id, account.subject, account.status) == (person, "B000001", "active")
    with read_session(hub.engine) as session:
        consent = session.get(ConsentGrant, account.consent_id)
    assert consent is not None
    assert (consent.kind, consent.recipient_id, consent.categories) == (
        "ingest",
        "bikeshare",
        "transport",
    )


def test_given_a_linked_account_then_its_provider_tokens_are_stored_encrypted(
    bikeshare, make_person, hub
):
    person = make_person(consents=False)
    account = link_simulated(
        bikeshare, person, "bikeshare", "B000001", now=utcnow(), terms=LINK_TERMS
    )

    token = asyncio.run(bikeshare.linking.access_token(account, now=utcnow()))

    assert account.access_token is not None
    assert token not in account.access_token
    assert account.refresh_token is not None


def test_given_a_link_request_used_once_then_replaying_its_code_fails(bikeshare, make_person):
    from urllib.parse import parse_qs, urlsplit

    from carbonhub.connectors.simulators import approve_url

    person = make_person(consents=False)
    with write_session(bikeshare.hub.engine) as session:
        url = bikeshare.linking.start(session, person, "bikeshare", LINK_TERMS, now=utcnow())
    query = parse_qs(urlsplit(approve_url(url, "B000001")).query)
    state, code = query["state"][0], query["code"][0]
    asyncio.run(bikeshare.linking.complete("bikeshare", state, code, now=utcnow()))

    with pytest.raises(LinkFailed, match="already used"):
        asyncio.run(bikeshare.linking.complete("bikeshare", state, code, now=utcnow()))


def test_given_an_account_linked_by_one_citizen_then_another_cannot_link_it(bikeshare, make_person):
    link_simulated(
        bikeshare,
        make_person(consents=False),
        "bikeshare",
        "B000001",
        now=utcnow(),
        terms=LINK_TERMS,
    )

    with pytest.raises(Conflict, match="already linked"):
        link_simulated(
            bikeshare,
            make_person(consents=False),
            "bikeshare",
            "B000001",
            now=utcnow(),
            terms=LINK_TERMS,
        )


def test_given_an_unlinked_account_then_the_consent_is_revoked_and_it_is_not_synced(
    bikeshare, make_person, hub
):
    person = make_person(consents=False)
    link_simulated(bikeshare, person, "bikeshare", "B000001", now=utcnow(), terms=LINK_TERMS)

    with write_session(hub.engine) as session:
        account = bikeshare.linking.unlink(session, person, "bikeshare", now=utcnow())
    report = sync(bikeshare)

    assert account.access_token is None
    assert report.runs == ()
    state = bikeshare.hub.consents()
    with read_session(hub.engine) as session:
        consents = state.consents_of(session, person, utcnow())
    assert [c.status for c in consents] == ["revoked"]


def test_given_the_provider_refusing_the_code_then_the_link_fails_and_nothing_is_stored(
    bikeshare, make_person, hub
):
    person = make_person(consents=False)
    with write_session(hub.engine) as session:
        url = bikeshare.linking.start(session, person, "bikeshare", LINK_TERMS, now=utcnow())
    state = url.split("state=")[1].split("&")[0]

    with pytest.raises(LinkFailed, match="refused the code"):
        asyncio.run(bikeshare.linking.complete("bikeshare", state, "forged-code", now=utcnow()))
    with read_session(hub.engine) as session:
        assert session.scalars(select(LinkedAccount)).all() == []
