"""Consents in GraphQL: a citizen's consents, receipts, requests and access log; mutations."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from carbonhub import models
from carbonhub.auth import Scope
from carbonhub.consent.service import ConsentState
from carbonhub.resolvers import consent as resolvers
from carbonhub.resolvers.context import Info
from carbonhub.schema.cost import CATEGORIES, RECEIPTS, list_size
from carbonhub.schema.permissions import guarded_mutation


@strawberry.type(description="Who a consent lets read: an enterprise, a programme or a connector.")
class ConsentRecipient:
    kind: str
    id: strawberry.ID
    name: str


@strawberry.type(
    description="A signed consent receipt (compact JWS, verifiable at /receipts/verify)."
)
class ConsentReceipt:
    id: strawberry.ID
    issued_at: datetime
    jws: str


@strawberry.type(description="A consent the citizen gave, and what became of it.")
class Consent:
    id: strawberry.ID
    kind: str
    status: str = strawberry.field(
        description="active, expired, revoked, terminated or superseded."
    )
    status_reason: str | None
    purpose: str
    categories: list[str] = strawberry.field(directives=[list_size(CATEGORIES)])
    recipient: ConsentRecipient
    data_from: date
    data_to: date
    granted_at: datetime
    expires_at: datetime
    notice_version: str
    notice_sha256: str

    @classmethod
    def of(cls, state: ConsentState, recipient_name: str) -> Consent:
        g = state.grant
        return cls(
            id=strawberry.ID(g.id),
            kind=g.kind,
            status=state.status,
            status_reason=state.status_reason,
            purpose=g.purpose,
            categories=list(state.categories),
            recipient=ConsentRecipient(
                kind=g.recipient_kind, id=strawberry.ID(g.recipient_id), name=recipient_name
            ),
            data_from=g.data_from,
            data_to=g.data_to,
            granted_at=g.granted_at,
            expires_at=g.expires_at,
            notice_version=g.notice_version,
            notice_sha256=g.notice_sha256,
        )

    @strawberry.field(directives=[list_size(RECEIPTS)])
    async def receipts(self, info: Info) -> list[ConsentReceipt]:
        return [
            ConsentReceipt(id=strawberry.ID(r.id), issued_at=r.issued_at, jws=r.jws)
            for r in await resolvers.receipts(info, str(self.id))
        ]


async def recipient_name(info: Info, state: ConsentState) -> str:
    """A readable name of the consent's recipient (enterprises through the request's loader)."""
    g = state.grant
    if g.recipient_kind == "programme":
        programme = info.context.hub.programmes.for_region(g.recipient_id)
        return g.recipient_id if programme is None else programme.name_zh
    if g.recipient_kind == "enterprise":
        enterprise = await info.context.loaders.enterprise.load(g.recipient_id)
        return g.recipient_id if enterprise is None else enterprise.name
    return g.recipient_id


@strawberry.type(description="An enterprise's request for consent, as its employees see it.")
class ConsentRequest:
    id: strawberry.ID
    enterprise_id: strawberry.ID
    purpose: str
    categories: list[str] = strawberry.field(directives=[list_size(CATEGORIES)])
    data_from: date
    data_to: date
    consent_expires_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, row: models.ConsentRequest) -> ConsentRequest:
        return cls(
            id=strawberry.ID(row.id),
            enterprise_id=strawberry.ID(row.enterprise_id),
            purpose=row.purpose,
            categories=row.categories.split(),
            data_from=row.data_from,
            data_to=row.data_to,
            consent_expires_at=row.consent_expires_at,
            created_at=row.created_at,
        )


@strawberry.type(
    description="A request as the enterprise sees it: how many approved, never who refused."
)
class ConsentRequestSummary:
    request: ConsentRequest
    asked: int
    approved: int


@strawberry.type(
    description="A read of personal data or an aggregate release that involved the citizen."
)
class AccessLogEntry:
    at: datetime
    recipient_kind: str
    recipient_id: str
    client_id: str | None
    purpose: str
    what: str
    scope: str | None
    categories: list[str] = strawberry.field(directives=[list_size(CATEGORIES)])
    period_from: date
    period_to: date
    persons: int

    @classmethod
    def of(cls, row: models.AccessLogEntry) -> AccessLogEntry:
        return cls(
            at=row.at,
            recipient_kind=row.recipient_kind,
            recipient_id=row.recipient_id,
            client_id=row.client_id,
            purpose=row.purpose,
            what=row.what,
            scope=row.scope_code,
            categories=row.categories.split(),
            period_from=row.period_from,
            period_to=row.period_to,
            persons=row.persons,
        )


@strawberry.type(description="What became of a consent its recipient ended (no personal detail).")
class ConsentTermination:
    id: strawberry.ID
    status: str
    status_reason: str | None


@strawberry.type
class ConsentMutation:
    @guarded_mutation(Scope.CONSENT_MANAGE, description="Give a consent (the signed-in citizen).")
    async def grant_consent(
        self,
        info: Info,
        purpose: str,
        recipient_id: strawberry.ID,
        categories: list[str],
        data_from: date,
        data_to: date,
        expires_at: datetime,
        language: str = "zh-CN",
    ) -> Consent:
        state = await resolvers.grant(
            info,
            purpose=purpose,
            recipient_id=str(recipient_id),
            categories=categories,
            data_from=data_from,
            data_to=data_to,
            expires_at=expires_at,
            language=language,
        )
        return Consent.of(state, await recipient_name(info, state))

    @guarded_mutation(
        Scope.CONSENT_MANAGE, description="Take a consent back, effective for the next read."
    )
    async def revoke_consent(self, info: Info, id: strawberry.ID) -> Consent:
        state = await resolvers.revoke(info, str(id))
        return Consent.of(state, await recipient_name(info, state))

    @guarded_mutation(
        Scope.CONSENT_MANAGE, description="Approve (some categories of) or refuse a request."
    )
    async def answer_consent_request(
        self, info: Info, id: strawberry.ID, approve: bool, categories: list[str] | None = None
    ) -> Consent | None:
        state = await resolvers.answer(info, str(id), approve, categories)
        return None if state is None else Consent.of(state, await recipient_name(info, state))

    @guarded_mutation(Scope.ESG_READ, description="End a consent given to the client's enterprise.")
    async def terminate_consent(
        self, info: Info, id: strawberry.ID, reason: str | None = None
    ) -> ConsentTermination:
        state = await resolvers.terminate(info, str(id), reason)
        return ConsentTermination(
            id=strawberry.ID(state.grant.id), status=state.status, status_reason=state.status_reason
        )

    @guarded_mutation(
        Scope.ESG_READ, description="Ask the enterprise's employees for an ESG-reporting consent."
    )
    async def request_consent(
        self,
        info: Info,
        enterprise_id: strawberry.ID,
        categories: list[str],
        data_from: date,
        data_to: date,
        expires_at: datetime,
    ) -> ConsentRequestSummary:
        made, asked, approved = await resolvers.request(
            info, str(enterprise_id), categories, data_from, data_to, expires_at
        )
        return ConsentRequestSummary(
            request=ConsentRequest.of(made), asked=asked, approved=approved
        )
