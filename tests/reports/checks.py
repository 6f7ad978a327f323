"""Assertions shared by the report tests: exact figures, and the privacy rules of released cells."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from carbonhub.methodology import Methodology, MethodologyRegistry
from tests.reports.cells import Cell, Group, TakenApart, kg_sum
from tests.reports.oracle import Scope

FIGURE_FIELDS = ("reductionKg", "totalReductionKg", "participants", "entries", "quantity")


def methodology_key(methodology: Mapping[str, Any]) -> str:
    return f"{methodology['id']}@{methodology['version']}"


# --- exactness ----------------------------------------------------------------------------------


def assert_is_truth(cell: Cell) -> None:
    """The cell is released and every figure in it is the brute-force one, to the milligram."""
    assert not cell.suppressed, f"{cell.where} is suppressed although k = 1"
    assert cell.kg == cell.truth.kg, f"{cell.where}: {cell.kg} kg, brute force {cell.truth.kg} kg"
    assert cell.participants == cell.truth.participants, (
        f"{cell.where}: {cell.participants} participants, brute force {cell.truth.participants}"
    )
    if "entries" in cell.row:
        assert cell.row["entries"] == cell.truth.entries, (
            f"{cell.where}: {cell.row['entries']} entries, brute force {cell.truth.entries}"
        )
    if "quantity" in cell.row:
        assert Decimal(cell.row["quantity"]) == cell.truth.quantity, (
            f"{cell.where}: quantity {cell.row['quantity']}, brute force {cell.truth.quantity}"
        )


def assert_sums_to_parent(group: Group) -> None:
    """The group's rows add up to the parent, to the milligram (compared as Decimal)."""
    assert kg_sum(group.members) == group.parent.kg, (
        f"{group.name}: rows sum to {kg_sum(group.members)} kg, parent says {group.parent.kg} kg"
    )


def assert_not_covered_rows(
    rows: Iterable[Mapping[str, Any]], methodology: Methodology, expected: set[str], where: str
) -> None:
    """Behaviours the methodology has no factor for are shown as such, with no figures (not 0)."""
    rows = list(rows)
    for row in rows:
        code = row["behaviour"]["code"]
        assert methodology.factor_for(code) is None, f"{where}: {code} marked not covered"
        figures = {f: row[f] for f in ("reductionKg", "quantity", "participants", "entries")}
        assert all(v is None for v in figures.values()), (
            f"{where}: not-covered {code} shows figures {figures} (must be null, never zero)"
        )
    shown = {row["behaviour"]["code"] for row in rows}
    assert expected <= shown, f"{where}: active but not shown as not covered: {expected - shown}"


def active_behaviours(scopes: Iterable[Scope]) -> set[str]:
    """Behaviours with counted entries in scope under any methodology."""
    found: set[str] = set()
    for scope in scopes:
        found |= scope.behaviours()
    return found


def assert_exact(
    apart: TakenApart, scope: Scope, methodology: Methodology, active: set[str], where: str
) -> None:
    """Every cell is its brute force, every group sums to its parent, nothing is left out."""
    for cell in apart.cells():
        assert_is_truth(cell)
    for group in apart.groups:
        assert_sums_to_parent(group)
    categories = {c["category"]["code"] for c in apart.total.row["byCategory"]}
    with_persons = {code for code, t in scope.by(lambda line: line.category).items() if t.persons}
    assert with_persons <= categories, f"{where}: no row for {with_persons - categories}"
    covered = {b for b in active if methodology.factor_for(b) is not None}
    for row in apart.total.row["byBehaviour"]:
        if row["covered"]:
            factor = methodology.factor_for(row["behaviour"]["code"])
            assert factor is not None, f"{where}: {row['behaviour']['code']} marked covered"
            assert row["unit"] == factor.unit, f"{where}: unit of {row['behaviour']['code']}"
    shown_covered = {
        row["behaviour"]["code"] for row in apart.total.row["byBehaviour"] if row["covered"]
    }
    assert covered <= shown_covered, f"{where}: covered but missing: {covered - shown_covered}"
    assert_not_covered_rows(apart.not_covered, methodology, active - covered, where)


