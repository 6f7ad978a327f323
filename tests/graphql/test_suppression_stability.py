"""The same report asked again withholds the same cells: complements never depend on memory reuse."""

from __future__ import annotations

import gc

from carbonhub.reports.figures import Cell
from carbonhub.reports.privacy import Decisions, Group


def _group(small: str, big: str) -> Group:
    members = {small: Cell(small, 1, 1, 1), big: Cell(big, 5, 20, 5), "c": Cell("c", 9, 30, 9)}
    return Group(Cell("", 15, 51, 15), members)


def test_given_many_short_lived_groups_then_each_gets_its_own_complement() -> None:
    decisions = Decisions(k=10)
    for i in range(200):
        small, big = f"s{i}", f"b{i}"
        group = _group(small, big)
        # b{i} (20 persons) is the complement of the lone primary s{i}, never an older group's key
        assert decisions.withheld(group.members[big], [(group, big)])
        assert not decisions.withheld(group.members["c"], [(group, "c")])
        del group
        # the young generations hold the freed group (a full collection would walk the whole
        # test session's heap, 200 times)
        gc.collect(1)
