"""The citizen's rights over their data: a copy of everything (PIPL Art. 45) and erasure (Art. 47).

:func:`export_person` gathers everything carbonhub holds about one person, read straight from
the tables, as JSON-ready data (``format`` ``carbonhub-export/1``); nothing of any other person
is in it. :func:`erase_person` deletes the person and every row naming them, in the caller's
transaction, and keeps what others rely on intact:

* regional rollups are anonymised aggregates that other residents are counted in, so the
  person's contributions are *subtracted* from them (a region total drops by exactly the
  person's contribution, per methodology, to the milligram); the person and enterprise rollups
  are per person and are deleted;
* the access log is a global hash chain over a digest of the subject, so its rows stay and only
  ``subject_person_id`` is cleared: the chain still verifies and no row names the person;
* hash chains are per person, so deleting the person's whole chain with its head leaves every
  other chain valid (``carbonhub ledger verify`` passes).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import SQLModel, col

from carbonhub.aggregates import ReleaseRules, counted_coverage, recount
from carbonhub.bulk import BulkWriter
from carbonhub.consent.access_log import entries_for_person
from carbonhub.consent.history import ENDING_EVENTS
from carbonhub.errors import NotFound
from carbonhub.ledger.rollups import contributions_of
from carbonhub.ledger.state import lock_heads
from carbonhub.models import (
    AccessLogEntry,
    AccessToken,
    AuthorizationCode,
    CitizenAccount,
    ConsentEvent,
    ConsentGrant,
    ConsentGrantCategory,
    ConsentReceipt,
    ConsentRequest,
    Employment,
    Enterprise,
    EntryDispute,
    LedgerEntry,
    LedgerHead,
    LinkedAccount,
    LoginSession,
    OAuthClient,
    OAuthGrant,
    Person,
    PointsRedemption,
    QuarantinedEvent,
    RefreshToken,
    RegionDailyRollup,
    Residence,
    metadata,
    table_of,
    utcnow,
)

EXPORT_LOG_LIMIT = 100_000
EXPORT_FORMAT = "carbonhub-export/1"
JSON_COLUMNS = ("reductions", "measures", "employers")
REGION = table_of(RegionDailyRollup)
REGION_KEY = ("region_code", "local_date", "behaviour_code", "methodology_key")
REGION_AMOUNTS = ("entries", "quantity_milli", "reduction_mg")


# -- export ------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(row: SQLModel, *, without: Iterable[str] = ()) -> dict[str, Any]:
    omitted = set(without)
    return {k: _plain(v) for k, v in row.model_dump().items() if k not in omitted}


def _rows(session: Session, query: Any, *, without: Iterable[str] = ()) -> list[dict[str, Any]]:
    return [_row(r, without=without) for r in session.scalars(query)]


def _owned(
    session: Session, model: Any, person_id: str, order: Any, *, without: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """The rows of ``model`` whose ``person_id`` is the person's, in ``order``."""
    query = select(model).where(model.person_id == person_id).order_by(order, model.id)
    return _rows(session, query, without=without)


