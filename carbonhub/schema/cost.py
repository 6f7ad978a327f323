"""The static cost of an operation (demand control), and the directives that declare it.

The cost of a selection is the sum of the costs of its fields. A field costs its weight (1, or
``@cost(weight: N)``; ``__typename`` is free) plus the cost of its own selection, and a list
field multiplies that by its size:

* the value of its slicing argument (``first``) when given, as a literal or as a variable (the
  request's value; a variable without one counts as the largest page, 500);
* otherwise the argument's default, then ``@listSize(assumedSize: N)``, then 500;
* a connection (``@listSize(sizedFields: ["edges"])``) is not a list itself: the size applies
  to its ``edges``/``nodes`` lists instead;
* a field marked with :func:`one_per` is as long as one of its list arguments
  (``compare(methodologies: [...])``; likewise ``_entities(representations: [...])``), or
  its assumed size when that list is not known;
* a field marked with :func:`sized_by` has a size per value of an enum argument
  (``series(interval: DAY)`` has up to 366 points, ``MONTH`` up to 13).

Fields skipped by ``@skip``/``@include`` cost nothing. A fragment spread costs what its
fragment costs (computed once per operation, so spreading a fragment many times cannot make
pricing slow); a spread that would cycle costs nothing (validation refuses the cycle anyway).

The same ``@cost``/``@listSize`` directives are printed in the federation SDL (Federation v2.9
demand control), so a router can price operations the same way before they reach the hub.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    ast_from_value,
    get_named_type,
)
from strawberry.federation.schema_directives import Cost, ListSize
from strawberry.types.unset import UNSET

from carbonhub.resolvers.common import MAX_PAGE

SIZE_ARGUMENT = "carbonhub.cost.size_argument"
"""Field metadata key: the list argument whose length is the length of the field's list."""
SIZE_CHOICES = "carbonhub.cost.size_choices"
"""Field metadata key: (enum argument, size for each of its values)."""

REPORT_WEIGHT = 50
"""A released report reads rollups and runs suppression: priced like 50 plain fields."""
LEDGER_WEIGHT = 10
"""A personal ledger sums the person's entries over a period: priced like 10 plain fields."""
DEFAULT_PAGE = 50
"""The page size of a paginated field asked without ``first``."""

# Assumed sizes of lists that are bounded by reference data rather than by a page size.
CATEGORIES = 7  # T/ACEF 031-2022 has 7 behaviour categories
BEHAVIOURS = 30  # behaviour types of the catalogue (15 today)
UNITS = 5  # units one behaviour may be reported in
METHODOLOGIES = 10  # registered methodology versions (4 today)
PROGRAMMES = 20
CONNECTORS = 20  # enabled data-provider connectors
TOP_REGIONS = 40  # provincial-level divisions (34)
CHILD_REGIONS = 50  # GB/T 2260 divisions directly under one region
SERIES_POINTS = 366  # a series by day over the longest report period (a year)
MONTHS = 13  # months touched by a report period (a season may straddle 13)
SERIES_BY_INTERVAL = {"DAY": SERIES_POINTS, "WEEK": 54, "MONTH": MONTHS}
PERSONAL_ITEMS = 50  # a citizen's consents, consent requests, linked accounts
RECEIPTS = 10  # signed receipts of one consent (one per grant, change or withdrawal)
TABLES = 50  # tables an erasure reports on
INGEST_RECORDS = 1000  # records of one ingestEvents delivery


def list_size(assumed: int) -> ListSize:
    """``@listSize(assumedSize: N)``: a list bounded by reference data, about ``assumed`` long."""
    # UNSET, not None: the SDL leaves the argument out instead of printing `null`
    return ListSize(
        assumed_size=assumed,
        slicing_arguments=UNSET,
        sized_fields=UNSET,
        require_one_slicing_argument=UNSET,
    )


