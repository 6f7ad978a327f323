"""The contract between connectors and the ledger: a normalised behaviour event, and outcomes.

Connectors hand the ledger :class:`BehaviourEvent` values (or plain mappings of the same shape,
which are parsed here so that a malformed one is quarantined, not lost).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import orjson


class Rejection(StrEnum):
    """Why an event was quarantined instead of posted."""

    MALFORMED = "malformed"
    UNKNOWN_PERSON = "unknown_person"
    UNKNOWN_BEHAVIOUR = "unknown_behaviour"
    WRONG_UNIT = "wrong_unit"
    NON_POSITIVE_QUANTITY = "non_positive_quantity"
    IMPLAUSIBLE_QUANTITY = "implausible_quantity"
    IMPLAUSIBLE_SPEED = "implausible_speed"
    FUTURE_TIME = "future_time"
    OUTSIDE_METHODOLOGY_PERIOD = "outside_methodology_period"
    NO_PROGRAMME = "no_programme"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    DUPLICATE_CLAIM = "duplicate_claim"
    NO_INGEST_CONSENT = "no_ingest_consent"


class Outcome(StrEnum):
    """What posting did with one event."""

    POSTED = "posted"
    DUPLICATE = "duplicate"
    QUARANTINED = "quarantined"
    REJECTED = "rejected"  # refused and not stored at all (no consent to receive it)


@dataclass(frozen=True, slots=True)
class BehaviourEvent:
    """One green behaviour of one person, as quantified activity (never a GPS track).

    Attributes:
        source: the connector slug that delivered it; with ``external_id`` its identity.
        measures: unit -> quantity, e.g. ``{"km": Decimal("3.2")}``; a trip may carry both its
            distance and its count (``{"km": ..., "ride": 1}``). The behaviour's counting unit
            is 1 when absent.
        reference: an identifier shared by every provider that could report the same behaviour
            (a waybill or order number), used to count it once across connectors.
        duration_s: the trip's duration, for speed plausibility.
        business_travel: the trip was business travel (Scope 3 category 6), not commuting.
    """

    source: str
    external_id: str
    person_id: str
    behaviour: str
    occurred_at: datetime
    measures: Mapping[str, Decimal]
    reference: str | None = None
    duration_s: int | None = None
    business_travel: bool = False

    def payload(self) -> dict[str, Any]:
        """The event as JSON-safe data (for the quarantine and the ``csv`` import format)."""
        return {
            "source": self.source,
            "external_id": self.external_id,
            "person_id": self.person_id,
            "behaviour": self.behaviour,
            "occurred_at": self.occurred_at.isoformat(),
            "measures": {unit: str(q) for unit, q in sorted(self.measures.items())},
            "reference": self.reference,
            "duration_s": self.duration_s,
            "business_travel": self.business_travel,
        }


@dataclass(frozen=True, slots=True)
class EventResult:
    """The outcome of posting one event (in the order the events were given)."""

    source: str
    external_id: str | None
    outcome: Outcome
    person_id: str | None = None
    seq: int | None = None
    reason: Rejection | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class PostingReport:
    """What a posting run did, event by event and in total."""

    results: tuple[EventResult, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, results: list[EventResult]) -> PostingReport:
        """Summarise results: counts by outcome and by quarantine reason."""
        counts: Counter[str] = Counter(r.outcome.value for r in results)
        counts.update(f"reason:{r.reason.value}" for r in results if r.reason is not None)
        return cls(tuple(results), dict(counts))

    @property
    def posted(self) -> int:
        """Events that became ledger entries."""
        return self.counts.get(Outcome.POSTED.value, 0)

    @property
    def duplicates(self) -> int:
        """Events that had been posted before (nothing changed)."""
        return self.counts.get(Outcome.DUPLICATE.value, 0)

    @property
    def rejected(self) -> int:
        """Events refused without being stored (the provider had no consent to send them)."""
        return self.counts.get(Outcome.REJECTED.value, 0)

    @property
    def quarantined(self) -> int:
        """Events kept in the quarantine with a reason."""
        return self.counts.get(Outcome.QUARANTINED.value, 0)


MAX_SOURCE_LENGTH = 64  # the connector slug column's width
MAX_QUANTITY_DIGITS = 15  # a quantity's decimal exponent at most (stored as BIGINT thousandths)


class MalformedEvent(ValueError):
    """A raw event could not be read as a :class:`BehaviourEvent`."""


def parse_event(
    raw: BehaviourEvent | Mapping[str, Any], *, default_source: str | None = None
) -> BehaviourEvent:
    """Read a raw mapping (e.g. JSON from a provider) as an event, or raise :class:`MalformedEvent`."""
    if isinstance(raw, BehaviourEvent):
        return _checked(raw)
    if not isinstance(raw, Mapping):
        raise MalformedEvent(f"an event must be an object, not {type(raw).__name__}")
    source = raw.get("source", default_source)
    occurred = raw.get("occurred_at")
    if isinstance(occurred, str):
        try:
            occurred = datetime.fromisoformat(occurred)
        except ValueError:
            raise MalformedEvent(f"occurred_at {occurred!r} is not an ISO 8601 timestamp") from None
    if not isinstance(occurred, datetime):
        raise MalformedEvent("occurred_at is missing")
    _check_moment(occurred)
    measures_raw = raw.get("measures")
    if not isinstance(measures_raw, Mapping) or not measures_raw:
        raise MalformedEvent("measures must be a non-empty object of unit -> quantity")
    duration = raw.get("duration_s")
    _check_duration(duration)
    return BehaviourEvent(
        source=_text(source, "source", MAX_SOURCE_LENGTH),
        external_id=_text(raw.get("external_id"), "external_id"),
        person_id=_text(raw.get("person_id"), "person_id"),
        behaviour=_text(raw.get("behaviour"), "behaviour"),
        occurred_at=occurred,
        measures={_text(u, "unit"): _quantity(q, str(u)) for u, q in measures_raw.items()},
        reference=None
        if raw.get("reference") in (None, "")
        else _text(raw.get("reference"), "reference"),
        duration_s=duration,
        business_travel=_flag(raw.get("business_travel"), "business_travel"),
    )


def _checked(event: BehaviourEvent) -> BehaviourEvent:
    """A connector's event object gets the same checks as a mapping (no batch may crash on it)."""
    if not isinstance(event.occurred_at, datetime):
        raise MalformedEvent("occurred_at must be a datetime")
    _check_moment(event.occurred_at)
    _text(event.source, "source", MAX_SOURCE_LENGTH)
    for name in ("external_id", "person_id", "behaviour"):
        _text(getattr(event, name), name)
    if event.reference is not None:
        _text(event.reference, "reference")
    _check_duration(event.duration_s)
    if not isinstance(event.measures, Mapping):
        raise MalformedEvent("measures must be a mapping of unit -> quantity")
    measures = {_text(u, "unit"): _quantity(q, str(u)) for u, q in event.measures.items()}
    if all(type(q) is Decimal for q in event.measures.values()):
        return event
    return replace(event, measures=measures)


