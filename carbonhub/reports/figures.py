"""The values reports release: exact milligram figures, participants, and suppression."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

MG_PER_KG = Decimal(1_000_000)
MG_PER_G = Decimal(1_000)


def kg(mg: int) -> Decimal:
    """Milligrams as exact kilograms (Decimal, no rounding)."""
    return Decimal(mg) / MG_PER_KG


def grams(mg: int) -> Decimal:
    """Milligrams as exact grams."""
    return Decimal(mg) / MG_PER_G


@dataclass(frozen=True, slots=True)
class Travel:
    """Project emissions of a cell's trips (Scope 3 estimates): all, and those marked business
    travel with their count."""

    project_emission_mg: int = 0
    business_entries: int = 0
    business_project_emission_mg: int = 0


NO_TRAVEL = Travel()


@dataclass(frozen=True, slots=True)
class Cell:
    """Raw aggregates of one report cell, before privacy rules are applied."""

    key: str
    reduction_mg: int
    participants: int
    entries: int
    quantity_milli: int = 0
    travel: Travel = NO_TRAVEL


@dataclass(frozen=True, slots=True)
class Figure:
    """A released report cell. When ``suppressed``, every figure is None."""

    key: str
    suppressed: bool
    reduction_mg: int | None
    participants: int | None
    entries: int | None
    quantity_milli: int | None = None

    @property
    def reduction_kg(self) -> Decimal | None:
        """The reduction in kilograms, None when suppressed."""
        return None if self.reduction_mg is None else kg(self.reduction_mg)

    @classmethod
    def released(cls, cell: Cell) -> Figure:
        """The cell's figures as they are."""
        return cls(
            cell.key, False, cell.reduction_mg, cell.participants, cell.entries, cell.quantity_milli
        )

    @classmethod
    def withheld(cls, key: str) -> Figure:
        """A suppressed cell."""
        return cls(key, True, None, None, None, None)
