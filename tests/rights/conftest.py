"""Citizens with a full life in the hub: ledger, points, consents, receipts, log, account, OAuth.

The consent service writes these rows in production; here they are inserted directly so that
export and erasure are tested against every table that can name a person.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from carbonhub.actors import employ, move_residence
from carbonhub.consent.access_log import Access, record_access
from carbonhub.db import read_session, write_session
from carbonhub.hub import Hub
from carbonhub.ledger import points_balance, redeem_points, reverse_entry
from carbonhub.ledger.disputes import open_dispute
from carbonhub.models import (
    AccessToken,
    AuthorizationCode,
    ConsentEvent,
    ConsentGrant,
    ConsentGrantCategory,
    ConsentHead,
    ConsentReceipt,
    ConsentRequest,
    LedgerEntry,
    LoginSession,
    OAuthClient,
    OAuthGrant,
    PersonDailyRollup,
    QuarantinedEvent,
    RefreshToken,
    RegionDailyRollup,
)
from tests.fixtures.actors import event

NOW = datetime(2023, 8, 1, 4, 0, tzinfo=UTC)
PRIMARY = "beijing-green-life-2023@1.0"
_serial = itertools.count(1)


@dataclass(frozen=True)
class Citizen:
    """A citizen as the tests know them."""

    person_id: str
    username: str
    enterprise_id: str
    consent_id: str
    request_id: str
    grant_id: str


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()


def _consent_rows(
    person_id: str, enterprise_id: str, client_id: str
) -> tuple[str, str, list[list], Access]:
    """A request from the employer, the citizen's grant, its history, receipt and access log."""
    n = next(_serial)
    request_id, consent_id = f"req_{n}", f"con_{n}"
    request = ConsentRequest(
        id=request_id,
        enterprise_id=enterprise_id,
        client_id=client_id,
        purpose="esg_reporting",
        categories="transport food",
        data_from=date(2023, 6, 15),
        data_to=date(2023, 10, 31),
        consent_expires_at=NOW + timedelta(days=365),
        notice_version="esg-1",
        created_at=NOW - timedelta(days=30),
    )
    grant = ConsentGrant(
        id=consent_id,
        kind="share",
        person_id=person_id,
        recipient_kind="enterprise",
        recipient_id=enterprise_id,
        purpose="esg_reporting",
        categories="transport food",
        data_from=date(2023, 6, 15),
        data_to=date(2023, 10, 31),
        granted_at=NOW - timedelta(days=29),
        expires_at=NOW + timedelta(days=365),
        notice_version="esg-1",
        notice_sha256="0" * 64,
        request_id=request_id,
    )
    categories = [
        ConsentGrantCategory(consent_id=consent_id, category=c) for c in ("transport", "food")
    ]
    asked = ConsentEvent(
        person_id=person_id,
        seq=1,
        event_type="requested",
        request_id=request_id,
        actor=f"enterprise:{enterprise_id}",
        at=NOW - timedelta(days=30),
        prev_hash="0" * 64,
        hash=_digest(person_id, 1),
    )
    granted = ConsentEvent(
        person_id=person_id,
        seq=2,
        event_type="granted",
        consent_id=consent_id,
        request_id=request_id,
        actor=f"person:{person_id}",
        at=NOW - timedelta(days=29),
        prev_hash=_digest(person_id, 1),
        hash=_digest(person_id, 2),
    )
    head = ConsentHead(person_id=person_id, last_seq=2, last_hash=_digest(person_id, 2))
    log = Access(
        recipient_kind="enterprise",
        recipient_id=enterprise_id,
        client_id=client_id,
        purpose="esg_reporting",
        what="person_ledger",
        categories=("transport",),
        period_from=date(2023, 7, 1),
        period_to=date(2023, 7, 31),
        persons=1,
        subject_person_id=person_id,
        consent_ids=(consent_id,),
    )
    # flushed stage by stage: tables without ORM relationships are inserted in no FK order
    return request_id, consent_id, [[request], [grant], [*categories, asked, head], [granted]], log


