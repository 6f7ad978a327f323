"""Public reference data: the behaviour catalogue, methodologies and programmes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from carbonhub import methodology as domain
from carbonhub.resolvers import region as region_resolvers
from carbonhub.resolvers.context import Info
from carbonhub.schema.cost import BEHAVIOURS, UNITS, list_size

if TYPE_CHECKING:
    from carbonhub.schema.region import Region


@strawberry.type(description="One of the 7 categories of T/ACEF 031-2022.")
class BehaviourCategory:
    code: strawberry.ID
    name_zh: str
    name_en: str
    note: str | None

    @classmethod
    def of(cls, category: domain.BehaviourCategory) -> BehaviourCategory:
        return cls(
            code=strawberry.ID(category.code),
            name_zh=category.name_zh,
            name_en=category.name_en,
            note=category.note,
        )

    @strawberry.field(
        description="Behaviours of the catalogue in this category.",
        directives=[list_size(BEHAVIOURS)],
    )
    def behaviours(self, info: Info) -> list[BehaviourType]:
        catalogue = info.context.hub.registry.catalogue
        return [BehaviourType.of(b) for b in catalogue.behaviours if b.category == self.code]


@strawberry.type(description="A green behaviour of the catalogue, e.g. transport.bike_share.")
class BehaviourType:
    code: strawberry.ID
    category_code: str
    name_zh: str
    name_en: str
    units: list[str] = strawberry.field(
        description="Units an event may report it in.", directives=[list_size(UNITS)]
    )
    count_unit: str = strawberry.field(
        description="The unit one event counts as when not reported."
    )
    dedup: str = strawberry.field(
        description="How a claim by two connectors is recognised as one: window or reference."
    )
    acef_example: bool = strawberry.field(
        description="A publicly confirmed T/ACEF 031-2022 example behaviour."
    )

    @classmethod
    def of(cls, behaviour: domain.BehaviourType) -> BehaviourType:
        return cls(
            code=strawberry.ID(behaviour.code),
            category_code=behaviour.category,
            name_zh=behaviour.name_zh,
            name_en=behaviour.name_en,
            units=list(behaviour.units),
            count_unit=behaviour.count_unit,
            dedup=behaviour.dedup.value,
            acef_example=behaviour.acef_example,
        )

    @strawberry.field
    def name(self) -> str:
        return self.name_en

    @strawberry.field
    def category(self, info: Info) -> BehaviourCategory:
        found = info.context.hub.registry.catalogue.category(self.category_code)
        if found is None:  # the catalogue is validated at load; this cannot happen
            raise LookupError(self.category_code)
        return BehaviourCategory.of(found)


def behaviour_type(info: Info, code: str) -> BehaviourType:
    """The catalogue type of a behaviour code."""
    found = info.context.hub.registry.catalogue.behaviour(code)
    if found is None:
        raise LookupError(code)
    return BehaviourType.of(found)


@strawberry.type(
    description="How a methodology turns one unit of a behaviour into grams CO2e avoided."
)
class Factor:
    behaviour_code: strawberry.Private[str]
    unit: str
    grams_per_unit: Decimal | None = strawberry.field(
        description="Null when the methodology publishes no value."
    )
    baseline_grams_per_unit: Decimal | None
    project_grams_per_unit: Decimal | None
    source: str

    @strawberry.field
    def behaviour(self, info: Info) -> BehaviourType:
        return behaviour_type(info, self.behaviour_code)


@strawberry.type(
    description="A limit on credited events or grams per person per local day or month."
)
class Cap:
    behaviour_code: strawberry.Private[str]
    per: str
    max_count: int | None
    max_grams: Decimal | None

    @strawberry.field
    def behaviour(self, info: Info) -> BehaviourType:
        return behaviour_type(info, self.behaviour_code)


@strawberry.federation.type(
    keys=["id version"], description="A published, versioned quantification methodology."
)
class Methodology:
    id: strawberry.ID
    version: str
    key: str = strawberry.field(description="id@version, as recorded on ledger entries.")
    name_zh: str
    name_en: str
    publisher: str
    source: str
    source_url: str | None
    effective_from: date
    effective_to: date | None
    note: str | None
    factors: list[Factor] = strawberry.field(directives=[list_size(BEHAVIOURS)])
    caps: list[Cap] = strawberry.field(directives=[list_size(BEHAVIOURS)])

    @strawberry.field
    def name(self) -> str:
        return self.name_en

    @classmethod
    def of(cls, m: domain.Methodology) -> Methodology:
        return cls(
            id=strawberry.ID(m.id),
            version=m.version,
            key=m.key,
            name_zh=m.name_zh,
            name_en=m.name_en,
            publisher=m.publisher,
            source=m.source,
            source_url=m.source_url,
            effective_from=m.effective_from,
            effective_to=m.effective_to,
            note=m.note,
            factors=[
                Factor(
                    behaviour_code=f.behaviour,
                    unit=f.unit,
                    grams_per_unit=f.grams_per_unit,
                    baseline_grams_per_unit=f.baseline_grams_per_unit,
                    project_grams_per_unit=f.project_grams_per_unit,
                    source=f.source,
                )
                for f in m.factors
            ],
            caps=[
                Cap(
                    behaviour_code=c.behaviour,
                    per=c.per.value,
                    max_count=c.max_count,
                    max_grams=c.max_grams,
                )
                for c in m.caps
            ],
        )

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID, version: str) -> Methodology:
        return cls.of(info.context.hub.registry.resolve(f"{id}@{version}"))


@strawberry.type(description="A region's carbon-inclusion programme.")
class Programme:
    id: strawberry.ID
    name_zh: str
    name_en: str
    region_code: str
    timezone: str
    grams_per_point: int = strawberry.field(
        description="Credited grams CO2e that earn one green point."
    )
    starts: date | None
    ends: date | None
    primary_methodology_key: strawberry.Private[str]

    @classmethod
    def of(cls, p: domain.Programme) -> Programme:
        return cls(
            id=strawberry.ID(p.id),
            name_zh=p.name_zh,
            name_en=p.name_en,
            region_code=p.region,
            timezone=p.timezone.key,
            grams_per_point=p.grams_per_point,
            starts=p.starts,
            ends=p.ends,
            primary_methodology_key=p.primary_methodology,
        )

    @strawberry.field
    def primary_methodology(self, info: Info) -> Methodology:
        return Methodology.of(info.context.hub.registry.resolve(self.primary_methodology_key))

    @strawberry.field
    async def region(
        self, info: Info
    ) -> Annotated[Region, strawberry.lazy("carbonhub.schema.region")]:
        from carbonhub.schema.region import Region

        return Region.of(await region_resolvers.region(info, self.region_code))
