"""Brute force: what a report must say, recomputed in Python from the raw ledger entries.

Reports read rollups through SQL; this module reads ``ledger_entry`` and ``consent_grant`` row
by row and knows nothing of rollups, report code or SQL grouping. An entry counts under a
methodology when its ``reductions`` JSON gives that methodology the status ``credited`` or
``capped``; a reversal entry carries the amounts negated and the same status, so it subtracts.
A person takes part in a cell when their counted entries in it outnumber their reversals there
(a credit that was reversed leaves nothing of that person behind).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Engine, text

from carbonhub.actors import RegionTree
from carbonhub.models import utcnow

COUNTED = frozenset({"credited", "capped"})
ENDING_EVENTS = ("revoked", "terminated", "superseded")
MG_PER_KG = Decimal(1_000_000)


def as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def as_moment(value: datetime | str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Line:
    """One ledger entry as seen under one methodology."""

    person: str
    day: date
    behaviour: str
    category: str
    district: str
    employers: frozenset[str]
    sign: int
    mg: int
    qty_milli: int


@dataclass(frozen=True, slots=True)
class Truth:
    """The true figures of a cell, before any privacy rule."""

    mg: int
    persons: frozenset[str]
    entries: int
    qty_milli: int

    @property
    def participants(self) -> int:
        return len(self.persons)

    @property
    def kg(self) -> Decimal:
        return Decimal(self.mg) / MG_PER_KG

    @property
    def quantity(self) -> Decimal:
        return Decimal(self.qty_milli) / 1000

    @property
    def empty(self) -> bool:
        return not self.persons


def truth_of(lines: Iterable[Line]) -> Truth:
    lines = list(lines)
    net: Counter[str] = Counter()
    for line in lines:
        net[line.person] += line.sign
    return Truth(
        mg=sum(line.mg for line in lines),
        persons=frozenset(p for p, n in net.items() if n > 0),
        entries=sum(line.sign for line in lines),
        qty_milli=sum(line.qty_milli for line in lines),
    )


@dataclass(frozen=True)
class Scope:
    """The lines a report may aggregate (its region or enterprise, period, methodology, consent)."""

    lines: tuple[Line, ...]

    def where(self, keep: Callable[[Line], bool]) -> Scope:
        return Scope(tuple(line for line in self.lines if keep(line)))

    def between(self, start: date, end: date) -> Scope:
        return self.where(lambda line: start <= line.day <= end)

    def truth(self) -> Truth:
        return truth_of(self.lines)

    def by(self, key: Callable[[Line], Hashable]) -> dict[Hashable, Truth]:
        groups: defaultdict[Hashable, list[Line]] = defaultdict(list)
        for line in self.lines:
            groups[key(line)].append(line)
        return {k: truth_of(v) for k, v in groups.items()}

    def behaviours(self) -> set[str]:
        return {line.behaviour for line in self.lines}


@dataclass(frozen=True, slots=True)
class Grant:
    person: str
    recipient_kind: str
    recipient: str
    purpose: str
    categories: frozenset[str]
    data_from: date
    data_to: date
    granted_at: datetime
    expires_at: datetime

    def covers(self, line: Line, now: datetime) -> bool:
        return (
            self.granted_at <= now < self.expires_at
            and self.data_from <= line.day <= self.data_to
            and line.category in self.categories
        )


@dataclass(frozen=True, slots=True)
class _Entry:
    person: str
    sign: int
    behaviour: str
    category: str
    day: date
    district: str
    employers: frozenset[str]
    reductions: dict[str, dict[str, object]]


class LedgerOracle:
    """Every ledger entry and share consent of the database, read once."""

    def __init__(self, engine: Engine, regions: RegionTree, now: datetime | None = None) -> None:
        self.regions = regions
        self.now = now or utcnow()
        with engine.connect() as connection:
            self._entries = [
                _Entry(
                    person=person,
                    sign=-1 if entry_type == "reversal" else 1,
                    behaviour=behaviour,
                    category=category,
                    day=as_date(day),
                    district=district,
                    employers=frozenset(json.loads(employers)),
                    reductions=json.loads(reductions),
                )
                for person, entry_type, behaviour, category, day, district, employers, reductions in (
                    connection.execute(
                        text(
                            "SELECT person_id, entry_type, behaviour_code, category, local_date, "
                            "region_code, employers, reductions FROM ledger_entry"
                        )
                    )
                )
            ]
            ended = {
                row[0]
                for row in connection.execute(
                    text(
                        "SELECT consent_id FROM consent_event WHERE consent_id IS NOT NULL "
                        "AND event_type IN ('revoked', 'terminated', 'superseded')"
                    )
                )
            }
            self._grants = [
                Grant(
                    person,
                    recipient_kind,
                    recipient,
                    purpose,
                    frozenset(categories.split()),
                    as_date(first),
                    as_date(last),
                    as_moment(granted),
                    as_moment(expires),
                )
                for grant_id, person, recipient_kind, recipient, purpose, categories, first, last, granted, expires in (
                    connection.execute(
                        text(
                            "SELECT id, person_id, recipient_kind, recipient_id, purpose, categories, "
                            "data_from, data_to, granted_at, expires_at FROM consent_grant "
                            "WHERE kind = 'share'"
                        )
                    )
                )
                if grant_id not in ended
            ]

    def lines(self, methodology_key: str) -> list[Line]:
        """Every entry counted under the methodology, with its amounts under it."""
        result = []
        for e in self._entries:
            under = e.reductions.get(methodology_key)
            if under is None or under.get("status") not in COUNTED:
                continue
            result.append(
                Line(
                    person=e.person,
                    day=e.day,
                    behaviour=e.behaviour,
                    category=e.category,
                    district=e.district,
                    employers=e.employers,
                    sign=e.sign,
                    mg=int(str(under.get("mg", 0))),
                    qty_milli=int(str(under.get("qty", 0))),
                )
            )
        return result

    def _consented(self, line: Line, recipient_kind: str, recipient: str, purpose: str) -> bool:
        return any(
            g.person == line.person
            and g.recipient_kind == recipient_kind
            and g.recipient == recipient
            and g.purpose == purpose
            and g.covers(line, self.now)
            for g in self._grants
        )

    def region(
        self, code: str, start: date, end: date, methodology_key: str, programme: str = "110000"
    ) -> Scope:
        """Residents of the region's districts with a regional-statistics consent in force."""
        districts = set(self.regions.leaves_under(code))
        return Scope(
            tuple(
                line
                for line in self.lines(methodology_key)
                if line.district in districts
                and start <= line.day <= end
                and self._consented(line, "programme", programme, "regional_statistics")
            )
        )

    def enterprise(self, enterprise_id: str, start: date, end: date, methodology_key: str) -> Scope:
        """Employees (on the entry's day) with an ESG-reporting consent to the enterprise."""
        return Scope(
            tuple(
                line
                for line in self.lines(methodology_key)
                if enterprise_id in line.employers
                and start <= line.day <= end
                and self._consented(line, "enterprise", enterprise_id, "esg_reporting")
            )
        )

    def child_of(self, parent: str) -> Callable[[Line], str | None]:
        """Key function: the child region of ``parent`` a line's district lies in."""
        owner = {
            leaf: child
            for child in self.regions.children(parent)
            for leaf in self.regions.leaves_under(child)
        }
        return lambda line: owner.get(line.district)
