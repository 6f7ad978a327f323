"""Giving, changing and taking back consents; enterprises' consent requests.

Consents are never bundled: each is one recipient and one purpose, the personal ledger works
with none, and the regional-statistics consent is a choice of its own. A consent's terms never
change: narrowing or renewing grants a new consent that supersedes the old one, and every step
is an event in the citizen's hash-chained history with a signed receipt.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.aggregates import ReleaseRules
from carbonhub.auth.keys import KeyRing
from carbonhub.consent.history import ENDING_EVENTS, append_event, ended, in_force
from carbonhub.consent.notices import notice_for
from carbonhub.consent.receipts import issue_receipt
from carbonhub.consent.released import reconcile, sync_person
from carbonhub.errors import Conflict, InvalidInput, NotFound
from carbonhub.methodology import Catalogue, ProgrammeDirectory
from carbonhub.models import (
    ConsentEvent,
    ConsentGrant,
    ConsentGrantCategory,
    ConsentReceipt,
    ConsentRequest,
    Employment,
    Enterprise,
    Person,
)
from carbonhub.settings import Settings
from carbonhub.telemetry import consent_changed

RECIPIENT_OF_PURPOSE = {
    "esg_reporting": "enterprise",
    "regional_statistics": "programme",
    "data_ingest": "connector",
}
KIND_OF_PURPOSE = {
    "esg_reporting": "share",
    "regional_statistics": "share",
    "data_ingest": "ingest",
}


@dataclass(frozen=True, slots=True)
class ConsentTerms:
    """What a citizen is asked to allow."""

    purpose: str
    recipient_id: str
    categories: tuple[str, ...]
    data_from: date
    data_to: date
    expires_at: datetime
    language: str = "zh-CN"


@dataclass(frozen=True, slots=True)
class ConsentState:
    """A consent with its categories and its status at a moment."""

    grant: ConsentGrant
    categories: tuple[str, ...]
    status: str  # active, expired, revoked, terminated, superseded
    status_reason: str | None
    status_at: datetime | None


class ConsentService:
    """Consent operations inside the caller's transaction; receipts signed with the hub's keys."""

    def __init__(
        self,
        settings: Settings,
        keys: KeyRing,
        catalogue: Catalogue,
        programmes: ProgrammeDirectory,
    ) -> None:
        self.settings = settings
        self.keys = keys
        self.catalogue = catalogue
        self.programmes = programmes
        self.release_rules = ReleaseRules(programmes, catalogue.category_of())

    # -- granting -----------------------------------------------------------------------------

    def grant(
        self,
        session: Session,
        person_id: str,
        terms: ConsentTerms,
        *,
        now: datetime,
        request: ConsentRequest | None = None,
        actor: str = "citizen",
    ) -> ConsentGrant:
        """Give a consent; one already active for the same recipient and purpose is superseded."""
        notice = notice_for(terms.purpose)
        recipient_kind = RECIPIENT_OF_PURPOSE[terms.purpose]
        self._check_person(session, person_id)
        self._check_terms(terms, notice.max_days, now)
        recipient_name = self._check_recipient(session, person_id, recipient_kind, terms)
        if request is not None:
            self._check_request_scope(request, terms)
        previous = self.active_for(
            session, person_id, recipient_kind, terms.recipient_id, terms.purpose, now
        )
        grant = ConsentGrant(
            id=f"c_{secrets.token_urlsafe(15)}",
            kind=KIND_OF_PURPOSE[terms.purpose],
            person_id=person_id,
            recipient_kind=recipient_kind,
            recipient_id=terms.recipient_id,
            purpose=terms.purpose,
            categories=" ".join(sorted(set(terms.categories))),
            data_from=terms.data_from,
            data_to=terms.data_to,
            granted_at=now,
            expires_at=terms.expires_at,
            notice_version=notice.version,
            notice_sha256=notice.sha256(terms.language),
            language=terms.language,
            request_id=None if request is None else request.id,
            supersedes_id=None if previous is None else previous.grant.id,
        )
        session.add(grant)
        session.flush()
        categories = sorted(set(terms.categories))
        session.add_all(ConsentGrantCategory(consent_id=grant.id, category=c) for c in categories)
        session.flush()
        event_type = "granted" if previous is None else _change_kind(previous, grant, categories)
        event = append_event(
            session,
            person_id=person_id,
            event_type=event_type,
            consent_id=grant.id,
            request_id=grant.request_id,
            actor=actor,
            at=now,
        )
        issue_receipt(session, self.keys, self.settings, grant, categories, recipient_name, event)
        consent_changed(session, event_type, terms.purpose)
        if previous is not None:
            append_event(
                session,
                person_id=person_id,
                event_type="superseded",
                consent_id=previous.grant.id,
                actor=actor,
                at=now,
                reason=f"replaced by {grant.id}",
            )
        sync_person(session, self.release_rules, person_id, now)
        return grant

    def revoke(
        self,
        session: Session,
        person_id: str,
        consent_id: str,
        *,
        now: datetime,
        reason: str | None = None,
    ) -> ConsentState:
        """Take a consent back, effective for the next read; revoking twice changes nothing."""
        state = self.state(session, person_id, consent_id, now)
        if state.status != "active":
            return state
        event = append_event(
            session,
            person_id=person_id,
            event_type="revoked",
            consent_id=consent_id,
            actor="citizen",
            at=now,
            reason=reason or "revoked by the citizen",
        )
        recipient = self._recipient_name(
            session, state.grant.recipient_kind, state.grant.recipient_id
        )
        issue_receipt(
            session, self.keys, self.settings, state.grant, list(state.categories), recipient, event
        )
        consent_changed(session, "revoked", state.grant.purpose)
        sync_person(session, self.release_rules, person_id, now)
        return self.state(session, person_id, consent_id, now)

    def terminate(
        self,
        session: Session,
        enterprise_id: str,
        consent_id: str,
        *,
        now: datetime,
        reason: str | None = None,
    ) -> ConsentState:
        """The recipient enterprise ends a consent given to it (e.g. the reporting stopped)."""
        grant = session.get(ConsentGrant, consent_id)
        if (
            grant is None
            or grant.recipient_kind != "enterprise"
            or grant.recipient_id != enterprise_id
        ):
            raise NotFound(f"unknown consent {consent_id!r}")
        state = _state_of(session, grant, now)
        if state.status != "active":
            return state
        event = append_event(
            session,
            person_id=grant.person_id,
            event_type="terminated",
            consent_id=consent_id,
            actor=f"enterprise:{enterprise_id}",
            at=now,
            reason=reason or "terminated by the recipient",
        )
        name = self._recipient_name(session, grant.recipient_kind, grant.recipient_id)
        issue_receipt(session, self.keys, self.settings, grant, list(state.categories), name, event)
        consent_changed(session, "terminated", grant.purpose)
        sync_person(session, self.release_rules, grant.person_id, now)
        return _state_of(session, grant, now)

    def narrow(
        self,
        session: Session,
        person_id: str,
        consent_id: str,
        *,
        categories: tuple[str, ...],
        now: datetime,
    ) -> ConsentGrant:
        """Keep sharing only some of a consent's categories (a new consent supersedes it)."""
        state = self.state(session, person_id, consent_id, now)
        if state.status != "active":
            raise Conflict(f"consent {consent_id} is {state.status}; only an active one can change")
        if not categories or not set(categories) < set(state.categories):
            raise InvalidInput("narrowing keeps some, not all, of the consent's categories")
        g = state.grant
        terms = ConsentTerms(
            g.purpose, g.recipient_id, categories, g.data_from, g.data_to, g.expires_at, g.language
        )
        return self.grant(session, person_id, terms, now=now)

    # -- requests -----------------------------------------------------------------------------

    def request(
        self,
        session: Session,
        *,
        enterprise_id: str,
        client_id: str | None,
        categories: tuple[str, ...],
        data_from: date,
        data_to: date,
        consent_expires_at: datetime,
        now: datetime,
    ) -> ConsentRequest:
        """An enterprise asks its current employees for an ESG-reporting consent."""
        if session.get(Enterprise, enterprise_id) is None:
            raise NotFound(f"unknown enterprise {enterprise_id!r}")
        notice = notice_for("esg_reporting")
        self._check_terms(
            ConsentTerms(
                "esg_reporting", enterprise_id, categories, data_from, data_to, consent_expires_at
            ),
            notice.max_days,
            now,
        )
        request = ConsentRequest(
            id=f"q_{secrets.token_urlsafe(15)}",
            enterprise_id=enterprise_id,
            client_id=client_id,
            purpose="esg_reporting",
            categories=" ".join(sorted(set(categories))),
            data_from=data_from,
            data_to=data_to,
            consent_expires_at=consent_expires_at,
            notice_version=notice.version,
            created_at=now,
        )
        session.add(request)
        session.flush()
        for person_id in self._employees(session, enterprise_id, now.date()):
            append_event(
                session,
                person_id=person_id,
                event_type="requested",
                request_id=request.id,
                actor=f"enterprise:{enterprise_id}",
                at=now,
            )
        return request

    def answer(
        self,
        session: Session,
        person_id: str,
        request_id: str,
        *,
        approve: bool,
        now: datetime,
        categories: tuple[str, ...] | None = None,
        language: str = "zh-CN",
    ) -> ConsentGrant | None:
        """A citizen approves (all or some of the categories) or refuses a request put to them."""
        request = session.get(ConsentRequest, request_id)
        if request is None or not self._was_asked(session, person_id, request_id):
            raise NotFound(f"no consent request {request_id!r} for this citizen")
        if self._answered(session, person_id, request_id):
            raise Conflict(f"request {request_id} was answered already")
        if not approve:
            append_event(
                session,
                person_id=person_id,
                event_type="refused",
                request_id=request_id,
                actor="citizen",
                at=now,
            )
            return None
        terms = ConsentTerms(
            purpose=request.purpose,
            recipient_id=request.enterprise_id,
            categories=categories or tuple(request.categories.split()),
            data_from=request.data_from,
            data_to=request.data_to,
            expires_at=request.consent_expires_at,
            language=language,
        )
        return self.grant(session, person_id, terms, now=now, request=request)

    def request_summary(self, session: Session, request_id: str, now: datetime) -> tuple[int, int]:
        """(asked, approved and still active): never who refused."""
        asked = session.scalar(
            select(func.count()).where(
                col(ConsentEvent.request_id) == request_id,
                col(ConsentEvent.event_type) == "requested",
            )
        )
        approved = session.scalar(
            select(func.count())
            .select_from(ConsentGrant)
            .where(col(ConsentGrant.request_id) == request_id, in_force(now))
        )
        return int(asked or 0), int(approved or 0)

    def requests_of(
        self, session: Session, enterprise_id: str, now: datetime
    ) -> list[tuple[ConsentRequest, int, int]]:
        """An enterprise's requests, newest first, with (asked, approved): never who refused."""
        made = session.scalars(
            select(ConsentRequest)
            .where(col(ConsentRequest.enterprise_id) == enterprise_id)
            .order_by(col(ConsentRequest.created_at).desc())
        )
        return [(r, *self.request_summary(session, r.id, now)) for r in made]

    @staticmethod
    def receipts_of(session: Session, consent_id: str) -> list[ConsentReceipt]:
        """The receipts of one consent, oldest first."""
        return list(
            session.scalars(
                select(ConsentReceipt)
                .where(col(ConsentReceipt.consent_id) == consent_id)
                .order_by(col(ConsentReceipt.issued_at))
            )
        )

    def pending_requests(self, session: Session, person_id: str) -> list[ConsentRequest]:
        """Requests put to the citizen that they have not answered."""
        asked = select(col(ConsentEvent.request_id)).where(
            col(ConsentEvent.person_id) == person_id, col(ConsentEvent.event_type) == "requested"
        )
        answered = select(col(ConsentEvent.request_id)).where(
            col(ConsentEvent.person_id) == person_id,
            col(ConsentEvent.event_type).in_(("refused", "granted", "renewed", "narrowed")),
            col(ConsentEvent.request_id).is_not(None),
        )
        return list(
            session.scalars(
                select(ConsentRequest)
                .where(col(ConsentRequest.id).in_(asked), col(ConsentRequest.id).not_in(answered))
                .order_by(col(ConsentRequest.created_at))
            )
        )

    # -- reading ------------------------------------------------------------------------------

    def state(
        self, session: Session, person_id: str, consent_id: str, now: datetime
    ) -> ConsentState:
        """A consent of the citizen with its status; another citizen's consent is not found."""
        grant = session.get(ConsentGrant, consent_id)
        if grant is None or grant.person_id != person_id:
            raise NotFound(f"unknown consent {consent_id!r}")
        return _state_of(session, grant, now)

    def consents_of(self, session: Session, person_id: str, now: datetime) -> list[ConsentState]:
        """Every consent the citizen ever gave, newest first."""
        grants = session.scalars(
            select(ConsentGrant)
            .where(col(ConsentGrant.person_id) == person_id)
            .order_by(col(ConsentGrant.granted_at).desc(), col(ConsentGrant.id))
        )
        return [_state_of(session, g, now) for g in grants]

    def active_for(
        self,
        session: Session,
        person_id: str,
        recipient_kind: str,
        recipient_id: str,
        purpose: str,
        now: datetime,
    ) -> ConsentState | None:
        """The citizen's active consent for this recipient and purpose, if any."""
        grant = session.scalars(
            select(ConsentGrant).where(
                col(ConsentGrant.person_id) == person_id,
                col(ConsentGrant.recipient_kind) == recipient_kind,
                col(ConsentGrant.recipient_id) == recipient_id,
                col(ConsentGrant.purpose) == purpose,
                in_force(now),
            )
        ).first()
        return None if grant is None else _state_of(session, grant, now)

    def record_expiries(self, session: Session, now: datetime) -> int:
        """Write an ``expired`` event for consents whose expiry passed (history only)."""
        due = session.scalars(
            select(ConsentGrant).where(
                col(ConsentGrant.expires_at) <= now,
                ~ended(),
                ~exists().where(
                    col(ConsentEvent.consent_id) == col(ConsentGrant.id),
                    col(ConsentEvent.event_type) == "expired",
                ),
            )
        ).all()
        for grant in due:
            append_event(
                session,
                person_id=grant.person_id,
                event_type="expired",
                consent_id=grant.id,
                actor="hub",
                at=now,
            )
        reconcile(session, self.release_rules, now)
        return len(due)

    # -- checks -------------------------------------------------------------------------------

    def _check_person(self, session: Session, person_id: str) -> None:
        if session.get(Person, person_id) is None:
            raise NotFound(f"unknown person {person_id!r}")

    def _check_terms(self, terms: ConsentTerms, max_days: int, now: datetime) -> None:
        if terms.expires_at <= now:
            raise InvalidInput("a consent's expiry must be in the future")
        if terms.expires_at > now + timedelta(days=max_days):
            raise InvalidInput(
                f"a {terms.purpose} consent may last at most {max_days} days (until "
                f"{(now + timedelta(days=max_days)).date()})"
            )
        if terms.data_from > terms.data_to:
            raise InvalidInput("the data window starts after it ends")
        if not terms.categories:
            raise InvalidInput("a consent covers at least one behaviour category")
        known = {c.code for c in self.catalogue.categories}
        unknown = sorted(set(terms.categories) - known)
        if unknown:
            raise InvalidInput(f"unknown categories {unknown}; known: {sorted(known)}")

    def _check_recipient(
        self, session: Session, person_id: str, recipient_kind: str, terms: ConsentTerms
    ) -> str:
        if recipient_kind == "enterprise":
            enterprise = session.get(Enterprise, terms.recipient_id)
            if enterprise is None:
                raise NotFound(f"unknown enterprise {terms.recipient_id!r}")
            employed = session.scalar(
                select(func.count()).where(
                    col(Employment.person_id) == person_id,
                    col(Employment.enterprise_id) == terms.recipient_id,
                )
            )
            if not employed:
                raise InvalidInput(f"enterprise {terms.recipient_id} does not employ this citizen")
            return enterprise.name
        if recipient_kind == "programme":
            programme = self.programmes.for_region(terms.recipient_id)
            if programme is None or programme.region != terms.recipient_id:
                raise NotFound(f"no carbon-inclusion programme for region {terms.recipient_id!r}")
            return programme.name_zh
        if not terms.recipient_id.replace("-", "").replace("_", "").isalnum():
            raise InvalidInput(f"unknown connector {terms.recipient_id!r}")
        return terms.recipient_id

    def _recipient_name(self, session: Session, kind: str, recipient_id: str) -> str:
        if kind == "enterprise":
            enterprise = session.get(Enterprise, recipient_id)
            return recipient_id if enterprise is None else enterprise.name
        if kind == "programme":
            programme = self.programmes.for_region(recipient_id)
            return recipient_id if programme is None else programme.name_zh
        return recipient_id

    @staticmethod
    def _check_request_scope(request: ConsentRequest, terms: ConsentTerms) -> None:
        asked = set(request.categories.split())
        extra = sorted(set(terms.categories) - asked)
        if extra:
            raise InvalidInput(f"the request did not ask for categories {extra}")

    @staticmethod
    def _employees(session: Session, enterprise_id: str, day: date) -> list[str]:
        return sorted(
            set(
                session.scalars(
                    select(col(Employment.person_id)).where(
                        col(Employment.enterprise_id) == enterprise_id,
                        col(Employment.valid_from) <= day,
                        col(Employment.valid_to).is_(None) | (col(Employment.valid_to) >= day),
                    )
                )
            )
        )

    @staticmethod
    def _was_asked(session: Session, person_id: str, request_id: str) -> bool:
        return bool(
            session.scalar(
                select(func.count()).where(
                    col(ConsentEvent.person_id) == person_id,
                    col(ConsentEvent.request_id) == request_id,
                    col(ConsentEvent.event_type) == "requested",
                )
            )
        )

    @staticmethod
    def _answered(session: Session, person_id: str, request_id: str) -> bool:
        return bool(
            session.scalar(
                select(func.count()).where(
                    col(ConsentEvent.person_id) == person_id,
                    col(ConsentEvent.request_id) == request_id,
                    col(ConsentEvent.event_type).in_(("refused", "granted", "renewed", "narrowed")),
                )
            )
        )


def _state_of(session: Session, grant: ConsentGrant, now: datetime) -> ConsentState:
    categories = tuple(grant.categories.split())
    ending = session.scalars(
        select(ConsentEvent)
        .where(
            col(ConsentEvent.consent_id) == grant.id,
            col(ConsentEvent.event_type).in_(ENDING_EVENTS),
        )
        .order_by(col(ConsentEvent.seq))
    ).first()
    if ending is not None:
        return ConsentState(grant, categories, ending.event_type, ending.reason, ending.at)
    if grant.expires_at <= now:
        return ConsentState(grant, categories, "expired", "expired", grant.expires_at)
    return ConsentState(grant, categories, "active", None, None)


def _change_kind(previous: ConsentState, grant: ConsentGrant, categories: list[str]) -> str:
    if set(categories) < set(previous.categories):
        return "narrowed"
    if grant.expires_at > previous.grant.expires_at and set(categories) == set(previous.categories):
        return "renewed"
    return "granted"
