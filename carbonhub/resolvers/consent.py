"""Resolvers for consents: a citizen's consents, requests and access log; enterprises' requests."""

from __future__ import annotations

from datetime import date, datetime

from carbonhub.consent import policy
from carbonhub.consent.access_log import entries_for_person
from carbonhub.consent.service import ConsentState, ConsentTerms
from carbonhub.db import read_session, write_session
from carbonhub.models import AccessLogEntry, ConsentReceipt, ConsentRequest, Person
from carbonhub.resolvers.common import page_size
from carbonhub.resolvers.context import Info, in_thread
from carbonhub.resolvers.person import me


async def consents(info: Info, subject: Person) -> list[ConsentState]:
    """Every consent of the person (who was loaded under the access policy)."""
    hub, now = info.context.hub, info.context.now

    def load() -> list[ConsentState]:
        with read_session(hub.engine) as session:
            return hub.consents().consents_of(session, subject.id, now)

    return await in_thread(load)


async def receipts(info: Info, consent_id: str) -> list[ConsentReceipt]:
    """The receipts of one consent (its owner was checked by the caller)."""

    hub = info.context.hub

    def load() -> list[ConsentReceipt]:
        with read_session(hub.engine) as session:
            return hub.consents().receipts_of(session, consent_id)

    return await in_thread(load)


async def pending_requests(info: Info, subject: Person) -> list[ConsentRequest]:
    """Requests put to the person that they have not answered."""
    hub = info.context.hub

    def load() -> list[ConsentRequest]:
        with read_session(hub.engine) as session:
            return hub.consents().pending_requests(session, subject.id)

    return await in_thread(load)


async def access_log(info: Info, subject: Person, first: int) -> list[AccessLogEntry]:
    """Reads that involved the person, newest first."""
    size = page_size(first)

    def load() -> list[AccessLogEntry]:
        with read_session(info.context.hub.engine) as session:
            return entries_for_person(session, subject.id, first=size)

    return await in_thread(load)


async def grant(
    info: Info,
    *,
    purpose: str,
    recipient_id: str,
    categories: list[str],
    data_from: date,
    data_to: date,
    expires_at: datetime,
    language: str,
) -> ConsentState:
    """The signed-in citizen gives a consent."""
    citizen = await me(info)
    hub, now = info.context.hub, info.context.now
    terms = ConsentTerms(
        purpose, recipient_id, tuple(categories), data_from, data_to, expires_at, language
    )

    def write() -> ConsentState:
        with write_session(hub.engine) as session:
            service = hub.consents()
            granted = service.grant(session, citizen.id, terms, now=now)
            return service.state(session, citizen.id, granted.id, now)

    return await in_thread(write)


async def revoke(info: Info, consent_id: str) -> ConsentState:
    """The signed-in citizen takes a consent back (twice is the same as once)."""
    citizen = await me(info)
    hub, now = info.context.hub, info.context.now

    def write() -> ConsentState:
        with write_session(hub.engine) as session:
            return hub.consents().revoke(session, citizen.id, consent_id, now=now)

    return await in_thread(write)


async def answer(
    info: Info, request_id: str, approve: bool, categories: list[str] | None
) -> ConsentState | None:
    """The signed-in citizen approves or refuses an enterprise's request."""
    citizen = await me(info)
    hub, now = info.context.hub, info.context.now

    def write() -> ConsentState | None:
        with write_session(hub.engine) as session:
            service = hub.consents()
            granted = service.answer(
                session,
                citizen.id,
                request_id,
                approve=approve,
                now=now,
                categories=None if categories is None else tuple(categories),
            )
            return None if granted is None else service.state(session, citizen.id, granted.id, now)

    return await in_thread(write)


async def request(
    info: Info,
    enterprise_id: str,
    categories: list[str],
    data_from: date,
    data_to: date,
    expires_at: datetime,
) -> tuple[ConsentRequest, int, int]:
    """An enterprise client asks its employees; returns the request and (asked, approved)."""
    principal = info.context.principal
    policy.require_own_enterprise(principal, enterprise_id, "asking its employees for consent")
    hub, now = info.context.hub, info.context.now

    def write() -> tuple[ConsentRequest, int, int]:
        with write_session(hub.engine) as session:
            service = hub.consents()
            made = service.request(
                session,
                enterprise_id=enterprise_id,
                client_id=principal.client_id,
                categories=tuple(categories),
                data_from=data_from,
                data_to=data_to,
                consent_expires_at=expires_at,
                now=now,
            )
            asked, approved = service.request_summary(session, made.id, now)
            return made, asked, approved

    return await in_thread(write)


async def terminate(info: Info, consent_id: str, reason: str | None) -> ConsentState:
    """An enterprise client ends a consent given to its enterprise (others: not found)."""
    enterprise_id = policy.acting_enterprise(info.context.principal, "terminate a consent")
    hub, now = info.context.hub, info.context.now

    def write() -> ConsentState:
        with write_session(hub.engine) as session:
            return hub.consents().terminate(
                session, enterprise_id, consent_id, now=now, reason=reason
            )

    return await in_thread(write)


async def requests_of(info: Info, enterprise_id: str) -> list[tuple[ConsentRequest, int, int]]:
    """An enterprise's requests with how many were asked and approved (never who refused)."""
    policy.require_own_enterprise(
        info.context.principal, enterprise_id, "reading its consent requests", hidden=True
    )
    hub, now = info.context.hub, info.context.now

    def load() -> list[tuple[ConsentRequest, int, int]]:
        with read_session(hub.engine) as session:
            return hub.consents().requests_of(session, enterprise_id, now)

    return await in_thread(load)
