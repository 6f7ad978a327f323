"""The demo's behaviour events, as the providers would deliver them, day by day.

Besides ordinary events the stream holds what a real hub receives: the same bike ride reported
by a second app (counted once), parcels reported by both the courier and the shop (counted
once), rides too fast to be cycling, and a few malformed records (all quarantined with reasons).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from carbonhub.demo.population import SEASON_END, SEASON_START, DemoCitizen
from carbonhub.ledger import BehaviourEvent
from carbonhub.methodology import Catalogue

SHANGHAI = ZoneInfo("Asia/Shanghai")
ACTIVITY = 0.5  # scales every citizen's habits: about one event per citizen a day
TRANSPORT = ("transport.bike_share", "transport.metro", "transport.bus")
SOURCES = {
    "transport.bike_share": "bikeshare",
    "transport.metro": "transit",
    "transport.bus": "transit",
    "food.no_utensils": "takeaway",
    "use.e_waybill": "logistics",
}


class EventStream:
    """Generates the season's events in chronological order (one local day at a time)."""

    def __init__(self, citizens: list[DemoCitizen], seed: int, catalogue: Catalogue) -> None:
        self.citizens = citizens
        self.catalogue = catalogue
        self.rng = random.Random(seed * 7919 + 17)  # noqa: S311  (synthetic data, reproducible)
        self.counter = 0

    def days(self) -> Iterator[date]:
        """The local days of the season."""
        day = SEASON_START
        while day <= SEASON_END:
            yield day
            day += timedelta(days=1)

    def __iter__(self) -> Iterator[BehaviourEvent | dict[str, Any]]:
        for day in self.days():
            yield from self.on(day)

    def on(self, day: date) -> Iterator[BehaviourEvent | dict[str, Any]]:
        """Every event of one local day."""
        weekend = day.weekday() >= 5
        for citizen in self.citizens:
            for behaviour, rate in citizen.habits.rates.items():
                if behaviour in TRANSPORT and weekend:
                    rate *= 0.5
                for _ in range(self._count(rate * ACTIVITY)):
                    yield from self._events(citizen, behaviour, day)
        if self.rng.random() < 0.3:
            yield self._malformed(day)

    def _count(self, rate: float) -> int:
        """A Poisson-like count with mean ``rate`` (rates are small)."""
        count = 0
        while rate > 0 and self.rng.random() < min(rate, 0.95):
            count += 1
            rate -= 1
        return count

    def _at(self, day: date, transport: bool) -> datetime:
        hour = self.rng.choice((7, 8, 17, 18)) if transport else self.rng.randrange(9, 22)
        local = datetime.combine(
            day, time(hour, self.rng.randrange(60), self.rng.randrange(60)), tzinfo=SHANGHAI
        )
        return local.astimezone(UTC)

    def _id(self, source: str) -> str:
        self.counter += 1
        return f"{source}-{self.counter:09d}"

    def _events(self, citizen: DemoCitizen, behaviour: str, day: date) -> Iterator[BehaviourEvent]:
        transport = behaviour in TRANSPORT
        when = self._at(day, transport)
        source = SOURCES.get(behaviour, "csv")
        if transport:
            event = self._trip(citizen, behaviour, when, source)
            yield event
            if behaviour == "transport.bike_share" and self.rng.random() < 0.02:
                # the same ride as recorded by a travel app, a few minutes apart
                again = when + timedelta(minutes=self.rng.randrange(-3, 4))
                yield BehaviourEvent(
                    source="csv",
                    external_id=self._id("maas"),
                    person_id=citizen.person_id,
                    behaviour=behaviour,
                    occurred_at=again,
                    measures=dict(event.measures),
                    duration_s=event.duration_s,
                )
            return
        reference = f"{behaviour.split('.')[1]}-{self.rng.getrandbits(48):012x}"
        event = BehaviourEvent(
            source=source,
            external_id=self._id(source),
            person_id=citizen.person_id,
            behaviour=behaviour,
            occurred_at=when,
            measures={self._count_unit(behaviour): Decimal(1)},
            reference=reference,
        )
        yield event
        if behaviour == "use.e_waybill" and self.rng.random() < 0.05:
            # the shop reports the same parcel by its waybill number
            yield BehaviourEvent(
                source="csv",
                external_id=self._id("shop"),
                person_id=citizen.person_id,
                behaviour=behaviour,
                occurred_at=when + timedelta(hours=2),
                measures=dict(event.measures),
                reference=reference,
            )

    def _count_unit(self, behaviour: str) -> str:
        found = self.catalogue.behaviour(behaviour)
        if found is None:
            raise LookupError(f"the demo uses {behaviour}, which is not in the catalogue")
        return found.count_unit

    def _trip(
        self, citizen: DemoCitizen, behaviour: str, when: datetime, source: str
    ) -> BehaviourEvent:
        habits = citizen.habits
        typical, speed = {
            "transport.bike_share": (habits.bike_km, self.rng.uniform(9, 16)),
            "transport.metro": (habits.metro_km, self.rng.uniform(25, 40)),
            "transport.bus": (habits.bus_km, self.rng.uniform(12, 22)),
        }[behaviour]
        km = max(0.3, min(typical * self.rng.lognormvariate(0, 0.35), 55.0))
        if behaviour == "transport.bike_share" and self.rng.random() < 0.003:
            speed = self.rng.uniform(40, 60)  # an e-scooter or a car, not a bike: quarantined
        duration = max(60, int(km / speed * 3600))
        return BehaviourEvent(
            source=source,
            external_id=self._id(source),
            person_id=citizen.person_id,
            behaviour=behaviour,
            occurred_at=when,
            measures={"km": Decimal(f"{km:.3f}"), "ride": Decimal(1)},
            duration_s=duration,
        )

    def _malformed(self, day: date) -> dict[str, Any]:
        citizen = self.rng.choice(self.citizens)
        when = self._at(day, False).isoformat()
        broken: list[dict[str, Any]] = [
            {
                "source": "csv",
                "external_id": self._id("csv"),
                "person_id": citizen.person_id,
                "behaviour": "transport.teleport",
                "occurred_at": when,
                "measures": {"km": "3"},
            },
            {
                "source": "takeaway",
                "external_id": self._id("takeaway"),
                "person_id": citizen.person_id,
                "behaviour": "food.no_utensils",
                "occurred_at": when,
                "measures": {"order": "-1"},
            },
            {
                "source": "transit",
                "external_id": self._id("transit"),
                "person_id": citizen.person_id,
                "behaviour": "transport.metro",
                "occurred_at": when[:19],
                "measures": {"km": "8"},
            },
            {
                "source": "logistics",
                "external_id": self._id("logistics"),
                "person_id": "p_nobody",
                "behaviour": "use.e_waybill",
                "occurred_at": when,
                "measures": {"waybill": "1"},
            },
        ]
        return self.rng.choice(broken)
