"""Small-cell suppression for released aggregates.

A cell with fewer than ``k`` distinct persons is suppressed (primary suppression). Reductions
are additive, so when a released parent has exactly one suppressed child, that child could be
computed as parent minus siblings: the smallest released sibling is suppressed too
(complementary suppression). Parents still include the suppressed cells in their totals.
Cells of zero persons carry no one's data and are released.
"""

from __future__ import annotations

from collections.abc import Sequence

from carbonhub.reports.figures import Cell, Figure


def primary_suppressed(cell: Cell, k: int) -> bool:
    """Whether a cell has too few persons to be released on its own."""
    return 0 < cell.participants < k


def suppress_group(cells: Sequence[Cell], k: int, *, parent_released: bool) -> list[Figure]:
    """Release a group of sibling cells that sum to a parent, applying both suppressions."""
    withheld = {c.key for c in cells if primary_suppressed(c, k)}
    if parent_released and len(withheld) == 1 and len(cells) > 1:
        candidates = [c for c in cells if c.key not in withheld and c.participants > 0]
        if candidates:
            withheld.add(min(candidates, key=lambda c: (c.reduction_mg, c.participants, c.key)).key)
        else:
            withheld = {c.key for c in cells if c.participants > 0}
    return [Figure.withheld(c.key) if c.key in withheld else Figure.released(c) for c in cells]


def release(cell: Cell, k: int) -> Figure:
    """Release a single cell (a report's total) under primary suppression."""
    return Figure.withheld(cell.key) if primary_suppressed(cell, k) else Figure.released(cell)
