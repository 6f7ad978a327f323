"""The region hierarchy: the packaged GB/T 2260 data, its sync into the database, and lookups."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import Session

from carbonhub.errors import NotFound
from carbonhub.models import Region

REGIONS_CSV = resources.files("carbonhub.actors") / "data" / "regions.csv"


@dataclass(frozen=True, slots=True)
class RegionRecord:
    """One region as shipped in the data file."""

    code: str
    parent: str | None
    level: str
    name_zh: str
    name_en: str


def packaged_regions() -> tuple[RegionRecord, ...]:
    """The regions shipped with carbonhub, parents before children."""
    with REGIONS_CSV.open("r", encoding="utf-8") as handle:
        rows = [
            RegionRecord(r["code"], r["parent"] or None, r["level"], r["name_zh"], r["name_en"])
            for r in csv.DictReader(handle)
        ]
    return tuple(sorted(rows, key=lambda r: (r.parent is not None, r.code)))


def sync_regions(session: Session, records: Iterable[RegionRecord] | None = None) -> int:
    """Insert or update the regions by code; returns how many rows changed."""
    existing = {r.code: r for r in session.scalars(select(Region))}
    changed = 0
    for record in records if records is not None else packaged_regions():
        row = existing.get(record.code)
        values = {
            "parent_code": record.parent,
            "level": record.level,
            "name_zh": record.name_zh,
            "name_en": record.name_en,
        }
        if row is None:
            session.add(
                Region(
                    code=record.code,
                    parent_code=record.parent,
                    level=record.level,
                    name_zh=record.name_zh,
                    name_en=record.name_en,
                )
            )
            session.flush()
            changed += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for key, value in values.items():
                setattr(row, key, value)
            changed += 1
    return changed


class RegionTree:
    """The hierarchy in memory: children, subtrees and leaves of any region.

    Region data is public reference data of a few hundred rows; reports use the tree to turn a
    region into the list of districts whose rollups they sum.
    """

    def __init__(self, regions: Iterable[Region | RegionRecord]) -> None:
        self._names: dict[str, tuple[str, str]] = {}
        self._parent: dict[str, str | None] = {}
        self._children: dict[str, list[str]] = {}
        for region in regions:
            parent = region.parent_code if isinstance(region, Region) else region.parent
            self._names[region.code] = (region.name_zh, region.name_en)
            self._parent[region.code] = parent
            self._children.setdefault(region.code, [])
            if parent is not None:
                self._children.setdefault(parent, []).append(region.code)
        for codes in self._children.values():
            codes.sort()

    @classmethod
    def load(cls, session: Session) -> RegionTree:
        """Build the tree from the ``region`` table."""
        return cls(session.scalars(select(Region)))

    def __contains__(self, code: object) -> bool:
        return code in self._parent

    def require(self, code: str) -> str:
        """Return ``code`` if it is a known region, else raise :class:`NotFound` naming it."""
        if code not in self._parent:
            raise NotFound(f"unknown region code {code!r} (GB/T 2260, e.g. 110108)")
        return code

    def parent(self, code: str) -> str | None:
        """The enclosing region's code."""
        return self._parent[self.require(code)]

    def children(self, code: str) -> Sequence[str]:
        """Codes of the regions directly below ``code``."""
        return tuple(self._children[self.require(code)])

    def codes(self) -> Sequence[str]:
        """Every region code the tree holds, sorted."""
        return tuple(sorted(self._parent))

    def roots(self) -> Sequence[str]:
        """Codes of the top-level regions."""
        return tuple(sorted(c for c, p in self._parent.items() if p is None))

    def leaves_under(self, code: str) -> tuple[str, ...]:
        """Codes of the lowest-level regions in the subtree of ``code`` (itself if a leaf)."""
        children = self._children[self.require(code)]
        if not children:
            return (code,)
        return tuple(leaf for child in children for leaf in self.leaves_under(child))

    def is_within(self, code: str, ancestor: str) -> bool:
        """Whether ``code`` is ``ancestor`` or lies below it."""
        current: str | None = code
        while current is not None:
            if current == ancestor:
                return True
            current = self._parent.get(current)
        return False

    def name(self, code: str) -> tuple[str, str]:
        """(Chinese name, English name) of the region."""
        return self._names[self.require(code)]
