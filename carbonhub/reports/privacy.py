"""Small-cell suppression for released aggregates.

A cell with fewer than ``k`` distinct persons is suppressed (primary suppression). Reductions
are additive, so a cell is also derivable as its parent minus its siblings when it is the only
suppressed one among them: the sibling with the fewest persons is then suppressed too
(complementary suppression). Parents still include suppressed cells in their totals. Cells of
zero persons carry no one's data and are released.

Every cell belongs to canonical sibling groups, one per dimension it can be split along: its
region's siblings under the parent region, its period's siblings under the parent period
(day -> month -> quarter -> year), and its behaviour's siblings under the category (a
category's under the total). A cell is withheld when it is primary-suppressed or chosen as the
complement in any of its groups. Since the groups do not depend on the query, a cell gets the
same decision in every report that shows it: one report cannot release what another withholds.
A cell that is no canonical partition (an ISO week, a month clipped to a season) is a union of
days; it is withheld when exactly one of its days is, since it would give that day away.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from carbonhub.reports.figures import Cell, Figure

EMPTY = Cell("", 0, 0, 0)


def primary_suppressed(cell: Cell, k: int) -> bool:
    """Whether a cell has too few persons to be released on its own."""
    return 0 < cell.participants < k


@dataclass(frozen=True, slots=True)
class Group:
    """Sibling cells that together make up a parent cell."""

    parent: Cell
    members: Mapping[str, Cell]

    def complements(self, k: int) -> frozenset[str]:
        """The members withheld only to protect a lone primary-suppressed sibling."""
        primaries = [key for key, c in self.members.items() if primary_suppressed(c, k)]
        if len(primaries) != 1 or primary_suppressed(self.parent, k):
            return frozenset()
        candidates = [
            (c.participants, c.reduction_mg, key)
            for key, c in self.members.items()
            if key != primaries[0] and c.participants > 0
        ]
        return frozenset({min(candidates)[2]}) if candidates else frozenset()


@dataclass(slots=True)
class Decisions:
    """Which cells are withheld, given the canonical groups each cell belongs to."""

    k: int
    # keyed by id(group), with the group kept alive beside its answer: a group that died
    # could hand its id to a new one, which would then get the old group's complements
    _complements: dict[int, tuple[Group, frozenset[str]]] = field(default_factory=dict)

    def withheld(self, cell: Cell, memberships: Iterable[tuple[Group, str]]) -> bool:
        """Primary suppression, or the complement in any of the cell's groups."""
        if primary_suppressed(cell, self.k):
            return True
        return any(key in self._of(group) for group, key in memberships)

    def _of(self, group: Group) -> frozenset[str]:
        cached = self._complements.get(id(group))
        if cached is None or cached[0] is not group:
            cached = self._complements[id(group)] = (group, group.complements(self.k))
        return cached[1]

    def figure(self, cell: Cell, memberships: Iterable[tuple[Group, str]]) -> Figure:
        """The cell as released (figures) or withheld (none)."""
        return (
            Figure.withheld(cell.key) if self.withheld(cell, memberships) else Figure.released(cell)
        )


def union_withheld(cell: Cell, parts_withheld: Sequence[bool], k: int) -> bool:
    """A non-canonical cell (union of days) is withheld when primary or when exactly one part is."""
    return primary_suppressed(cell, k) or sum(parts_withheld) == 1


def protect_group(
    figures: list[Figure], cells: Sequence[Cell], parent_released: bool
) -> list[Figure]:
    """Within one displayed group of non-canonical cells, never leave exactly one withheld.

    Used for steps that are no canonical partition (ISO weeks, clipped months): their group
    depends on the report, so this is the one decision that can differ between reports.
    """
    withheld = [i for i, f in enumerate(figures) if f.suppressed and cells[i].participants > 0]
    if not parent_released or len(withheld) != 1:
        return figures
    candidates = [
        (c.participants, c.reduction_mg, c.key, i)
        for i, c in enumerate(cells)
        if i not in withheld and c.participants > 0 and not figures[i].suppressed
    ]
    if not candidates:
        return figures
    chosen = min(candidates)[3]
    return [Figure.withheld(f.key) if i == chosen else f for i, f in enumerate(figures)]
