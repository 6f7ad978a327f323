"""Following a pull connector's pages from the beginning to the end, as a sync run does."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from carbonhub.connectors.base import Connector, Page, ProviderAccount


@dataclass(slots=True)
class Walk:
    """What a walk over the pages saw, and what was wrong with the paging (if anything)."""

    pages: int = 0
    final_cursor: str | None = None
    records: list[Mapping[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def seen(self) -> set[str]:
        """The records' identities (their canonical JSON)."""
        return {record_key(r) for r in self.records}


def record_key(record: Any) -> str:
    """A record's identity for "seen before": its JSON with sorted keys."""
    return json.dumps(record, sort_keys=True, default=str)


async def walk_pages(connector: Connector, account: ProviderAccount, max_pages: int) -> Walk:
    """Fetch from cursor None until ``has_more`` is false, checking the cursors on the way.

    A cursor that moves must move somewhere new: going back to a cursor seen before would loop
    a sync run. A page may keep its input cursor only when it says there is nothing more now.
    """
    walk = Walk()
    cursor: str | None = None
    visited: set[str | None] = {None}
    while walk.pages < max_pages:
        page = await connector.fetch(account, cursor)
        walk.pages += 1
        if not isinstance(page, Page):
            walk.problems.append(f"fetch returned {type(page).__name__}, not a Page")
            return walk
        walk.records.extend(page.records)
        moved = page.next_cursor != cursor
        if moved and page.next_cursor in visited:
            walk.problems.append(
                f"page {walk.pages}: next_cursor {page.next_cursor!r} (after {cursor!r}) "
                "was visited before"
            )
            return walk
        if not moved and page.has_more:
            walk.problems.append(
                f"page {walk.pages}: has_more is true but the cursor stayed {cursor!r}, "
                "so a sync run would never end"
            )
            return walk
        visited.add(page.next_cursor)
        cursor = page.next_cursor
        if not page.has_more:
            walk.final_cursor = cursor
            return walk
    walk.problems.append(f"has_more was still true after {max_pages} pages (max_pages)")
    return walk