def _naming(person_id: str) -> ColumnElement[bool]:
    """Quarantined events naming the person: by column, or in a payload that never parsed."""
    return or_(
        col(QuarantinedEvent.person_id) == person_id,
        col(QuarantinedEvent.payload).contains(person_id, autoescape=True),
    )


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def export_person(
    session: Session, person_id: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """Everything held about ``person_id`` as JSON-ready data; NotFound for an unknown person.

    Secrets are left out even though they are the person's: the password hash, and the digests
    of session tokens and OAuth tokens (a copy of them would only help an attacker).
    """
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound(f"unknown person {person_id!r}")
    moment = now or utcnow()
    return {
        "format": EXPORT_FORMAT,
        "exported_at": moment.isoformat(),
        "person": _person(session, person),
        "ledger": _ledger(session, person_id),
        "points": _points(session, person_id),
        **_consents(session, person_id, moment),
        # reads of their own data, and the releases their consents let them into
        "access_log": [
            _row(entry)
            for entry in reversed(entries_for_person(session, person_id, first=EXPORT_LOG_LIMIT))
        ],
        "disputes": _owned(session, EntryDispute, person_id, col(EntryDispute.opened_at)),
        # the provider's tokens stay out, like every other secret
        "provider_accounts": _owned(
            session,
            LinkedAccount,
            person_id,
            col(LinkedAccount.linked_at),
            without=("person_id", "access_token", "refresh_token"),
        ),
        "quarantined_events": [
            {**_row(q, without=("payload",)), "payload": _json_or_text(q.payload)}
            for q in session.scalars(
                select(QuarantinedEvent)
                .where(_naming(person_id))
                .order_by(col(QuarantinedEvent.id))
            )
        ],
        **_account(session, person_id),
    }


def _person(session: Session, person: Person) -> dict[str, Any]:
    employment = session.execute(
        select(Employment, col(Enterprise.name))
        .join(Enterprise, col(Enterprise.id) == col(Employment.enterprise_id))
        .where(col(Employment.person_id) == person.id)
        .order_by(col(Employment.valid_from), col(Employment.id))
    )
    return {
        **_row(person),
        "residences": _owned(
            session, Residence, person.id, col(Residence.valid_from), without=("person_id",)
        ),
        "employment": [
            {**_row(job, without=("person_id",)), "enterprise_name": name}
            for job, name in employment
        ],
    }


def _ledger(session: Session, person_id: str) -> list[dict[str, Any]]:
    """The person's entries in chain order, every field, the JSON columns decoded."""
    entries = _owned(session, LedgerEntry, person_id, col(LedgerEntry.seq))
    return [{**e, **{name: json.loads(e[name]) for name in JSON_COLUMNS}} for e in entries]


def _points(session: Session, person_id: str) -> dict[str, Any]:
    head = session.get(LedgerHead, person_id, populate_existing=True)
    earned = head.points_earned if head is not None else 0
    redeemed = head.points_redeemed if head is not None else 0
    return {
        "earned": earned,
        "redeemed": redeemed,
        "balance": earned - redeemed,
        "chain_head": None
        if head is None
        else {"last_seq": head.last_seq, "last_hash": head.last_hash},
        "redemptions": _owned(
            session,
            PointsRedemption,
            person_id,
            col(PointsRedemption.redeemed_at),
            without=("person_id",),
        ),
    }


def _consents(session: Session, person_id: str, now: datetime) -> dict[str, Any]:
    history = list(
        session.scalars(
            select(ConsentEvent)
            .where(col(ConsentEvent.person_id) == person_id)
            .order_by(col(ConsentEvent.seq))
        )
    )
    by_consent: defaultdict[str, list[ConsentEvent]] = defaultdict(list)
    for event in history:
        if event.consent_id is not None:
            by_consent[event.consent_id].append(event)
    grants = list(
        session.scalars(
            select(ConsentGrant)
            .where(col(ConsentGrant.person_id) == person_id)
            .order_by(col(ConsentGrant.granted_at), col(ConsentGrant.id))
        )
    )
    categories: defaultdict[str, list[str]] = defaultdict(list)
    if grants:
        for consent_id, category in session.execute(
            select(col(ConsentGrantCategory.consent_id), col(ConsentGrantCategory.category))
            .where(col(ConsentGrantCategory.consent_id).in_([g.id for g in grants]))
            .order_by(col(ConsentGrantCategory.category))
        ):
            categories[consent_id].append(category)
    request_ids = {e.request_id for e in history} | {g.request_id for g in grants}
    request_ids.discard(None)
    return {
        "consents": [
            {
                **_row(g),
                "category_list": categories[g.id],
                "status": _status(g, by_consent[g.id], now),
                "events": [_row(e) for e in by_consent[g.id]],
            }
            for g in grants
        ],
        "consent_history": [_row(e) for e in history],
        "consent_requests": _rows(
            session,
            select(ConsentRequest)
            .where(col(ConsentRequest.id).in_(sorted(r for r in request_ids if r)))
            .order_by(col(ConsentRequest.created_at), col(ConsentRequest.id)),
        ),
        "consent_receipts": _owned(
            session, ConsentReceipt, person_id, col(ConsentReceipt.issued_at)
        ),
    }


def _status(grant: ConsentGrant, events: Sequence[ConsentEvent], now: datetime) -> str:
    ending = [e.event_type for e in events if e.event_type in ENDING_EVENTS]
    if ending:
        return ending[-1]
    return "expired" if grant.expires_at <= now else "active"


def _account(session: Session, person_id: str) -> dict[str, Any]:
    account = session.scalars(
        select(CitizenAccount).where(col(CitizenAccount.person_id) == person_id)
    ).first()
    sessions: list[dict[str, Any]] = []
    if account is not None:
        sessions = _rows(
            session,
            select(LoginSession)
            .where(col(LoginSession.account_id) == account.id)
            .order_by(col(LoginSession.created_at)),
            without=("token_hash", "account_id"),
        )
    grants = session.execute(
        select(OAuthGrant, col(OAuthClient.name))
        .join(OAuthClient, col(OAuthClient.client_id) == col(OAuthGrant.client_id))
        .where(col(OAuthGrant.person_id) == person_id)
        .order_by(col(OAuthGrant.created_at), col(OAuthGrant.id))
    )
    return {
        "account": None
        if account is None
        else {
            "username": account.username,
            "created_at": _plain(account.created_at),
            "disabled_at": _plain(account.disabled_at),
            "login_sessions": sessions,
        },
        "oauth_grants": [
            {**_row(grant, without=("person_id",)), "client_name": name} for grant, name in grants
        ],
    }


# -- erasure -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ErasureReport:
    """What an erasure removed: the receipt handed back to the citizen.

    Attributes:
        rows: rows deleted per table (``access_log``: rows whose subject id was cleared).
        removed_mg: milligrams CO2e subtracted from the regional rollups, per methodology key
            (net of reversals; the person's whole contribution to regional statistics).
    """

    person_id: str
    erased_at: datetime
    rows: dict[str, int] = field(default_factory=dict)
    removed_mg: dict[str, int] = field(default_factory=dict)


def erase_person(
    session: Session, person_id: str, *, now: datetime, rules: ReleaseRules
) -> ErasureReport:
    """Erase ``person_id`` and every row naming them, in the caller's transaction.

    NotFound for an unknown person (so erasing twice says the person is gone). The chain head is
    locked first, so no posting for the person can slip in between subtracting the rollups and
    deleting the entries.
    """
    if session.get(Person, person_id) is None:
        raise NotFound(f"unknown person {person_id!r}")
    lock_heads(session, [person_id])
    rows: dict[str, int] = {}

    def count(table: str, done: int) -> None:
        if done:
            rows[table] = rows.get(table, 0) + done

    removed = _subtract_regional_contributions(session, person_id)
    # out of every released aggregate first (sums and distinct-person counters)
    recount(
        session, rules, person_id, counted_coverage(session, [person_id]).get(person_id, []), []
    )
    for table, done in _erase_dependents(session, person_id):
        count(table, done)
    for table in reversed(metadata.sorted_tables):
        if "person_id" in table.c:
            count(
                table.name, _deleted(session, delete(table).where(table.c.person_id == person_id))
            )
    count("person", _deleted(session, delete(Person).where(col(Person.id) == person_id)))
    return ErasureReport(person_id, now, rows, removed)


def _deleted(session: Session, statement: Any) -> int:
    rowcount: int = getattr(session.execute(statement), "rowcount", 0)
    return max(rowcount, 0)


def _erase_dependents(session: Session, person_id: str) -> Iterable[tuple[str, int]]:
    """Rows that name the person only through another row (or in text), before the sweep."""
    grants = select(col(OAuthGrant.id)).where(col(OAuthGrant.person_id) == person_id)
    accounts = select(col(CitizenAccount.id)).where(col(CitizenAccount.person_id) == person_id)
    consents = select(col(ConsentGrant.id)).where(col(ConsentGrant.person_id) == person_id)
    entries = select(col(LedgerEntry.id)).where(col(LedgerEntry.person_id) == person_id)
    statements: list[tuple[str, Any]] = [
        ("login_session", delete(LoginSession).where(col(LoginSession.account_id).in_(accounts))),
        ("oauth_access_token", delete(AccessToken).where(col(AccessToken.grant_id).in_(grants))),
        ("oauth_refresh_token", delete(RefreshToken).where(col(RefreshToken.grant_id).in_(grants))),
        (
            "oauth_authorization_code",
            delete(AuthorizationCode).where(col(AuthorizationCode.grant_id).in_(grants)),
        ),
        (
            "consent_grant_category",
            delete(ConsentGrantCategory).where(col(ConsentGrantCategory.consent_id).in_(consents)),
        ),
        ("entry_dispute", delete(EntryDispute).where(col(EntryDispute.entry_id).in_(entries))),
        ("quarantined_event", delete(QuarantinedEvent).where(_naming(person_id))),
        (
            "access_log",
            update(AccessLogEntry)
            .where(col(AccessLogEntry.subject_person_id) == person_id)
            .values(subject_person_id=None),
        ),
    ]
    for table, statement in statements:
        yield table, _deleted(session, statement)


def _subtract_regional_contributions(session: Session, person_id: str) -> dict[str, int]:
    """Take the person's entries out of the regional rollups; returns mg removed per method."""
    deltas: defaultdict[tuple[str, date, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    removed: defaultdict[str, int] = defaultdict(int)
    query = select(
        col(LedgerEntry.region_code),
        col(LedgerEntry.local_date),
        col(LedgerEntry.behaviour_code),
        col(LedgerEntry.entry_type),
        col(LedgerEntry.reductions),
    ).where(col(LedgerEntry.person_id) == person_id)
    for region, day, behaviour, entry_type, reductions in session.execute(query):
        sign = -1 if entry_type == "reversal" else 1
        for c in contributions_of(json.loads(reductions), sign):
            delta = deltas[(region, day, behaviour, c.methodology_key)]
            delta[0] -= c.entries
            delta[1] -= c.quantity_milli
            delta[2] -= c.reduction_mg
            removed[c.methodology_key] += c.reduction_mg
    if deltas:
        BulkWriter(session).upsert_adding(
            REGION,
            (*REGION_KEY, *REGION_AMOUNTS),
            REGION_KEY,
            REGION_AMOUNTS,
            [(*key, *amounts) for key, amounts in deltas.items()],
        )
        _drop_empty_region_rows(session, REGION, deltas)
    return dict(sorted(removed.items()))


def _drop_empty_region_rows(
    session: Session, table: Table, keys: Mapping[tuple[Any, ...], Any]
) -> None:
    """Delete the touched rows that now sum to nothing (nobody is counted in them any more)."""
    statement = delete(table).where(
        *(table.c[name] == bindparam(f"k_{name}") for name in REGION_KEY),
        *(table.c[name] == 0 for name in REGION_AMOUNTS),
    )
    params = [
        {f"k_{name}": value for name, value in zip(REGION_KEY, key, strict=True)} for key in keys
    ]
    session.connection().execute(statement, params)