def page(default: int, *, sized_fields: tuple[str, ...] = ()) -> ListSize:
    """``@listSize(slicingArguments: ["first"])``: a page of ``first`` rows (``default`` if not
    given); with ``sized_fields``, a connection whose ``edges``/``nodes`` are the page."""
    return ListSize(
        assumed_size=default,
        slicing_arguments=["first"],
        sized_fields=list(sized_fields) or UNSET,
        require_one_slicing_argument=False,
    )


def one_per(argument: str) -> dict[str, str]:
    """Field metadata: the field's list has one item per item of the list ``argument``."""
    return {SIZE_ARGUMENT: argument}


def sized_by(argument: str, sizes: Mapping[str, int]) -> dict[str, Any]:
    """Field metadata: the field's list is ``sizes[value]`` long for each value of the enum
    ``argument`` (its assumed size for any other)."""
    return {SIZE_CHOICES: (argument, dict(sizes))}


@dataclass(frozen=True, slots=True)
class FieldPrice:
    """What pricing needs to know about one field of the schema."""

    weight: int = 1
    is_list: bool = False
    assumed_size: int | None = None
    slicing_arguments: tuple[str, ...] = ()
    default_size: int | None = None  # the default of the first slicing argument that has one
    sized_fields: frozenset[str] = frozenset()
    size_argument: str | None = None
    size_choices: tuple[str, Mapping[str, int]] | None = None
    default_choice: str | None = None  # the enum argument's default, by name


PLAIN = FieldPrice()


def _is_list(field: GraphQLField) -> bool:
    kind = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    return isinstance(kind, GraphQLList)


def _price(owner: str, name: str, field: GraphQLField) -> FieldPrice:
    definition = field.extensions.get("strawberry-definition")
    weight, assumed = 1, None
    slicing: tuple[str, ...] = ()
    sized: frozenset[str] = frozenset()
    for directive in getattr(definition, "directives", None) or ():
        if isinstance(directive, Cost):
            weight = directive.weight
        elif isinstance(directive, ListSize):
            assumed = directive.assumed_size
            slicing = tuple(directive.slicing_arguments or ())
            sized = frozenset(directive.sized_fields or ())
    defaults: list[int] = [
        default
        for default in (field.args[a].default_value for a in slicing if a in field.args)
        if isinstance(default, int) and not isinstance(default, bool)
    ]
    metadata = getattr(definition, "metadata", None) or {}
    size_argument = metadata.get(SIZE_ARGUMENT)
    if owner == "Query" and name == "_entities":  # federation: one entity per representation
        size_argument = "representations"
    choices = metadata.get(SIZE_CHOICES)
    default_choice = None
    if choices is not None and choices[0] in field.args:
        argument = field.args[choices[0]]
        default = ast_from_value(argument.default_value, argument.type)
        default_choice = default.value if isinstance(default, EnumValueNode) else None
    return FieldPrice(
        weight=weight,
        is_list=_is_list(field),
        assumed_size=assumed,
        slicing_arguments=slicing,
        default_size=defaults[0] if defaults else None,
        sized_fields=sized,
        size_argument=size_argument,
        size_choices=choices,
        default_choice=default_choice,
    )


@lru_cache(maxsize=16)
def prices(schema: GraphQLSchema) -> Mapping[tuple[str, str], FieldPrice]:
    """The price of every field of every object and interface type of ``schema``."""
    found: dict[tuple[str, str], FieldPrice] = {}
    for type_name, named in schema.type_map.items():
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            for name, field in named.fields.items():
                found[type_name, name] = _price(type_name, name, field)
    return found


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None = None,
) -> int:
    """The cost of ``operation`` (one of ``document``'s) with the request's ``variables``."""
    root = schema.get_root_type(operation.operation)
    pricing = _Pricing(schema, document, operation, variables or {})
    return pricing.selection(operation.selection_set, root, {})


