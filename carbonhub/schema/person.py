"""Persons: their own carbon ledger (a Relay connection of entries) and green points."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import strawberry
from strawberry.federation.schema_directives import Cost

from carbonhub import models
from carbonhub.auth import Scope
from carbonhub.ledger import PointsBalance
from carbonhub.reports import EntryView, kg
from carbonhub.reports import PersonalLedger as DomainLedger
from carbonhub.resolvers import connectors as connector_resolvers
from carbonhub.resolvers import consent as consent_resolvers
from carbonhub.resolvers import person as resolvers
from carbonhub.resolvers import region as region_resolvers
from carbonhub.resolvers.context import Info, in_thread
from carbonhub.schema.connectors import LinkedAccount
from carbonhub.schema.consent import (
    AccessLogEntry,
    Consent,
    ConsentRequest,
    recipient_name,
)
from carbonhub.schema.cost import (
    BEHAVIOURS,
    DEFAULT_PAGE,
    LEDGER_WEIGHT,
    PERSONAL_ITEMS,
    list_size,
    page,
)
from carbonhub.schema.permissions import guarded
from carbonhub.schema.reference import BehaviourType, Methodology, behaviour_type
from carbonhub.schema.region import FromDate, MethodologyArgument, PeriodText, Region, ToDate
from carbonhub.schema.reports import PeriodInfo


@strawberry.type(
    description="An immutable line of a personal carbon ledger, seen under one methodology."
)
class LedgerEntry:
    view: strawberry.Private[EntryView]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.view.id))

    @strawberry.field(description="Position in the person's hash chain.")
    def seq(self) -> int:
        return self.view.seq

    @strawberry.field(
        description="credit, or reversal (a correction cancelling an earlier credit)."
    )
    def entry_type(self) -> str:
        return self.view.entry_type

    @strawberry.field
    def behaviour(self, info: Info) -> BehaviourType:
        return behaviour_type(info, self.view.behaviour)

    @strawberry.field
    def quantity(self) -> Decimal:
        return Decimal(self.view.quantity_milli) / 1000

    @strawberry.field
    def unit(self) -> str:
        return self.view.unit

    @strawberry.field(description="Grams CO2e under the methodology; null when it gives none.")
    def reduction_g(self) -> Decimal | None:
        return self.view.reduction_g

    @strawberry.field(
        description="credited, capped, not_covered, missing_measure, no_published_value or reversal."
    )
    def status(self) -> str:
        return self.view.status

    @strawberry.field
    def note(self) -> str | None:
        return self.view.note

    @strawberry.field
    def grams_per_unit(self) -> Decimal | None:
        return self.view.factor_g

    @strawberry.field
    def methodology(self, info: Info) -> Methodology:
        return Methodology.of(info.context.hub.registry.resolve(self.view.methodology_key))

    @strawberry.field
    def occurred_at(self) -> datetime:
        return self.view.occurred_at

    @strawberry.field(description="The day of the behaviour in the programme's time zone.")
    def local_date(self) -> date:
        return self.view.local_date

    @strawberry.field
    def recorded_at(self) -> datetime:
        return self.view.recorded_at

    @strawberry.field(description="The connector that delivered the event.")
    def source(self) -> str:
        return self.view.source

    @strawberry.field
    def external_id(self) -> str:
        return self.view.external_id

    @strawberry.field
    def points(self) -> int:
        return self.view.points

    @strawberry.field(description="SHA-256 of the entry, chained to the one before it.")
    def hash(self) -> str:
        return self.view.hash


@strawberry.type
class LedgerEntryEdge:
    cursor: str
    node: LedgerEntry


@strawberry.federation.type(
    shareable=True, description="Relay paging: a value type other subgraphs may define too."
)
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(description="Ledger entries, newest first.")
class LedgerEntryConnection:
    edges: list[LedgerEntryEdge]
    page_info: PageInfo

    @strawberry.field
    def nodes(self) -> list[LedgerEntry]:
        return [edge.node for edge in self.edges]


@strawberry.type(description="A person's totals for one behaviour.")
class LedgerBehaviourTotal:
    behaviour: BehaviourType
    entries: int
    quantity: Decimal
    unit: str | None
    reduction_kg: Decimal


@strawberry.type(description="A person's ledger over a period, under one methodology.")
class PersonLedger:
    ledger: strawberry.Private[DomainLedger]

    @strawberry.field
    def period(self) -> PeriodInfo:
        p = self.ledger.period
        return PeriodInfo(label=p.label, start=p.start, end=p.end, days=p.days)

    @strawberry.field
    def methodology(self) -> Methodology:
        return Methodology.of(self.ledger.methodology)

    @strawberry.field
    async def total_reduction_kg(self) -> Decimal:
        return kg(await in_thread(self.ledger.total_mg))

    @strawberry.field(directives=[list_size(BEHAVIOURS)])
    async def by_behaviour(self, info: Info) -> list[LedgerBehaviourTotal]:
        return [
            LedgerBehaviourTotal(
                behaviour=behaviour_type(info, t.behaviour),
                entries=t.entries,
                quantity=Decimal(t.quantity_milli) / 1000,
                unit=t.unit,
                reduction_kg=kg(t.reduction_mg),
            )
            for t in await in_thread(self.ledger.by_behaviour)
        ]

    @strawberry.field(directives=[page(DEFAULT_PAGE, sized_fields=("edges", "nodes"))])
    async def entries(self, first: int = 50, after: str | None = None) -> LedgerEntryConnection:
        page, more = await resolvers.ledger_entries(self.ledger, first, after)
        edges = [
            LedgerEntryEdge(cursor=cursor, node=LedgerEntry(view=view)) for cursor, view in page
        ]
        return LedgerEntryConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=more, end_cursor=edges[-1].cursor if edges else None),
        )


@strawberry.type(
    description="Green points: earned from credited reductions, redeemable, never transferable."
)
class Points:
    earned: int
    redeemed: int
    balance: int

    @classmethod
    def of(cls, balance: PointsBalance) -> Points:
        return cls(earned=balance.earned, redeemed=balance.redeemed, balance=balance.balance)


@strawberry.federation.type(keys=["id"], description="A citizen, known only by a pseudonymous id.")
class Person:
    id: strawberry.ID
    home_region_code: strawberry.Private[str]
    row: strawberry.Private[models.Person]

    @classmethod
    def of(cls, row: models.Person) -> Person:
        return cls(id=strawberry.ID(row.id), home_region_code=row.home_region_code, row=row)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Person:
        return cls.of(await resolvers.person(info, id))

    @guarded(Scope.LEDGER_READ, description="The district the person is registered in.")
    async def home_region(self, info: Info) -> Region:
        return Region.of(await region_resolvers.region(info, self.home_region_code))

    @guarded(
        Scope.LEDGER_READ,
        description="The person's carbon ledger (own ledger only).",
        directives=[Cost(weight=LEDGER_WEIGHT)],
    )
    def ledger(
        self,
        info: Info,
        period: PeriodText = None,
        from_: FromDate = None,
        to: ToDate = None,
        methodology: MethodologyArgument = None,
    ) -> PersonLedger:
        return PersonLedger(
            ledger=resolvers.personal_ledger(info, self.row, period, from_, to, methodology)
        )

    @guarded(Scope.LEDGER_READ, description="The person's green points.")
    async def points(self, info: Info) -> Points:
        return Points.of(await resolvers.points(info, self.row))

    @guarded(
        Scope.LEDGER_READ,
        description="Every consent the person gave, newest first.",
        directives=[list_size(PERSONAL_ITEMS)],
    )
    async def consents(self, info: Info) -> list[Consent]:
        return [
            Consent.of(s, await recipient_name(info, s))
            for s in await consent_resolvers.consents(info, self.row)
        ]

    @guarded(
        Scope.LEDGER_READ,
        description="Enterprises' consent requests awaiting an answer.",
        directives=[list_size(PERSONAL_ITEMS)],
    )
    async def consent_requests(self, info: Info) -> list[ConsentRequest]:
        return [
            ConsentRequest.of(r) for r in await consent_resolvers.pending_requests(info, self.row)
        ]

    @guarded(
        Scope.LEDGER_READ,
        description="The person's accounts at data providers (linked, suspended or unlinked).",
        directives=[list_size(PERSONAL_ITEMS)],
    )
    async def linked_accounts(self, info: Info) -> list[LinkedAccount]:
        rows = await connector_resolvers.person_linked_accounts(info, self.row)
        return [LinkedAccount.of(r) for r in rows]

    @guarded(
        Scope.LEDGER_READ,
        description="Reads of the person's data and releases that involved them.",
        directives=[page(DEFAULT_PAGE)],
    )
    async def access_log(self, info: Info, first: int = 50) -> list[AccessLogEntry]:
        return [
            AccessLogEntry.of(r) for r in await consent_resolvers.access_log(info, self.row, first)
        ]


@strawberry.type(description="Points spent on a reward.")
class PointsRedemption:
    points: int
    reward: str
    redeemed_at: datetime
    balance: Points