@pytest.fixture
def make_citizen_with_everything(
    hub: Hub, make_enterprise: Callable[..., str], make_citizen: Callable, post: Callable
) -> Callable[[], Citizen]:
    """A citizen with an account, a move, a job, entries (one reversed), points spent, a consent
    with history, receipt and access log, a dispute, quarantined events, login session and an
    OAuth grant with tokens and a code."""

    def make() -> Citizen:
        n = next(_serial)
        enterprise_id = make_enterprise()
        account = make_citizen().account
        person_id = account.person_id
        client_id = f"app_{n}"
        with write_session(hub.engine) as session:
            employ(
                session, person_id=person_id, enterprise_id=enterprise_id, since=date(2023, 1, 1)
            )
            move_residence(session, person_id=person_id, region_code="110105", on=date(2023, 7, 8))
            session.add(
                OAuthClient(
                    client_id=client_id,
                    kind="app",
                    name=f"Green app {n}",
                    scopes="ledger:read consent:manage",
                )
            )
        report = post(
            [
                event(
                    person_id, "transport.bike_share", "2023-07-03 00:30", km="4", duration_s=1200
                ),
                event(
                    person_id,
                    "food.no_utensils",
                    "2023-07-03 04:00",
                    source="takeaway",
                    order=1,
                    reference=f"o-{person_id}",
                ),
                event(
                    person_id, "transport.bike_share", "2023-07-10 00:30", km="2.5", duration_s=900
                ),
                event(
                    person_id,
                    "transport.metro",
                    "2023-07-12 01:00",
                    source="transit",
                    km="10",
                    ride=1,
                ),
            ]
        )
        assert report.posted == 4
        request_id, consent_id, rows, log = _consent_rows(person_id, enterprise_id, client_id)
        grant_id = f"grant_{n}"
        with write_session(hub.engine) as session:
            entries = list(
                session.scalars(
                    select(LedgerEntry)
                    .where(col(LedgerEntry.person_id) == person_id)
                    .order_by(col(LedgerEntry.seq))
                )
            )
            redeem_points(session, person_id=person_id, points=1, reward="bus ticket")
            for stage in rows:
                session.add_all(stage)
                session.flush()
            (granted,) = rows[-1]
            record_access(session, log, at=NOW)
            session.add(
                ConsentReceipt(
                    id=f"rcpt_{n}",
                    person_id=person_id,
                    consent_id=consent_id,
                    event_id=granted.id,
                    issued_at=NOW,
                    jws=f"eyJhbGciOiJFUzI1NiJ9.{n}.sig",
                )
            )
            session.add(
                LoginSession(
                    token_hash=_digest("session", n),
                    account_id=account.id,
                    expires_at=NOW + timedelta(days=1),
                )
            )
            session.add(
                OAuthGrant(
                    id=grant_id, client_id=client_id, person_id=person_id, scope="ledger:read"
                )
            )
            session.flush()
            session.add_all(
                [
                    RefreshToken(
                        token_hash=_digest("refresh", n),
                        grant_id=grant_id,
                        scope="ledger:read",
                        expires_at=NOW + timedelta(days=30),
                    ),
                    AccessToken(
                        jti=f"jti_{n}", grant_id=grant_id, expires_at=NOW + timedelta(minutes=5)
                    ),
                    AuthorizationCode(
                        code_hash=_digest("code", n),
                        client_id=client_id,
                        person_id=person_id,
                        redirect_uri="https://app.example/cb",
                        scope="ledger:read",
                        code_challenge="x" * 43,
                        code_challenge_method="S256",
                        auth_time=NOW,
                        expires_at=NOW + timedelta(minutes=1),
                        grant_id=grant_id,
                    ),
                    QuarantinedEvent(
                        source="bikeshare",
                        external_id=f"q-{n}",
                        person_id=person_id,
                        behaviour_code="transport.bike_share",
                        reason="implausible",
                        detail="120 km/h",
                        payload=json.dumps({"person_id": person_id}),
                    ),
                    QuarantinedEvent(
                        source="bikeshare",
                        external_id=f"m-{n}",
                        reason="malformed",
                        detail="no behaviour",
                        payload=f'{{"person": "{person_id}"',
                    ),
                ]
            )
            open_dispute(
                session,
                person_id=person_id,
                entry_id=entries[0].id or 0,
                reason="I walked that day",
                now=NOW,
            )
        with write_session(hub.engine) as session:
            reverse_entry(
                session,
                entry_id=entries[2].id or 0,
                reason="provider withdrew it",
                programmes=hub.programmes,
            )
        return Citizen(person_id, account.username, enterprise_id, consent_id, request_id, grant_id)

    return make


def region_totals(engine: Engine) -> dict[tuple[str, str], int]:
    """Milligrams per (district, methodology key) in the regional rollup."""
    query = select(
        col(RegionDailyRollup.region_code),
        col(RegionDailyRollup.methodology_key),
        func.sum(RegionDailyRollup.reduction_mg),
    ).group_by(col(RegionDailyRollup.region_code), col(RegionDailyRollup.methodology_key))
    with read_session(engine) as session:
        return {(r, m): int(mg) for r, m, mg in session.execute(query)}


def person_contributions(engine: Engine) -> dict[str, dict[tuple[str, str], int]]:
    """Milligrams per person, per (district lived in, methodology key), from the person rollup."""
    query = select(
        col(PersonDailyRollup.person_id),
        col(PersonDailyRollup.region_code),
        col(PersonDailyRollup.methodology_key),
        func.sum(PersonDailyRollup.reduction_mg),
    ).group_by(
        col(PersonDailyRollup.person_id),
        col(PersonDailyRollup.region_code),
        col(PersonDailyRollup.methodology_key),
    )
    result: defaultdict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    with read_session(engine) as session:
        for person, region, key, mg in session.execute(query):
            result[person][(region, key)] = int(mg)
    return dict(result)


def balance(hub: Hub, person_id: str) -> int:
    with read_session(hub.engine) as session:
        return points_balance(session, person_id).balance
