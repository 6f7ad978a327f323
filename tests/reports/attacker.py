"""What an attacker can compute from released figures by adding and subtracting them.

Every released figure is the sum of some unknown base cells (a district on a day, say). A sum
of base cells is given away when it is a linear combination of released sums: then some
sequence of additions and subtractions of released figures equals it, whatever the figures
are. Gaussian elimination decides that; it runs modulo a large prime on sparse rows, which for
sums of 0/1 rows of this size agrees with the rationals (a disagreement would need the prime to
divide a minor of the matrix) and stays fast for hundreds of unknowns.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable

PRIME = (1 << 61) - 1
Row = dict[int, int]


class Attacker:
    """Collects released sums over base cells and says which sums of base cells they give away."""

    def __init__(self, cells: Iterable[Hashable]) -> None:
        self.index = {cell: i for i, cell in enumerate(cells)}
        self.basis: dict[int, Row] = {}  # pivot -> row with 1 at the pivot, 0 at earlier pivots
        self.learned = 0

    def learns_sum_of(self, cells: Iterable[Hashable]) -> None:
        """A released figure: the sum of these base cells."""
        row = self._reduce(self._row(cells))
        self.learned += 1
        if row:
            pivot = min(row)
            inverse = pow(row[pivot], PRIME - 2, PRIME)
            self.basis[pivot] = {i: v * inverse % PRIME for i, v in row.items()}

    def can_compute_sum_of(self, cells: Iterable[Hashable]) -> bool:
        """Whether additions and subtractions of what was released give this sum."""
        return not self._reduce(self._row(cells))

    def can_compute(self, cell: Hashable) -> bool:
        return self.can_compute_sum_of([cell])

    def _row(self, cells: Iterable[Hashable]) -> Row:
        row: Row = {}
        for cell in cells:
            i = self.index[cell]
            row[i] = (row.get(i, 0) + 1) % PRIME
        return {i: v for i, v in row.items() if v}

    def _reduce(self, row: Row) -> Row:
        row = dict(row)
        for pivot, base in self.basis.items():  # insertion order: each base is 0 at earlier pivots
            factor = row.get(pivot)
            if factor:
                for i, v in base.items():
                    value = (row.get(i, 0) - factor * v) % PRIME
                    if value:
                        row[i] = value
                    else:
                        row.pop(i, None)
        return row
