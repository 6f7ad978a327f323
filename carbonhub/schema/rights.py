"""The citizen's rights in GraphQL: export, erasure and ledger disputes (PIPL Art. 44-47).

``exportMyData`` is a mutation, not a ``Person.export`` field, on purpose: it takes no person
id (it is always the caller's own data, so there is nothing to swap for another person's id),
an operator's ``person(id)`` cannot fetch it for somebody else, and a data-subject request is an
act that is executed once, serially, and may be logged as such, not a field that a client's
ordinary ledger query might pull along by accident.

The root ``Query`` and ``Mutation`` inherit :class:`RightsQuery` and :class:`RightsMutation`.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from carbonhub import models
from carbonhub.auth import Scope
from carbonhub.consent.rights import ErasureReport
from carbonhub.reports import kg
from carbonhub.resolvers import rights as resolvers
from carbonhub.resolvers.context import Info
from carbonhub.schema.cost import DEFAULT_PAGE, METHODOLOGIES, TABLES, list_size, page
from carbonhub.schema.permissions import guarded, guarded_mutation
from carbonhub.schema.person import LedgerEntry, PageInfo


@strawberry.enum(description="What an operator decides about a disputed ledger entry.")
class DisputeDecision(Enum):
    REVERSE = "reverse"
    REJECT = "reject"


@strawberry.type(description="A citizen's dispute of one of their ledger entries.")
class Dispute:
    row: strawberry.Private[models.EntryDispute]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field(description="The citizen who disputes their own entry.")
    def person_id(self) -> strawberry.ID:
        return strawberry.ID(self.row.person_id)

    @strawberry.field
    def entry_id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.entry_id))

    @strawberry.field(description="The disputed entry; null once its person was erased.")
    async def entry(self, info: Info) -> LedgerEntry | None:
        view = await resolvers.disputed_entry(info, self.row)
        return None if view is None else LedgerEntry(view=view)

    @strawberry.field(description="Why the citizen says the entry is wrong.")
    def reason(self) -> str:
        return self.row.reason

    @strawberry.field
    def opened_at(self) -> datetime:
        return self.row.opened_at

    @strawberry.field(description="open, reversed (the entry was cancelled) or rejected.")
    def status(self) -> str:
        return self.row.resolution or "open"

    @strawberry.field(description="The operator's reason for the decision.")
    def resolution_note(self) -> str | None:
        return self.row.resolution_note

    @strawberry.field
    def resolved_at(self) -> datetime | None:
        return self.row.resolved_at

    @strawberry.field(description="The reversal entry that upheld the dispute.")
    def reversal_entry_id(self) -> strawberry.ID | None:
        reversal = self.row.reversal_entry_id
        return None if reversal is None else strawberry.ID(str(reversal))


@strawberry.type
class DisputeEdge:
    cursor: str
    node: Dispute


@strawberry.type(description="Open disputes, oldest first.")
class DisputeConnection:
    edges: list[DisputeEdge]
    page_info: PageInfo


@strawberry.type(description="Rows an erasure removed from one table.")
class ErasedRows:
    table: str
    rows: int


@strawberry.type(description="What an erasure took out of the regional statistics.")
class ErasedReduction:
    methodology: str = strawberry.field(description="The methodology, as id@version.")
    reduction_kg: Decimal


@strawberry.type(description="The receipt of an erasure: what was removed, table by table.")
class ErasureResult:
    person_id: strawberry.ID
    erased_at: datetime
    tables: list[ErasedRows] = strawberry.field(directives=[list_size(TABLES)])
    removed_from_statistics: list[ErasedReduction] = strawberry.field(
        directives=[list_size(METHODOLOGIES)]
    )

    @classmethod
    def of(cls, report: ErasureReport) -> ErasureResult:
        return cls(
            person_id=strawberry.ID(report.person_id),
            erased_at=report.erased_at,
            tables=[ErasedRows(table=t, rows=n) for t, n in sorted(report.rows.items())],
            removed_from_statistics=[
                ErasedReduction(methodology=key, reduction_kg=kg(mg))
                for key, mg in report.removed_mg.items()
            ],
        )


@strawberry.type
class RightsQuery:
    @guarded(
        Scope.ADMIN,
        description="Open ledger disputes, oldest first (operators).",
        directives=[page(DEFAULT_PAGE, sized_fields=("edges",))],
    )
    async def disputes(
        self, info: Info, first: int = 50, after: str | None = None
    ) -> DisputeConnection:
        page, more = await resolvers.disputes(info, first, after)
        edges = [DisputeEdge(cursor=cursor, node=Dispute(row=row)) for cursor, row in page]
        return DisputeConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=more, end_cursor=edges[-1].cursor if edges else None),
        )


@strawberry.type
class RightsMutation:
    @guarded_mutation(
        Scope.LEDGER_READ,
        description="A copy of everything held about the signed-in citizen (JSON, "
        "format carbonhub-export/1).",
    )
    async def export_my_data(self, info: Info) -> JSON:
        data: Any = await resolvers.export_my_data(info)
        return data  # type: ignore[no-any-return]

    @guarded_mutation(
        Scope.CONSENT_MANAGE,
        description="Erase the signed-in citizen and everything about them; `confirm` repeats "
        "their person id. Regional statistics lose exactly their contribution.",
    )
    async def erase_my_data(self, info: Info, confirm: str) -> ErasureResult:
        return ErasureResult.of(await resolvers.erase_my_data(info, confirm))

    @guarded_mutation(
        Scope.LEDGER_READ, description="Dispute one of the signed-in citizen's own ledger credits."
    )
    async def dispute_entry(self, info: Info, entry_id: strawberry.ID, reason: str) -> Dispute:
        return Dispute(row=await resolvers.dispute_entry(info, entry_id, reason))

    @guarded_mutation(
        Scope.ADMIN,
        description="Decide a dispute: REVERSE appends a reversal entry, REJECT leaves the "
        "ledger as it is (operators).",
    )
    async def resolve_dispute(
        self, info: Info, id: strawberry.ID, decision: DisputeDecision, note: str
    ) -> Dispute:
        return Dispute(row=await resolvers.resolve(info, id, decision.value, note))
