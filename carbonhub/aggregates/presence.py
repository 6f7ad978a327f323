"""Which days a person counts for a recipient, as bitmaps, and what a change does to the counters.

A person's presence for one recipient and methodology is a bitmap of days per (unit, behaviour):
bit ``i`` is the day ``base + i`` (``base`` an ordinal, the first of January of the earliest
year held). Whether the person counts in a partition, a region node and a scope is then one
``AND`` with the partition's mask, so the counters' changes are computed from the bitmaps before
and after a change, for the partitions of the changed days only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date

from carbonhub.aggregates.partitions import ALL_TIME, spans_of_day
from carbonhub.periods import Period

UnitBehaviour = tuple[str, str]
Days = dict[UnitBehaviour, int]
CounterKey = tuple[str, str, str]  # (node, partition, scope)
YEAR_BITS = 366


def base_of(years: Sequence[int]) -> int:
    """The ordinal of bit 0 for bitmaps holding ``years``."""
    return date(min(years), 1, 1).toordinal()


def day_bit(day: date, base: int) -> int:
    """The bitmap with only ``day`` set."""
    return 1 << (day.toordinal() - base)


def range_mask(start: date, end: date, base: int) -> int:
    """Bits of the days ``start..end`` (clipped below at ``base``); all bits for all time."""
    low = max(start.toordinal() - base, 0)
    if end == date.max:
        return -1 << low
    high = end.toordinal() - base
    if high < low:
        return 0
    return ((1 << (high + 1)) - 1) ^ ((1 << low) - 1)


def year_slice(bits: int, year: int, base: int) -> int:
    """The part of ``bits`` in ``year``, shifted so bit 0 is its first of January."""
    offset = date(year, 1, 1).toordinal() - base
    return (bits >> offset) & ((1 << YEAR_BITS) - 1)


def from_year(bits: int, year: int, base: int) -> int:
    """A year's slice placed back at its offset from ``base``."""
    return bits << (date(year, 1, 1).toordinal() - base)


def days_set(bits: int, base: int) -> Iterator[date]:
    """The days whose bits are set."""
    index = 0
    while bits:
        if bits & 1:
            yield date.fromordinal(base + index)
        skip = (bits & -bits).bit_length() - 1 if bits & 1 == 0 else 1
        bits >>= skip
        index += skip


def counter_changes(
    before: Days,
    after: Days,
    base: int,
    *,
    nodes_of: Callable[[str], Sequence[str]],
    category_of: Mapping[str, str],
    season: Period | None,
) -> Counter[CounterKey]:
    """+1 / -1 per (node, partition, scope) where the person starts or stops counting."""
    changed = 0
    for key in before.keys() | after.keys():
        changed |= before.get(key, 0) ^ after.get(key, 0)
    if not changed:
        return Counter()
    masks: dict[str, int] = {}
    for day in days_set(changed, base):
        for span in spans_of_day(day, season):
            if span.key not in masks:
                masks[span.key] = (
                    -1 if span.key == ALL_TIME else range_mask(span.start, span.end, base)
                )
    groups: dict[tuple[str, str], list[int]] = {}
    for unit, behaviour in before.keys() | after.keys():
        b, a = before.get((unit, behaviour), 0), after.get((unit, behaviour), 0)
        scopes = ("all", f"c:{category_of.get(behaviour, 'unknown')}", f"b:{behaviour}")
        for node in nodes_of(unit):
            for scope in scopes:
                pair = groups.setdefault((node, scope), [0, 0])
                pair[0] |= b
                pair[1] |= a
    changes: Counter[CounterKey] = Counter()
    for (node, scope), (b, a) in groups.items():
        if b == a:
            continue
        for partition, mask in masks.items():
            was, now = bool(b & mask), bool(a & mask)
            if was != now:
                changes[(node, partition, scope)] += 1 if now else -1
    return changes