def assert_comparison_exact(
    compared: list[Mapping[str, Any]],
    asked: list[str],
    scopes: Mapping[str, Scope],
    registry: MethodologyRegistry,
    where: str,
) -> None:
    """Each compared methodology's figures are its own brute force; what it does not cover says so."""
    assert [methodology_key(c["methodology"]) for c in compared] == asked
    active = active_behaviours(scopes.values())
    for c in compared:
        key = methodology_key(c["methodology"])
        methodology = registry.resolve(key)
        truth = scopes[key].truth()
        label = f"{where} compare {key}"
        assert c["suppressed"] is False, label
        assert Decimal(c["totalReductionKg"]) == truth.kg, (
            f"{label}: {c['totalReductionKg']} kg, brute force {truth.kg} kg"
        )
        assert c["participants"] == truth.participants, (
            f"{label}: {c['participants']} participants, brute force {truth.participants}"
        )
        behaviours = scopes[key].by(lambda line: line.behaviour)
        covered_rows = [r for r in c["byBehaviour"] if r["covered"]]
        for row in covered_rows:
            expected = behaviours.get(row["behaviour"]["code"], Scope(()).truth())
            assert Decimal(row["reductionKg"]) == expected.kg, f"{label} {row['behaviour']}"
            assert row["participants"] == expected.participants, f"{label} {row['behaviour']}"
        assert sum((Decimal(r["reductionKg"]) for r in covered_rows), Decimal(0)) == truth.kg
        not_covered = [r for r in c["byBehaviour"] if not r["covered"]]
        missing = {b for b in active if methodology.factor_for(b) is None}
        assert_not_covered_rows(not_covered, methodology, missing, label)
        assert {b["code"] for b in c["notCovered"]} == {r["behaviour"]["code"] for r in not_covered}


# --- privacy ------------------------------------------------------------------------------------


def assert_withheld_carries_no_figures(cell: Cell) -> None:
    figures = {f: cell.row[f] for f in FIGURE_FIELDS if f in cell.row}
    assert all(v is None for v in figures.values()), (
        f"{cell.where} is suppressed but shows {figures}"
    )


def assert_cell_private(cell: Cell, k: int) -> None:
    """A released cell has k persons or none (and says so truthfully); a small one is withheld."""
    if cell.suppressed:
        assert_withheld_carries_no_figures(cell)
        return
    true_count = cell.truth.participants
    assert true_count == 0 or true_count >= k, (
        f"{cell.where} is released with {true_count} persons (brute force) < k = {k}"
    )
    assert cell.participants == true_count, (
        f"{cell.where}: participants {cell.participants}, brute force {true_count}"
    )
    assert cell.participants == 0 or cell.participants >= k
    assert cell.kg == cell.truth.kg, f"{cell.where}: {cell.kg} kg, brute force {cell.truth.kg}"


def withheld_with_data(group: Group) -> list[Cell]:
    return [c for c in group.members if c.suppressed and not c.truth.empty]


def assert_no_lone_withheld_cell(group: Group) -> None:
    """Under a released parent, never exactly one suppressed cell with data (parent - siblings)."""
    if group.parent.suppressed:
        return
    lone = withheld_with_data(group)
    assert len(lone) != 1, (
        f"{group.name}: only {lone[0].where} is withheld; parent minus released siblings "
        f"gives it away ({lone[0].truth.participants} persons, {lone[0].truth.kg} kg)"
    )


def assert_withheld_remainder_is_large(group: Group, k: int) -> None:
    """Parent minus released siblings is the sum of the withheld cells: it needs k persons too."""
    if group.parent.suppressed:
        return
    withheld = withheld_with_data(group)
    persons = frozenset().union(*(c.truth.persons for c in withheld)) if withheld else frozenset()
    assert not persons or len(persons) >= k, (
        f"{group.name}: the withheld cells {[c.where for c in withheld]} sum to a figure "
        f"derivable as parent minus released siblings, and cover only {len(persons)} persons"
    )
