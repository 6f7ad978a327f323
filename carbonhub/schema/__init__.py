"""The carbonhub GraphQL schema: a Federation v2 subgraph for citizens, enterprises and agencies."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.federation import Schema
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from carbonhub.auth import Scope
from carbonhub.resolvers import enterprise as enterprise_resolvers
from carbonhub.resolvers import operator as operator_resolvers
from carbonhub.resolvers import person as person_resolvers
from carbonhub.resolvers import region as region_resolvers
from carbonhub.resolvers.context import Info
from carbonhub.schema.connectors import ConnectorMutation, ConnectorQuery
from carbonhub.schema.consent import ConsentMutation
from carbonhub.schema.cost import (
    BEHAVIOURS,
    CATEGORIES,
    DEFAULT_PAGE,
    METHODOLOGIES,
    PROGRAMMES,
    TOP_REGIONS,
    list_size,
    page,
)
from carbonhub.schema.enterprise import Enterprise
from carbonhub.schema.errors import ErrorPolicy, label_document_fault
from carbonhub.schema.limits import DEFAULT_LIMITS, CostLimit, GraphQLLimits, validation_rules
from carbonhub.schema.operator import (
    QuarantinedEvent,
    QuarantinedEventConnection,
    QuarantinedEventEdge,
)
from carbonhub.schema.permissions import guarded, guarded_mutation
from carbonhub.schema.person import LedgerEntry, Person, Points, PointsRedemption
from carbonhub.schema.reference import BehaviourCategory, BehaviourType, Methodology, Programme
from carbonhub.schema.region import Region
from carbonhub.schema.reports import EsgReport, RegionReport
from carbonhub.schema.rights import RightsMutation, RightsQuery
from carbonhub.schema.settle import SettledWork, SettlingExecution
from carbonhub.telemetry.graphql import GraphQLTracing

CACHE_SIZE = 1024
SUGGESTION = " Did you mean"


@strawberry.type
class Query(RightsQuery, ConnectorQuery):
    @guarded(Scope.LEDGER_READ, description="The signed-in citizen (a citizen's access token).")
    async def me(self, info: Info) -> Person:
        return Person.of(await person_resolvers.me(info))

    @guarded(
        Scope.LEDGER_READ,
        description="A person whose ledger the caller may read; anyone else is not found.",
    )
    async def person(self, info: Info, id: strawberry.ID) -> Person:
        return Person.of(await person_resolvers.person(info, id))

    @strawberry.field(description="An enterprise by id.")
    async def enterprise(self, info: Info, id: strawberry.ID) -> Enterprise:
        return Enterprise.of(await enterprise_resolvers.enterprise(info, id))

    @strawberry.field(
        description="A region by GB/T 2260 code, e.g. 110000 (Beijing) or 110108 (Haidian)."
    )
    async def region(self, info: Info, code: strawberry.ID) -> Region:
        return Region.of(await region_resolvers.region(info, code))

    @strawberry.field(description="The top-level regions.", directives=[list_size(TOP_REGIONS)])
    async def regions(self, info: Info) -> list[Region]:
        return [Region.of(r) for r in await region_resolvers.top_regions(info)]

    @strawberry.field(description="The behaviour catalogue.", directives=[list_size(BEHAVIOURS)])
    def behaviour_types(self, info: Info) -> list[BehaviourType]:
        return [BehaviourType.of(b) for b in info.context.hub.registry.catalogue.behaviours]

    @strawberry.field(
        description="The 7 categories of T/ACEF 031-2022.", directives=[list_size(CATEGORIES)]
    )
    def behaviour_categories(self, info: Info) -> list[BehaviourCategory]:
        return [BehaviourCategory.of(c) for c in info.context.hub.registry.catalogue.categories]

    @strawberry.field(
        description="Every registered methodology version.",
        directives=[list_size(METHODOLOGIES)],
    )
    def methodologies(self, info: Info) -> list[Methodology]:
        return [Methodology.of(m) for m in info.context.hub.registry.all()]

    @strawberry.field(description="A methodology by id (latest version) or id@version.")
    def methodology(self, info: Info, id: strawberry.ID) -> Methodology:
        return Methodology.of(info.context.hub.registry.resolve(id))

    @strawberry.field(
        description="The carbon-inclusion programmes.", directives=[list_size(PROGRAMMES)]
    )
    def programmes(self, info: Info) -> list[Programme]:
        return [Programme.of(p) for p in info.context.hub.programmes.all()]

    @guarded(
        Scope.ADMIN,
        description="Events the ledger refused, with reasons (operators).",
        directives=[page(DEFAULT_PAGE, sized_fields=("edges",))],
    )
    async def quarantined_events(
        self,
        info: Info,
        first: int = 50,
        after: str | None = None,
        reason: str | None = None,
        # ``source`` would collide with the permission extension's own parameter
        source_: Annotated[str | None, strawberry.argument(name="source")] = None,
    ) -> QuarantinedEventConnection:
        page = await operator_resolvers.quarantined_events(info, first, after, reason, source_)
        edges = [
            QuarantinedEventEdge(cursor=c, node=QuarantinedEvent.of(row)) for c, row in page.items
        ]
        return QuarantinedEventConnection(
            edges=edges, has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
        )


@strawberry.type
class Mutation(RightsMutation, ConsentMutation, ConnectorMutation):
    @guarded_mutation(
        Scope.POINTS_REDEEM, description="Spend the signed-in citizen's points on a reward."
    )
    async def redeem_points(self, info: Info, points: int, reward: str) -> PointsRedemption:
        redemption, balance = await person_resolvers.redeem(info, points, reward)
        return PointsRedemption(
            points=redemption.points,
            reward=redemption.reward,
            redeemed_at=redemption.redeemed_at,
            balance=Points.of(balance),
        )

    @guarded_mutation(
        Scope.ADMIN, description="Cancel a ledger entry with a reversal entry (operators)."
    )
    async def reverse_ledger_entry(self, info: Info, id: strawberry.ID, reason: str) -> LedgerEntry:
        try:
            entry_id = int(id)
        except ValueError:
            from carbonhub.errors import InvalidInput

            raise InvalidInput(f"ledger entry ids are numbers, not {id!r}") from None
        return LedgerEntry(view=await operator_resolvers.reverse(info, entry_id, reason))


class CarbonhubSchema(Schema):
    """The federated schema; errors are logged by :class:`ErrorPolicy` (internal faults only)."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Domain and validation errors are answers, not faults: nothing to log here; a
        syntax or validation error gets its code (:func:`label_document_fault`).

        Every "Did you mean ...?" hint is cut off (strawberry's ``disable_field_suggestions``
        cuts only those of unknown fields, not of arguments, types or enum values): with
        introspection off, hints would give the schema away name by name.
        """
        for error in errors:
            if SUGGESTION in error.message:
                error.message = error.message.split(SUGGESTION)[0].rstrip()
            label_document_fault(error)


def build_schema(limits: GraphQLLimits = DEFAULT_LIMITS) -> Schema:
    """The federated schema with carbonhub's error policy, caches and ``limits``.

    Extensions run in this order: the error policy sees everything the others raise; the
    token limit applies while parsing; the limit rules join validation (built once per limits
    value, so the validation cache hits); the cost limit prices what validation accepted.
    """
    rules = validation_rules(limits)
    return CarbonhubSchema(
        query=Query,
        mutation=Mutation,
        types=[RegionReport, EsgReport],
        extensions=[
            GraphQLTracing,  # one span per operation, none per field (carbonhub.telemetry)
            ErrorPolicy,
            SettledWork,
            lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
            lambda: AddValidationRules(list(rules)),
            lambda: ParserCache(maxsize=CACHE_SIZE),
            lambda: ValidationCache(maxsize=CACHE_SIZE),
            lambda: CostLimit(max_cost=limits.max_cost),
        ],
        config=StrawberryConfig(disable_field_suggestions=True),
        execution_context_class=SettlingExecution,
    )


@lru_cache(maxsize=8)
def schema_for(limits: GraphQLLimits) -> Schema:
    """The schema enforcing ``limits``, built once per limits value (apps share it)."""
    return build_schema(limits)


schema = schema_for(DEFAULT_LIMITS)
"""The schema with the default limits (development): export-schema, exports, tests."""
