"""The vocabulary of quantification: behaviours, methodologies, factors, caps, programmes.

All of these are immutable values loaded from the packaged data files; nothing here touches a
database. Grams are :class:`~decimal.Decimal`; reductions are integer milligrams.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from zoneinfo import ZoneInfo


class DedupRule(StrEnum):
    """How two connectors' claims of the same behaviour are recognised as one."""

    WINDOW = "window"
    REFERENCE = "reference"


class CapPeriod(StrEnum):
    """The local period a cap counts over."""

    DAY = "day"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class BehaviourCategory:
    """One of the 7 T/ACEF 031-2022 categories (clothing, food, housing, ...)."""

    code: str
    name_zh: str
    name_en: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class BehaviourType:
    """A green behaviour of the catalogue, with the rules that make an event of it plausible.

    Attributes:
        code: ``<category>.<name>``, e.g. ``transport.bike_share``.
        units: the units an event may report; ``count_unit`` is implied as 1 per event.
        max_per_event: per unit, the largest plausible quantity in one event.
        max_speed_kmh: for trips, the highest plausible average speed.
        window_minutes: for ``dedup = window``, how close two claims' start times must be.
        commute_mode: trips of this behaviour count as commuting (Scope 3 category 7).
    """

    code: str
    category: str
    name_zh: str
    name_en: str
    units: tuple[str, ...]
    count_unit: str
    dedup: DedupRule
    window_minutes: int = 0
    max_per_event: dict[str, Decimal] = field(default_factory=dict)
    max_speed_kmh: Decimal | None = None
    commute_mode: bool = False
    acef_example: bool = False


@dataclass(frozen=True, slots=True)
class Factor:
    """How a methodology turns one unit of a behaviour into grams CO2e avoided.

    ``grams_per_unit`` is the reduction; where the methodology gives baseline and project
    emission factors instead, the reduction is baseline minus project. ``grams_per_unit`` is
    None when the methodology names the behaviour but publishes no value (it then credits
    nothing and says so).
    """

    behaviour: str
    unit: str
    grams_per_unit: Decimal | None
    baseline_grams_per_unit: Decimal | None = None
    project_grams_per_unit: Decimal | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class Cap:
    """At most ``max_count`` credited events or ``max_grams`` per person per local day/month."""

    behaviour: str
    per: CapPeriod
    max_count: int | None = None
    max_grams: Decimal | None = None

    @property
    def max_mg(self) -> int | None:
        """The grams cap in milligrams, if the cap is on grams."""
        return None if self.max_grams is None else int(self.max_grams * 1000)


@dataclass(frozen=True, slots=True)
class Methodology:
    """A published, versioned way to quantify behaviours, with its factors and caps."""

    id: str
    version: str
    name_en: str
    name_zh: str
    publisher: str
    source: str
    effective_from: date
    effective_to: date | None
    factors: tuple[Factor, ...]
    caps: tuple[Cap, ...] = ()
    source_url: str | None = None
    note: str | None = None
    _by_behaviour: dict[str, Factor] = field(init=False, repr=False, compare=False)
    _caps_by_behaviour: dict[str, tuple[Cap, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_behaviour", {f.behaviour: f for f in self.factors})
        caps: dict[str, tuple[Cap, ...]] = {}
        for cap in self.caps:
            caps[cap.behaviour] = (*caps.get(cap.behaviour, ()), cap)
        object.__setattr__(self, "_caps_by_behaviour", caps)

    @property
    def key(self) -> str:
        """``id@version``, the name a ledger entry records."""
        return f"{self.id}@{self.version}"

    def in_effect(self, day: date) -> bool:
        """Whether the methodology applies to activity on local ``day``."""
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )

    def factor_for(self, behaviour: str) -> Factor | None:
        """The factor for ``behaviour``, or None when the methodology does not cover it."""
        return self._by_behaviour.get(behaviour)

    def caps_for(self, behaviour: str) -> tuple[Cap, ...]:
        """The caps that limit ``behaviour`` under this methodology."""
        return self._caps_by_behaviour.get(behaviour, ())

    def covered_behaviours(self) -> frozenset[str]:
        """Behaviours this methodology credits (with a published value)."""
        return frozenset(f.behaviour for f in self.factors if f.grams_per_unit is not None)


@dataclass(frozen=True, slots=True)
class Programme:
    """A region's carbon-inclusion programme: its primary methodology, time zone and points rate.

    Attributes:
        region: the province-level region code it covers (with all districts below).
        grams_per_point: credited grams CO2e that earn one green point.
    """

    id: str
    name_en: str
    name_zh: str
    region: str
    primary_methodology: str
    timezone: ZoneInfo
    grams_per_point: int
    starts: date | None = None
    ends: date | None = None

    @property
    def mg_per_point(self) -> int:
        """Credited milligrams that earn one point."""
        return self.grams_per_point * 1000
