"""Checks that need no database: is the event a plausible instance of a catalogued behaviour?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from carbonhub.ledger.events import BehaviourEvent, Rejection, to_milli
from carbonhub.methodology import BehaviourType, Catalogue

CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class ValidEvent:
    """An event that passed the static checks, with its measures in exact thousandths."""

    event: BehaviourEvent
    behaviour: BehaviourType
    measures: dict[str, int]


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an event cannot be posted."""

    reason: Rejection
    detail: str


def validate(event: BehaviourEvent, catalogue: Catalogue, now: datetime) -> ValidEvent | Refusal:
    """Check behaviour, units, quantities, plausibility and time; fill in the implied count."""
    behaviour = catalogue.behaviour(event.behaviour)
    if behaviour is None:
        return Refusal(
            Rejection.UNKNOWN_BEHAVIOUR, f"behaviour {event.behaviour!r} is not in the catalogue"
        )
    measures: dict[str, int] = {}
    for unit, quantity in event.measures.items():
        if unit not in behaviour.units:
            allowed = ", ".join(behaviour.units)
            return Refusal(
                Rejection.WRONG_UNIT, f"{behaviour.code} is measured in {allowed}, not {unit!r}"
            )
        milli = to_milli(quantity)
        if milli <= 0:
            return Refusal(
                Rejection.NON_POSITIVE_QUANTITY, f"quantity {quantity} {unit} must be positive"
            )
        limit = behaviour.max_per_event.get(unit)
        if limit is not None and quantity > limit:
            return Refusal(
                Rejection.IMPLAUSIBLE_QUANTITY,
                f"{quantity} {unit} in one {behaviour.code} event exceeds the plausible {limit} {unit}",
            )
        measures[unit] = milli
    measures.setdefault(behaviour.count_unit, 1000)
    speed = _speed_refusal(event, behaviour, measures)
    if speed is not None:
        return speed
    if event.occurred_at > now + CLOCK_SKEW:
        return Refusal(
            Rejection.FUTURE_TIME,
            f"occurred_at {event.occurred_at.isoformat()} is in the future (now {now.isoformat()})",
        )
    return ValidEvent(event, behaviour, measures)


def _speed_refusal(
    event: BehaviourEvent, behaviour: BehaviourType, measures: dict[str, int]
) -> Refusal | None:
    if event.duration_s is None:
        return None
    if event.duration_s <= 0:
        return Refusal(Rejection.MALFORMED, f"duration_s must be positive, not {event.duration_s}")
    if behaviour.max_speed_kmh is None or "km" not in measures:
        return None
    speed = Decimal(measures["km"]) / 1000 / (Decimal(event.duration_s) / 3600)
    if speed > behaviour.max_speed_kmh:
        return Refusal(
            Rejection.IMPLAUSIBLE_SPEED,
            f"{behaviour.code} at {speed:.1f} km/h average exceeds the plausible "
            f"{behaviour.max_speed_kmh} km/h",
        )
    return None
