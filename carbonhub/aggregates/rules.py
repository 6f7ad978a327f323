"""What keeping the released aggregates needs besides the rows: categories, region nodes, seasons."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.methodology import ProgrammeDirectory, packaged_registry
from carbonhub.models import Enterprise, Region
from carbonhub.periods import Period

Recipient = tuple[str, str]

# the share consents the reports release under: (recipient kind, purpose)
PURPOSES = {"programme": "regional_statistics", "enterprise": "esg_reporting"}


@dataclass(frozen=True, slots=True)
class Coverage:
    """One counted share consent: its recipient, categories and data window."""

    recipient: Recipient
    categories: frozenset[str]
    data_from: date
    data_to: date

    def covers(self, day: date, category: str) -> bool:
        """Whether the consent releases a row of ``category`` on ``day``."""
        return self.data_from <= day <= self.data_to and category in self.categories


def covered(coverage: Sequence[Coverage], recipient: Recipient, day: date, category: str) -> bool:
    """Whether any of the consents releases a row of ``category`` on ``day`` to ``recipient``."""
    return any(c.recipient == recipient and c.covers(day, category) for c in coverage)


class ReleaseRules:
    """Behaviour categories, the region nodes above a district, and each recipient's season."""

    def __init__(
        self, programmes: ProgrammeDirectory, category_of: Mapping[str, str] | None = None
    ) -> None:
        # every registry shares the packaged catalogue; methodologies differ, categories do not
        self.category_of = category_of or packaged_registry().catalogue.category_of()
        self.programmes = programmes
        self._parents: dict[str, str | None] | None = None
        self._chains: dict[str, list[str]] = {}
        self._enterprise_regions: dict[str, str | None] = {}

    def category(self, behaviour: str) -> str:
        """The behaviour's category (``unknown`` for a code outside the catalogue)."""
        return self.category_of.get(behaviour, "unknown")

    def nodes(self, session: Session, recipient_kind: str) -> Callable[[str], list[str]]:
        """For a unit, the nodes it counts in: a district and every region above it, or the
        enterprise itself."""
        if recipient_kind == "enterprise":
            return lambda unit: [unit]
        if self._parents is None:
            query = select(col(Region.code), col(Region.parent_code))
            self._parents = {row[0]: row[1] for row in session.execute(query)}
        parents = self._parents

        def chain(unit: str) -> list[str]:
            found = self._chains.get(unit)
            if found is None:
                found = [unit]
                while (parent := parents.get(found[-1])) is not None:
                    found.append(parent)
                self._chains[unit] = found
            return found

        return chain

    def season(self, session: Session, recipient: Recipient) -> Period | None:
        """The season of the programme the recipient's reports default to, if it has one."""
        kind, recipient_id = recipient
        region: str | None = recipient_id
        if kind == "enterprise":
            if recipient_id not in self._enterprise_regions:
                self._enterprise_regions[recipient_id] = session.scalar(
                    select(col(Enterprise.region_code)).where(col(Enterprise.id) == recipient_id)
                )
            region = self._enterprise_regions[recipient_id]
        programme = self.programmes.for_region(region) if region else None
        if programme is None or programme.starts is None or programme.ends is None:
            return None
        return Period(programme.starts, programme.ends, f"{programme.id} season")
