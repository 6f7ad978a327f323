"""Enterprises (employers) and their ESG reports."""

from __future__ import annotations

import strawberry
from strawberry.federation.schema_directives import Cost

from carbonhub import models
from carbonhub.auth import Scope
from carbonhub.resolvers import consent as consent_resolvers
from carbonhub.resolvers import enterprise as resolvers
from carbonhub.resolvers import region as region_resolvers
from carbonhub.resolvers.common import check_compared
from carbonhub.resolvers.context import Info
from carbonhub.schema.consent import ConsentRequest, ConsentRequestSummary
from carbonhub.schema.cost import PERSONAL_ITEMS, REPORT_WEIGHT, list_size
from carbonhub.schema.permissions import guarded
from carbonhub.schema.region import FromDate, MethodologyArgument, PeriodText, Region, ToDate
from carbonhub.schema.reports import EsgReport


@strawberry.federation.type(
    keys=["id"], description="An employer, by its unified social credit code."
)
class Enterprise:
    id: strawberry.ID
    name: str
    name_en: str | None
    uscc: str = strawberry.field(description="Unified social credit code (GB 32100-2015).")
    row: strawberry.Private[models.Enterprise]

    @classmethod
    def of(cls, row: models.Enterprise) -> Enterprise:
        return cls(
            id=strawberry.ID(row.id), name=row.name, name_en=row.name_en, uscc=row.uscc, row=row
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Enterprise:
        return cls.of(await resolvers.enterprise(info, id))

    @strawberry.field
    async def region(self, info: Info) -> Region:
        return Region.of(await region_resolvers.region(info, self.row.region_code))

    @guarded(
        Scope.ESG_READ,
        description="The enterprise's consent requests: how many asked and approved.",
        directives=[list_size(PERSONAL_ITEMS)],
    )
    async def consent_requests(self, info: Info) -> list[ConsentRequestSummary]:
        return [
            ConsentRequestSummary(request=ConsentRequest.of(r), asked=asked, approved=approved)
            for r, asked, approved in await consent_resolvers.requests_of(info, self.row.id)
        ]

    @guarded(
        Scope.ESG_READ,
        description="Reductions of consenting employees' green behaviours (own enterprise).",
        directives=[Cost(weight=REPORT_WEIGHT)],
    )
    async def esg_report(
        self,
        info: Info,
        period: PeriodText = None,
        from_: FromDate = None,
        to: ToDate = None,
        methodology: MethodologyArgument = None,
    ) -> EsgReport:
        check_compared(info.context.hub, info.selected_fields)
        return EsgReport(
            await resolvers.released_esg_report(info, self.row, period, from_, to, methodology)
        )
