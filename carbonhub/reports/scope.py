"""What a report is about: a methodology, a period, and SQL to group rollup rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, literal
from sqlalchemy.sql.elements import ColumnElement as Column

from carbonhub.errors import InvalidInput
from carbonhub.methodology import Catalogue, Methodology, MethodologyRegistry, ProgrammeDirectory
from carbonhub.periods import Period

MAX_COMPARED = 8


@dataclass(frozen=True, slots=True)
class ReportBasis:
    """The methodology and period a report is computed under."""

    methodology: Methodology
    period: Period


def choose_methodology(
    registry: MethodologyRegistry,
    programmes: ProgrammeDirectory,
    region_code: str,
    requested: str | None,
) -> Methodology:
    """The requested methodology, or the primary one of the region's programme."""
    if requested:
        return registry.resolve(requested)
    programme = programmes.for_region(region_code)
    if programme is None:
        raise InvalidInput(f"region {region_code} runs no programme; name a methodology")
    return registry.resolve(programme.primary_methodology)


def resolve_compared(registry: MethodologyRegistry, references: Sequence[str]) -> list[Methodology]:
    """The methodologies to compare, in the order asked, without repeats."""
    if not references:
        raise InvalidInput("compare needs at least one methodology")
    if len(references) > MAX_COMPARED:
        raise InvalidInput(f"compare at most {MAX_COMPARED} methodologies at once")
    chosen: dict[str, Methodology] = {}
    for reference in references:
        methodology = registry.resolve(reference)
        chosen.setdefault(methodology.key, methodology)
    return list(chosen.values())


def mapped(
    column: Column[str], mapping: Mapping[str, str], default: str = ""
) -> ColumnElement[str]:
    """``CASE column WHEN k THEN v ... END``: group rows by a small mapping in SQL."""
    if not mapping:
        return literal(default)
    return case(mapping, value=column, else_=literal(default))


def category_of(column: Column[str], catalogue: Catalogue) -> ColumnElement[str]:
    """The behaviour's category, computed in SQL from the catalogue."""
    return mapped(column, {b.code: b.category for b in catalogue.behaviours}, "unknown")


def step_expression(column: Column[Any], steps: Sequence[Period]) -> ColumnElement[Any]:
    """A SQL expression naming each date's step: the date itself for one-day steps, else a CASE."""
    if all(step.start == step.end and step.label == step.start.isoformat() for step in steps):
        return column
    whens = [(column.between(s.start, s.end), literal(s.label)) for s in steps]
    return case(*whens, else_=literal(""))
