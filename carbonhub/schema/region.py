"""Regions (GB/T 2260) and their reports."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.federation.schema_directives import Cost

from carbonhub import models
from carbonhub.auth import Scope
from carbonhub.resolvers import region as resolvers
from carbonhub.resolvers.common import check_compared
from carbonhub.resolvers.context import Info
from carbonhub.schema.cost import CHILD_REGIONS, REPORT_WEIGHT, list_size
from carbonhub.schema.permissions import guarded
from carbonhub.schema.reference import Programme

if TYPE_CHECKING:
    from carbonhub.schema.reports import RegionReport

FromDate = Annotated[
    date | None, strawberry.argument(name="from", description="First local date (with `to`).")
]
ToDate = Annotated[
    date | None, strawberry.argument(description="Last local date, included (with `from`).")
]
PeriodText = Annotated[
    str | None,
    strawberry.argument(
        description="2023, 2023-Q3, 2023-07, 2023-W27, 2023-07-15 or 2023-07-01..2023-07-15; "
        "default: the programme's season."
    ),
]
MethodologyArgument = Annotated[
    strawberry.ID | None,
    strawberry.argument(
        description="id or id@version; default: the programme's primary methodology."
    ),
]


@strawberry.federation.type(
    keys=["code"], description="An administrative region by GB/T 2260 code."
)
class Region:
    code: strawberry.ID
    name_zh: str
    name_en: str
    level: str
    parent_code: strawberry.Private[str | None]

    @classmethod
    def of(cls, row: models.Region) -> Region:
        return cls(
            code=strawberry.ID(row.code),
            name_zh=row.name_zh,
            name_en=row.name_en,
            level=row.level,
            parent_code=row.parent_code,
        )

    @classmethod
    async def resolve_reference(cls, info: Info, code: strawberry.ID) -> Region:
        return cls.of(await resolvers.region(info, code))

    @strawberry.field(description="The official (Chinese) name.")
    def name(self) -> str:
        return self.name_zh

    @strawberry.field
    async def parent(self, info: Info) -> Region | None:
        if self.parent_code is None:
            return None
        return Region.of(await resolvers.region(info, self.parent_code))

    @strawberry.field(directives=[list_size(CHILD_REGIONS)])
    async def children(self, info: Info) -> list[Region]:
        return [Region.of(r) for r in await resolvers.children(info, self.code)]

    @strawberry.field(description="The carbon-inclusion programme the region belongs to.")
    def programme(self, info: Info) -> Programme | None:
        found = info.context.hub.programmes.for_region(self.code)
        return None if found is None else Programme.of(found)

    @guarded(
        Scope.REGION_READ,
        description="Reductions of the region and everything below it (agencies of its subtree).",
        directives=[Cost(weight=REPORT_WEIGHT)],
    )
    async def report(
        self,
        info: Info,
        period: PeriodText = None,
        from_: FromDate = None,
        to: ToDate = None,
        methodology: MethodologyArgument = None,
    ) -> Annotated[RegionReport, strawberry.lazy("carbonhub.schema.reports")]:
        from carbonhub.schema.reports import RegionReport

        check_compared(info.context.hub, info.selected_fields)
        return RegionReport(
            report=await resolvers.released_region_report(
                info, self.code, period, from_, to, methodology
            )
        )