def _check_moment(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise MalformedEvent(f"occurred_at {moment.isoformat()} has no time zone offset")
    try:
        moment.astimezone(UTC)
    except OverflowError:
        raise MalformedEvent(f"occurred_at {moment.isoformat()} is out of range") from None


def _check_duration(duration: Any) -> None:
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int)):
        raise MalformedEvent("duration_s must be an integer number of seconds")


def _flag(value: Any, name: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise MalformedEvent(f"{name} must be true or false, not {value!r}")


def _text(value: Any, name: str, max_length: int = 200) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MalformedEvent(f"{name} must be a non-empty string")
    if len(value) > max_length:
        raise MalformedEvent(f"{name} is longer than {max_length} characters")
    return value.strip()


def _quantity(value: Any, unit: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise MalformedEvent(f"quantity of {unit} must be a number")
    try:
        quantity = Decimal(str(value))
    except InvalidOperation:
        raise MalformedEvent(f"quantity of {unit} {value!r} is not a number") from None
    if not quantity.is_finite():
        raise MalformedEvent(f"quantity of {unit} {value!r} is not finite")
    if quantity and quantity.adjusted() > MAX_QUANTITY_DIGITS:
        # 1e10000000 would take minutes to turn into an integer; no behaviour is that large
        raise MalformedEvent(f"quantity of {unit} {value!r} is out of range")
    return quantity


def to_milli(quantity: Decimal) -> int:
    """Thousandths of a unit, rounded down (3.2171 km -> 3217)."""
    return int((quantity * 1000).to_integral_value(rounding=ROUND_FLOOR))


def raw_payload(raw: object) -> str:
    """A JSON text of whatever arrived, for the quarantine (never fails)."""
    if isinstance(raw, BehaviourEvent):
        event = raw
        try:
            raw = event.payload()
        except (AttributeError, TypeError, ValueError):  # a malformed event object
            raw = {f.name: getattr(event, f.name) for f in fields(event)}
    try:
        return json.dumps(raw, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return json.dumps(repr(raw), ensure_ascii=False)


def event_digest(event: BehaviourEvent, measures_milli: Mapping[str, int]) -> str:
    """SHA-256 of what the event says, so that a replay is told from a conflicting reuse of its id."""
    canonical = orjson.dumps(
        [
            event.source,
            event.external_id,
            event.person_id,
            event.behaviour,
            event.occurred_at.astimezone(UTC).isoformat(),
            sorted(measures_milli.items()),
            event.reference,
            event.duration_s,
            event.business_travel,
        ]
    )
    return hashlib.sha256(canonical).hexdigest()
