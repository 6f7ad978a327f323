"""Connectors in GraphQL: the enabled connectors, events delivered by connector clients,
citizens' provider accounts, and sync runs for operators.

The root ``Query`` and ``Mutation`` inherit :class:`ConnectorQuery` and :class:`ConnectorMutation`;
``Person.linkedAccounts`` is in :mod:`carbonhub.schema.person`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from carbonhub import models
from carbonhub.auth import Scope
from carbonhub.connectors.registry import LoadedConnector
from carbonhub.connectors.service import IngestOutcome
from carbonhub.resolvers import connectors as resolvers
from carbonhub.resolvers.context import Info
from carbonhub.schema.cost import (
    BEHAVIOURS,
    CATEGORIES,
    CONNECTORS,
    DEFAULT_PAGE,
    INGEST_RECORDS,
    list_size,
    page,
)
from carbonhub.schema.permissions import guarded, guarded_mutation


@strawberry.type(description="A data provider's connector enabled on this hub.")
class ConnectorInfo:
    slug: strawberry.ID
    name: str
    version: str
    description: str
    behaviours: list[str] = strawberry.field(
        description="Behaviour codes it delivers.", directives=[list_size(BEHAVIOURS)]
    )
    categories: list[str] = strawberry.field(
        description="What its ingest consent covers.", directives=[list_size(CATEGORIES)]
    )
    pull: bool = strawberry.field(description="carbonhub fetches from the provider's API.")
    push: bool = strawberry.field(description="The provider pushes signed events to the hub.")

    @classmethod
    def of(cls, loaded: LoadedConnector) -> ConnectorInfo:
        info = loaded.info
        return cls(
            slug=strawberry.ID(info.slug),
            name=info.name,
            version=info.version,
            description=info.description,
            behaviours=sorted(info.behaviours),
            categories=sorted(info.categories),
            pull=info.pull,
            push=info.push,
        )


@strawberry.type(description="What became of one delivered record.")
class RecordResult:
    external_id: str | None
    outcome: str = strawberry.field(
        description="posted, duplicate, quarantined (kept with its reason) or rejected (not stored)."
    )
    reason: str | None
    detail: str | None


@strawberry.type(description="Totals of one delivery.")
class IngestCounts:
    fetched: int
    posted: int
    duplicates: int
    quarantined: int
    rejected: int


@strawberry.type(description="The answer to ingestEvents: one result per record, in order.")
class IngestResult:
    run_id: strawberry.ID
    counts: IngestCounts
    results: list[RecordResult] = strawberry.field(directives=[list_size(INGEST_RECORDS)])

    @classmethod
    def of(cls, outcome: IngestOutcome) -> IngestResult:
        return cls(
            run_id=strawberry.ID(str(outcome.run_id)),
            counts=IngestCounts(**outcome.counts),
            results=[
                RecordResult(
                    external_id=r.external_id, outcome=r.outcome, reason=r.reason, detail=r.detail
                )
                for r in outcome.results
            ],
        )


@strawberry.type(description="A citizen's account at a data provider, linked through its OAuth.")
class LinkedAccount:
    connector: strawberry.ID
    subject: str = strawberry.field(description="The provider's id of the account.")
    status: str = strawberry.field(description="active, suspended (sync failing) or unlinked.")
    linked_at: datetime
    last_synced_at: datetime | None
    last_error: str | None
    consent_id: strawberry.ID | None = strawberry.field(
        description="The ingest consent recorded when the account was linked."
    )

    @classmethod
    def of(cls, row: models.LinkedAccount) -> LinkedAccount:
        return cls(
            connector=strawberry.ID(row.connector),
            subject=row.subject,
            status=row.status,
            linked_at=row.linked_at,
            last_synced_at=row.last_synced_at,
            last_error=row.last_error,
            consent_id=None if row.consent_id is None else strawberry.ID(row.consent_id),
        )


@strawberry.type(description="Where to send the citizen to approve a provider account link.")
class AccountLinkStart:
    authorization_url: str


@strawberry.type(
    description="One sync of a linked account, a push, a GraphQL delivery or an import."
)
class SyncRun:
    id: strawberry.ID
    connector: str
    mode: str = strawberry.field(description="pull, push, graphql or import.")
    account_id: str | None
    status: str = strawberry.field(
        description="running, ok, failed, suspended (the account stopped after repeated failures) or interrupted."
    )
    started_at: datetime
    finished_at: datetime | None
    pages: int
    fetched: int
    posted: int
    duplicates: int
    quarantined: int
    rejected: int
    errors: int
    retries: int
    error: str | None

    @classmethod
    def of(cls, row: models.SyncRun) -> SyncRun:
        return cls(
            id=strawberry.ID(str(row.id)),
            connector=row.connector,
            mode=row.mode,
            account_id=row.account_id,
            status=row.status,
            started_at=row.started_at,
            finished_at=row.finished_at,
            pages=row.pages,
            fetched=row.fetched,
            posted=row.posted,
            duplicates=row.duplicates,
            quarantined=row.quarantined,
            rejected=row.rejected,
            errors=row.errors,
            retries=row.retries,
            error=row.error,
        )


@strawberry.type
class ConnectorQuery:
    @strawberry.field(
        description="The data providers' connectors enabled on this hub.",
        directives=[list_size(CONNECTORS)],
    )
    def connectors(self, info: Info) -> list[ConnectorInfo]:
        return [ConnectorInfo.of(c) for c in resolvers.connectors_of(info).registry.all()]

    @guarded(
        Scope.ADMIN,
        description="The latest sync runs, newest first (operators).",
        directives=[page(DEFAULT_PAGE)],
    )
    async def sync_runs(
        self, info: Info, connector: str | None = None, first: int = 50
    ) -> list[SyncRun]:
        return [SyncRun.of(r) for r in await resolvers.sync_runs(info, connector, first)]


@strawberry.type
class ConnectorMutation:
    @guarded_mutation(
        Scope.EVENTS_INGEST,
        description="Deliver records in the connector's own format (at most 1,000), as a "
        "signed push would; connector clients only. One result per record, in order.",
    )
    async def ingest_events(self, info: Info, records: list[JSON]) -> IngestResult:
        items: list[Any] = list(records)
        return IngestResult.of(await resolvers.ingest_events(info, items))

    @guarded_mutation(
        Scope.CONSENT_MANAGE,
        description="Start linking the signed-in citizen's account at a provider: open the "
        "returned URL in their browser. Completing the link records an ingest consent.",
    )
    async def link_provider_account(
        self, info: Info, connector: strawberry.ID, categories: list[str] | None = None
    ) -> AccountLinkStart:
        url = await resolvers.link_account(info, str(connector), categories)
        return AccountLinkStart(authorization_url=url)

    @guarded_mutation(
        Scope.CONSENT_MANAGE,
        description="Unlink a provider account: its tokens are forgotten and the ingest "
        "consent is revoked (what was delivered stays in the ledger).",
    )
    async def unlink_provider_account(self, info: Info, connector: strawberry.ID) -> LinkedAccount:
        return LinkedAccount.of(await resolvers.unlink_account(info, str(connector)))
