"""What a connector's conformance test module declares, and the checks applied to its output."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from carbonhub.connectors.base import ConnectorInfo, ProviderEvent
from carbonhub.methodology import Catalogue


@dataclass(frozen=True, slots=True)
class GoodSample:
    """A raw record as the provider delivers it, and the behaviour it must normalise to.

    Good samples are also posted to a temporary ledger (the replay test), so they must be
    postable: within the programme's dates (the packaged Beijing programme: 2023-06-15 to
    2023-10-31), not in the future, and each one a different behaviour instance.
    """

    record: Mapping[str, Any]
    behaviour: str


@dataclass(frozen=True, slots=True)
class BadSample:
    """A raw record the connector must refuse, and the rejection ``reason`` it must give."""

    record: Mapping[str, Any]
    reason: str


# Location data in the shapes providers actually send: a point, a nested point, a track.
LOCATION_SAMPLES: tuple[Mapping[str, Any], ...] = (
    {"lat": 39.9087, "lng": 116.3975},
    {"start_location": {"latitude": "39.9087", "longitude": "116.3975"}},
    {"trajectory": [[116.3975, 39.9087], [116.4012, 39.9120], [116.4050, 39.9151]]},
)

# Values that break careless parsers: ids and timestamps of the wrong type, numbers that are
# not quite numbers, instants without an offset or out of range.
_AWKWARD_TEXT = (
    "",
    " ",
    "0",
    "-1",
    "1e9999",
    "NaN",
    "Infinity",
    "2023-07-01",
    "2023-07-01T08:00:00",
    "2023-07-01T08:00:00+08:00",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "2023-02-30T00:00:00Z",
    "\x00",
    "true",
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.sampled_from(_AWKWARD_TEXT)
)
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=10,
)
_DELETE = object()


def fuzzed_records(good: Sequence[GoodSample]) -> st.SearchStrategy[Any]:
    """Arbitrary JSON-like input, mostly good records with some fields changed or removed.

    Mutating real records reaches the connector's deeper checks (a valid id with a broken
    timestamp); purely random values only test the first one. Filled fields are changed more
    often than empty ones, and awkward strings ("NaN", a timestamp without offset) often.
    """
    if not good:
        return JSON_VALUES

    def mutate(record: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
        result = dict(record)
        for key, value in changes.items():
            if value is _DELETE:
                result.pop(key, None)
            else:
                result[key] = value
        return result

    def mutations(record: Mapping[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        filled = sorted((k for k, v in record.items() if v not in (None, "")), key=str)
        keys = st.sampled_from(filled or sorted(record, key=str))
        keys = keys | st.sampled_from(sorted(record, key=str)) | st.text(max_size=12)
        values = st.sampled_from(_AWKWARD_TEXT) | JSON_VALUES | st.just(_DELETE)
        changes = st.dictionaries(keys, values, min_size=1, max_size=3)
        return changes.map(lambda c: mutate(record, c))

    mutated = st.sampled_from([s.record for s in good]).flatmap(mutations)
    return st.one_of(mutated, mutated, JSON_VALUES)


def event_problems(event: ProviderEvent, info: ConnectorInfo, catalogue: Catalogue) -> list[str]:
    """What is wrong with a normalised event (empty when the ledger can take it as it is)."""
    problems = []
    for name in ("external_id", "account"):
        value = getattr(event, name)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{name} {value!r} is not a non-empty string")
    if event.behaviour not in info.behaviours:
        problems.append(f"behaviour {event.behaviour!r} is not one info.behaviours declares")
    if event.occurred_at.tzinfo is None or event.occurred_at.utcoffset() is None:
        problems.append(f"occurred_at {event.occurred_at.isoformat()} has no time zone")
    if not event.measures:
        problems.append("measures is empty")
    catalogued = catalogue.behaviour(event.behaviour)
    for unit, quantity in event.measures.items():
        if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity <= 0:
            problems.append(f"quantity {quantity!r} of {unit} is not a positive finite Decimal")
        if catalogued is not None and unit not in catalogued.units:
            problems.append(f"{event.behaviour} is measured in {catalogued.units}, not {unit!r}")
    duration = event.duration_s
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, int) or duration < 0
    ):
        problems.append(f"duration_s {duration!r} is not a non-negative integer")
    return problems
