"""Limits on what one GraphQL operation may ask: depth, aliases, root fields, tokens and cost.

All are settings (``CARBONHUB_GRAPHQL_*``) gathered in :class:`GraphQLLimits`. The document
limits are validation rules, and :func:`validation_rules` builds their classes once per limits
value: strawberry's validation cache is keyed by the rule classes, so a rule class built per
request (what strawberry's limiter extensions do when passed as factories) never hits it.

The depth and alias rules here replace strawberry's ``QueryDepthLimiter`` and
``MaxAliasesLimiter``: those follow every fragment spread anew, so a chain of fragments each
spreading the next one twice takes time exponential in its length (22 fragments, 190 tokens:
22 s and 9 s with strawberry 0.341.2), a denial of service well inside any token limit. Here
every fragment is measured once and its measures are added up wherever it is spread.

The cost limit needs the request's variables (``first: $n``), which a validation rule never
sees (and must not: the cache would answer for other variables), so :class:`CostLimit` prices
the operation right after the cached validation instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, ClassVar

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    get_operation_ast,
)
from graphql.validation import MaxIntrospectionDepthRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension

from carbonhub.schema.cost import operation_cost
from carbonhub.schema.errors import VALIDATION_FAILED
from carbonhub.settings import Settings

TOO_EXPENSIVE = "COST_ESTIMATED_TOO_EXPENSIVE"


@dataclass(frozen=True, slots=True)
class GraphQLLimits:
    """The limits a schema enforces (hashable: schemas and rule classes are cached by it)."""

    max_depth: int
    max_aliases: int
    max_tokens: int
    max_root_fields: int
    max_cost: int
    introspection: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> GraphQLLimits:
        """The limits of ``settings``; introspection unset means: only outside production."""
        introspection = settings.graphql_introspection
        return cls(
            max_depth=settings.graphql_max_depth,
            max_aliases=settings.graphql_max_aliases,
            max_tokens=settings.graphql_max_tokens,
            max_root_fields=settings.graphql_max_root_fields,
            max_cost=settings.graphql_max_cost,
            introspection=not settings.is_production if introspection is None else introspection,
        )


DEFAULT_LIMITS = GraphQLLimits.from_settings(Settings.model_construct())
"""The defaults of the settings, in development (no environment is read)."""


@dataclass(frozen=True, slots=True)
class Shape:
    """What the document limits measure of an operation or fragment, fragments expanded.

    ``depth`` is the nesting level of the deepest field (top-level fields are at 0; -1 when
    there is no field; the insides of ``__schema``/``__type`` are left to graphql-core's
    introspection depth rule). ``aliases`` counts aliased fields and ``root_fields`` the
    fields at level 0, each as often as it would be executed.
    """

    depth: int = -1
    aliases: int = 0
    root_fields: int = 0


@dataclass(slots=True)
class _Own:
    """A definition's measures without its spreads, and the spreads (name, level)."""

    depth: int = -1
    aliases: int = 0
    root_fields: int = 0
    spreads: list[tuple[str, int]] = field(default_factory=list)


def _own(selection_set: SelectionSetNode) -> _Own:
    own = _Own()
    pending: list[tuple[SelectionSetNode, int, bool]] = [(selection_set, 0, True)]
    while pending:
        selections, level, counted = pending.pop()
        for node in selections.selections:
            if isinstance(node, FieldNode):
                if counted:
                    own.depth = max(own.depth, level)
                own.aliases += node.alias is not None
                own.root_fields += level == 0
                if node.selection_set is not None:
                    inside = counted and node.name.value not in ("__schema", "__type")
                    pending.append((node.selection_set, level + 1, inside))
            elif isinstance(node, InlineFragmentNode):
                pending.append((node.selection_set, level, counted))
            elif isinstance(node, FragmentSpreadNode) and counted:
                own.spreads.append((node.name.value, level))
    return own


def _expanded(own: _Own, fragments: dict[str, Shape]) -> Shape:
    """``own`` with the shapes of its spread fragments added (unknown or cyclic ones: none)."""
    depth, aliases, root_fields = own.depth, own.aliases, own.root_fields
    for name, level in own.spreads:
        spread = fragments.get(name)
        if spread is None:
            continue
        if spread.depth >= 0:
            depth = max(depth, level + spread.depth)
        aliases += spread.aliases
        if level == 0:
            root_fields += spread.root_fields
    return Shape(depth, aliases, root_fields)