class _Pricing:
    """One pricing of one operation; fragment costs are memoised for its duration."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.prices = prices(schema)
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.defaults = {
            d.variable.name.value: d.default_value for d in operation.variable_definitions or ()
        }
        self.variables = variables
        self.memo: dict[tuple[str, frozenset[tuple[str, int]]], int] = {}
        self.open: set[str] = set()

    def selection(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType | None,
        sized: Mapping[str, int],
    ) -> int:
        """The cost of ``selection_set`` on ``parent``; ``sized`` fields are lists that long."""
        total = 0
        for node in selection_set.selections:
            if not self._included(node):
                continue
            if isinstance(node, FieldNode):
                total += self._field(node, parent, sized)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition
                inner = parent if condition is None else self.schema.get_type(condition.name.value)
                total += self.selection(node.selection_set, inner, sized)
            elif isinstance(node, FragmentSpreadNode):
                total += self._fragment(node.name.value, sized)
        return total

    def _fragment(self, name: str, sized: Mapping[str, int]) -> int:
        key = (name, frozenset(sized.items()))
        if key in self.memo:
            return self.memo[key]
        fragment = self.fragments.get(name)
        if fragment is None or name in self.open:
            return 0  # unknown or cyclic: validation refuses the document
        self.open.add(name)
        try:
            parent = self.schema.get_type(fragment.type_condition.name.value)
            cost = self.selection(fragment.selection_set, parent, sized)
        finally:
            self.open.discard(name)
        self.memo[key] = cost
        return cost

    def _field(
        self, node: FieldNode, parent: GraphQLNamedType | None, sized: Mapping[str, int]
    ) -> int:
        name = node.name.value
        if name == "__typename":
            return 0
        price = PLAIN if parent is None else self.prices.get((parent.name, name), PLAIN)
        size = self._size(node, price)
        below = 0
        if node.selection_set is not None:
            inner = dict.fromkeys(price.sized_fields, size)
            below = self.selection(node.selection_set, _field_type(parent, name), inner)
        if name in sized:
            return sized[name] * (price.weight + below)
        if price.is_list and not price.sized_fields:
            return size * (price.weight + below)
        return price.weight + below

    def _size(self, node: FieldNode, price: FieldPrice) -> int:
        """How many items the field's list (or its sized fields) has."""
        if not price.is_list and not price.sized_fields:
            return 1
        arguments = {a.name.value: a.value for a in node.arguments or ()}
        if price.size_argument is not None:
            items = self._value(arguments.get(price.size_argument))
            if isinstance(items, list):
                return len(items)
        if price.size_choices is not None:
            argument, sizes = price.size_choices
            given = arguments.get(argument)
            choice = price.default_choice if given is None else self._value(given)
            if isinstance(choice, str) and choice in sizes:
                return sizes[choice]
        for slicing in price.slicing_arguments:
            if slicing in arguments:
                return _page(self._value(arguments[slicing]))
        if price.default_size is not None:
            return _page(price.default_size)
        return MAX_PAGE if price.assumed_size is None else price.assumed_size

    def _value(self, node: ValueNode | None) -> Any:
        """The value of an argument: literals, lists and variables (the request's or their
        default); None when unknown."""
        if isinstance(node, VariableNode):
            name = node.name.value
            if name in self.variables:
                return self.variables[name]
            return self._value(self.defaults.get(name))
        if isinstance(node, IntValueNode):
            return int(node.value)
        if isinstance(node, BooleanValueNode | EnumValueNode):
            return node.value
        if isinstance(node, ListValueNode):
            return [self._value(v) for v in node.values]
        return None

    def _included(self, node: SelectionNode) -> bool:
        """False when ``@skip(if: true)`` or ``@include(if: false)`` leaves the node out."""
        for directive in node.directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            arguments = directive.arguments or ()
            condition = next((a.value for a in arguments if a.name.value == "if"), None)
            value = self._value(condition)
            if isinstance(value, bool) and value == (name == "skip"):
                return False
        return True


def _page(value: Any) -> int:
    """A page size given as ``first``: unknown or not a number counts as the largest page."""
    if isinstance(value, int) and not isinstance(value, bool):
        return max(0, min(value, MAX_PAGE))
    return MAX_PAGE


def _field_type(parent: GraphQLNamedType | None, name: str) -> GraphQLNamedType | None:
    if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return None
    field = parent.fields.get(name)
    return None if field is None else get_named_type(field.type)
