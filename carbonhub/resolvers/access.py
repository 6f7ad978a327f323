"""Recording reads in the access log: who read what, under which purpose, covering how many."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime

from carbonhub.auth import Principal, PrincipalKind
from carbonhub.consent.access_log import Access, log_accesses, region_prefix
from carbonhub.hub import Hub
from carbonhub.reports import Figure
from carbonhub.resolvers.common import caught_up
from carbonhub.resolvers.context import Info


def recipient_of(principal: Principal) -> tuple[str, str]:
    """(kind, id) of the reader as the access log names it."""
    if principal.kind is PrincipalKind.ENTERPRISE and principal.enterprise_id:
        return "enterprise", principal.enterprise_id
    if principal.kind is PrincipalKind.AGENCY and principal.region_code:
        return "agency", principal.region_code
    if principal.kind is PrincipalKind.CITIZEN:
        # the subject (a digest in the chain) says whose data it was; naming the reader here
        # would put an erasable id into the hashed fields
        return "citizen", "self"
    return principal.kind.value, principal.client_id or principal.subject or "anonymous"


async def log_access(info: Info, access: Access) -> None:
    """Append ``access`` to the log in a short transaction of its own, shared with the other
    reads logged in the same tick (one write for a federation batch)."""
    await info.context.loaders.access_log.load(access)


def release_access(
    info: Info,
    *,
    purpose: str,
    what: str,
    scope_code: str,
    period: tuple[date, date],
    regional: bool,
) -> Access:
    """The log entry of an aggregate release (an ESG or regional report) to the principal,
    covering every category; ``persons`` is filled in once the report has read its total."""
    principal = info.context.principal
    kind, recipient = recipient_of(principal)
    return Access(
        recipient_kind=kind,
        recipient_id=recipient,
        client_id=principal.client_id,
        purpose=purpose,
        what=what,
        categories=tuple(c.code for c in info.context.hub.registry.catalogue.categories),
        period_from=period[0],
        period_to=period[1],
        persons=0,
        scope_code=scope_code,
        scope_prefix=region_prefix(scope_code) if regional else None,
    )


def read_and_log(hub: Hub, now: datetime, read: Callable[[], Figure], access: Access) -> Figure:
    """A report's total, read caught up (:func:`caught_up`), and then its release logged with
    the persons it covers: in the caller's worker thread, one hop for both. The log write has
    its own short transaction, after the read connection went back."""
    total = caught_up(hub, now, read)
    log_accesses(hub.engine, [replace(access, persons=total.participants or 0)], at=now)
    return total


async def log_person_read(info: Info, person_id: str, what: str) -> None:
    """Log a read of one citizen's own data (by them, or by an operator)."""
    principal = info.context.principal
    kind, recipient = recipient_of(principal)
    purpose = "own_data" if principal.person_id == person_id else "operations"
    today = info.context.now.date()
    await log_access(
        info,
        Access(
            recipient_kind=kind,
            recipient_id=recipient,
            client_id=principal.client_id,
            purpose=purpose,
            what=what,
            categories=(),
            period_from=today,
            period_to=today,
            persons=1,
            subject_person_id=person_id,
        ),
    )