def _fragment_shapes(document: DocumentNode) -> dict[str, Shape]:
    """Every fragment's shape, each computed once (children first, without recursion)."""
    owns = {
        d.name.value: _own(d.selection_set)
        for d in document.definitions
        if isinstance(d, FragmentDefinitionNode)
    }
    shapes: dict[str, Shape] = {}
    entered: set[str] = set()
    for start in owns:
        pending = [start]
        while pending:
            name = pending[-1]
            if name in shapes:
                pending.pop()
            elif name not in entered:
                entered.add(name)
                # a spread of a fragment entered but not finished is a cycle: it adds nothing
                pending.extend(
                    child
                    for child, _ in owns[name].spreads
                    if child in owns and child not in entered
                )
            else:
                pending.pop()
                shapes[name] = _expanded(owns[name], shapes)
    return shapes


def measure(document: DocumentNode) -> list[tuple[OperationDefinitionNode, Shape]]:
    """The shape of every operation of ``document``, in time linear in its size."""
    fragments = _fragment_shapes(document)
    return [
        (d, _expanded(_own(d.selection_set), fragments))
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    ]


class OperationLimitsRule(ASTValidationRule):
    """Refuses operations deeper, with more aliases or with more root fields than allowed."""

    limits: ClassVar[GraphQLLimits] = DEFAULT_LIMITS

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        limits = self.limits
        for operation, shape in measure(context.document):
            name = f"'{operation.name.value if operation.name else 'anonymous'}'"
            if shape.depth > limits.max_depth:
                self._refuse(
                    f"{name} exceeds maximum operation depth of {limits.max_depth} "
                    f"(it is {shape.depth} deep)",
                    operation,
                )
            if shape.aliases > limits.max_aliases:
                self._refuse(
                    f"{name} has {shape.aliases} aliases, more than the {limits.max_aliases} "
                    "allowed",
                    operation,
                )
            if shape.root_fields > limits.max_root_fields:
                self._refuse(
                    f"{name} asks for {shape.root_fields} top-level fields, more than the "
                    f"{limits.max_root_fields} allowed",
                    operation,
                )

    def _refuse(self, message: str, operation: OperationDefinitionNode) -> None:
        self.report_error(GraphQLError(message, operation, extensions={"code": VALIDATION_FAILED}))


@lru_cache(maxsize=32)
def validation_rules(limits: GraphQLLimits) -> tuple[type[ASTValidationRule], ...]:
    """The validation rules enforcing ``limits``: the same classes for equal limits, so the
    validation cache keeps hitting."""
    chosen = limits

    class OperationLimits(OperationLimitsRule):
        limits = chosen

    rules: tuple[type[ASTValidationRule], ...] = (OperationLimits, MaxIntrospectionDepthRule)
    if not limits.introspection:
        # refuses __schema and __type; __typename and the federation _service { sdl } answer
        rules += (NoSchemaIntrospectionCustomRule,)
    return rules


class CostLimit(SchemaExtension):
    """Refuses an operation costing more than ``max_cost`` (see :mod:`carbonhub.schema.cost`).

    Prices the operation in the validation step, after the validation cache (listed after
    ``ValidationCache``) has validated the document, with the request's variables.
    """

    def __init__(self, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and not context.pre_execution_errors:
            operation = get_operation_ast(document, context.operation_name)
            if operation is not None:
                error = self.refusal(context.schema._schema, document, operation, context.variables)
                if error is not None:
                    context.pre_execution_errors = [error]
        yield

    def refusal(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any] | None,
    ) -> GraphQLError | None:
        """The error refusing ``operation``, or None when it costs no more than allowed."""
        try:
            cost = operation_cost(schema, document, operation, variables)
        except RecursionError:  # fragments nested beyond what can be priced: too expensive
            return GraphQLError(
                f"the operation is nested too deeply to price; the limit is {self.max_cost}",
                operation,
                extensions={"code": TOO_EXPENSIVE, "maxCost": self.max_cost},
            )
        if cost <= self.max_cost:
            return None
        return GraphQLError(
            f"the operation costs {cost}, more than the limit of {self.max_cost} "
            "(each field costs 1 or its @cost weight, lists times their size: first or @listSize)",
            operation,
            extensions={"code": TOO_EXPENSIVE, "maxCost": self.max_cost},
        )
