"""A released report taken apart into cells, each beside its brute-force truth.

A cell is one released figure: a report's total, a category, a behaviour, a child region or a
step of a time series. Its key names it independently of the query that showed it (scope,
first and last day, methodology, dimension), so the same cell can be recognised in two reports.
Cells come in groups of siblings that add up to a parent cell (categories under the total,
behaviours under their category, child regions under the region, series steps under the total).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from carbonhub.methodology import Methodology
from tests.reports.oracle import Line, Scope, Truth

Row = Mapping[str, Any]
FIGURES = ("reductionKg", "totalReductionKg", "participants", "entries", "quantity")
SERIES = ("days", "weeks", "months", "byMonth")  # byMonth: the ESG report's own monthly series


@dataclass(frozen=True)
class Cell:
    key: tuple[Hashable, ...]
    where: str
    row: Row
    truth: Truth
    amount: str = "reductionKg"

    @property
    def suppressed(self) -> bool:
        return bool(self.row["suppressed"])

    @property
    def kg(self) -> Decimal | None:
        value = self.row[self.amount]
        return None if value is None else Decimal(value)

    @property
    def participants(self) -> int | None:
        value = self.row["participants"]
        return None if value is None else int(value)


@dataclass(frozen=True)
class Group:
    name: str
    parent: Cell
    members: tuple[Cell, ...]


@dataclass(frozen=True)
class TakenApart:
    total: Cell
    groups: tuple[Group, ...]
    not_covered: tuple[Row, ...]

    def cells(self) -> Iterator[Cell]:
        yield self.total
        seen = {self.total.key}
        for group in self.groups:
            for cell in group.members:
                if cell.key not in seen:
                    seen.add(cell.key)
                    yield cell


def take_apart(
    report: Row,
    scope: Scope,
    *,
    scope_id: str,
    methodology: Methodology,
    child_of: Callable[[Line], str | None] | None = None,
) -> TakenApart:
    """The report's cells, with the truth of each from ``scope`` (the report's own lines)."""
    start = date.fromisoformat(report["period"]["start"])
    end = date.fromisoformat(report["period"]["end"])
    m = methodology.key
    label = f"{scope_id} {report['period']['label']} {m}"
    total = Cell(
        (scope_id, start, end, m, None), f"{label} total", report, scope.truth(), "totalReductionKg"
    )
    groups: list[Group] = []

    categories = scope.by(lambda line: line.category)
    category_cells = {}
    for row in report["byCategory"]:
        code = row["category"]["code"]
        cell = Cell(
            (scope_id, start, end, m, ("category", code)),
            f"{label} category {code}",
            row,
            categories.get(code, Scope(()).truth()),
        )
        category_cells[code] = cell
    groups.append(Group(f"{label} byCategory", total, tuple(category_cells.values())))

    behaviours = scope.by(lambda line: line.behaviour)
    by_category: dict[str, list[Cell]] = {}
    not_covered = []
    for row in report["byBehaviour"]:
        code = row["behaviour"]["code"]
        if not row["covered"]:
            not_covered.append(row)
            continue
        cell = Cell(
            (scope_id, start, end, m, ("behaviour", code)),
            f"{label} behaviour {code}",
            row,
            behaviours.get(code, Scope(()).truth()),
        )
        by_category.setdefault(code.split(".")[0], []).append(cell)
    for category, members in by_category.items():
        parent = category_cells.get(category)
        assert parent is not None, f"{label}: behaviours of {category} but no category row"
        groups.append(Group(f"{label} byBehaviour in {category}", parent, tuple(members)))

    if child_of is not None and report.get("children"):
        children = scope.by(child_of)
        members = tuple(
            Cell(
                (row["region"]["code"], start, end, m, None),
                f"{label} child {row['region']['code']}",
                row,
                children.get(row["region"]["code"], Scope(()).truth()),
                "totalReductionKg",
            )
            for row in report["children"]
        )
        groups.append(Group(f"{label} children", total, members))

    for series in SERIES:
        if series not in report:
            continue
        members = tuple(
            Cell(
                (scope_id, date.fromisoformat(s["start"]), date.fromisoformat(s["end"]), m, None),
                f"{label} {series} {s['label']}",
                s,
                scope.between(date.fromisoformat(s["start"]), date.fromisoformat(s["end"])).truth(),
            )
            for s in report[series]
        )
        groups.append(Group(f"{label} {series}", total, members))
    return TakenApart(total, tuple(groups), tuple(not_covered))


def kg_sum(cells: tuple[Cell, ...]) -> Decimal:
    total = Decimal(0)
    for cell in cells:
        assert cell.kg is not None, f"{cell.where} is withheld"
        total += cell.kg
    return total
