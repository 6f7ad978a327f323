"""The sync runner over real simulators: exactly once, faults delay but lose nothing, rate
limits and token expiry are honoured, a provider that stays down suspends the account."""

from __future__ import annotations

import asyncio
import random

from sqlalchemy import select

from carbonhub.db import read_session, write_session
from carbonhub.models import LinkedAccount, SyncRun
from tests.connectors.hub.conftest import fast_hub, ledger_of, sync

BOTH = ("bikeshare", "transit")


def test_given_linked_accounts_when_synced_then_every_valid_record_is_posted_once(
    hub, providers, linked
):
    connectors = providers(BOTH).connectors(hub)
    linked(connectors, 4, BOTH)

    first = sync(connectors)
    second = sync(connectors)

    assert [r.status for r in first.runs] == ["ok"] * 8
    posted = sum(r.counts["posted"] for r in first.runs)
    assert posted == len(ledger_of(hub)) > 0
    assert sum(r.counts["posted"] for r in second.runs) == 0


def test_given_a_faulty_provider_then_the_final_ledger_equals_the_fault_free_run(
    hub, providers, linked, engine
):
    faulty = providers(
        BOTH, error_rate=0.2, duplicate_rate=0.2, malformed_rate=0.2, shuffle=True, page_size=3
    ).connectors(fast_hub(hub, sync_retries=12))
    linked(faulty, 4, BOTH)

    report = sync(faulty, rng=random.Random(7))
    faulty_ledger = ledger_of(hub)
    with write_session(hub.engine) as session:
        for account in session.scalars(select(LinkedAccount)):
            account.cursor = None  # replay everything from a fault-free provider
    clean = providers(BOTH).connectors(hub)
    _relink_to(clean, hub)
    replay = sync(clean)

    assert all(r.status == "ok" for r in report.runs), [r.error for r in report.runs]
    assert sum(r.counts["errors"] for r in report.runs) > 0
    assert sum(r.counts["quarantined"] for r in report.runs) > 0
    assert sum(r.counts["posted"] for r in replay.runs) == 0  # nothing was missing
    assert ledger_of(hub) == faulty_ledger


def _relink_to(connectors, hub) -> None:
    """Point the linked accounts at other simulators (same seed, so the same histories)."""
    from carbonhub.demo.providers import link_simulated
    from tests.connectors.hub.conftest import LINK_TERMS

    with read_session(hub.engine) as session:
        accounts = [
            (a.person_id, a.connector, a.subject) for a in session.scalars(select(LinkedAccount))
        ]
    from carbonhub.models import utcnow

    for person, slug, subject in accounts:
        link_simulated(connectors, person, slug, subject, now=utcnow(), terms=LINK_TERMS)


def test_given_a_rate_limited_provider_then_the_sync_waits_its_retry_after_and_completes(
    hub, providers, linked
):
    connectors = providers(("bikeshare",), rate_limit=5, page_size=1).connectors(fast_hub(hub))
    linked(connectors, 3)
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    report = sync(connectors, sleep=record)

    assert all(r.status == "ok" for r in report.runs)
    assert waits
    assert min(waits) >= 1.0


def test_given_a_provider_that_stays_down_then_the_account_is_suspended_after_repeated_failures(
    hub, providers, linked
):
    connectors = providers(("bikeshare",), error_rate=1.0).connectors(
        fast_hub(hub, sync_retries=1, sync_max_failures=2)
    )
    linked(connectors, 1)

    first, second, third = sync(connectors), sync(connectors), sync(connectors)

    assert [r.status for r in first.runs] == ["failed"]
    assert [r.status for r in second.runs] == ["suspended"]
    assert third.runs == ()  # suspended accounts wait for an operator or a new link
    with read_session(hub.engine) as session:
        account = session.scalars(select(LinkedAccount)).one()
        runs = session.scalars(select(SyncRun).order_by(SyncRun.id)).all()
    assert account.cursor is None  # nothing was skipped
    assert "HTTP 5" in (account.last_error or "")
    assert [r.errors for r in runs] == [2, 2]


def test_given_short_lived_provider_tokens_then_the_sync_refreshes_and_rotates_them(
    hub, providers, linked
):
    connectors = providers(("bikeshare",), token_ttl=30).connectors(hub)
    linked(connectors, 1)
    with read_session(hub.engine) as session:
        before = session.scalars(select(LinkedAccount)).one().refresh_token

    report = sync(connectors)

    with read_session(hub.engine) as session:
        after = session.scalars(select(LinkedAccount)).one().refresh_token
    assert [r.status for r in report.runs] == ["ok"]
    assert after != before


def test_given_a_revoked_ingest_consent_then_synced_records_are_rejected_not_stored(
    hub, providers, linked
):
    from carbonhub.models import utcnow

    connectors = providers(("bikeshare",)).connectors(hub)
    (person,) = linked(connectors, 1)
    with write_session(hub.engine) as session:
        account = session.scalars(select(LinkedAccount)).one()
        hub.consents().revoke(session, person, account.consent_id, now=utcnow())

    report = sync(connectors)

    (run,) = report.runs
    assert run.counts["posted"] == 0
    assert run.counts["rejected"] == run.counts["fetched"] > 0
    assert ledger_of(hub) == {}
