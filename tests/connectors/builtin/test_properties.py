"""Properties of ``normalize`` over arbitrary input: it never raises, and what it accepts is sound."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carbonhub.connectors.base import ProviderEvent, RecordRejection
from carbonhub.connectors.records import LOCATION_KEYS
from tests.connectors.builtin.samples import GOOD
from tests.connectors.builtin.support import PROVIDER_SLUGS, offline

AWKWARD = st.sampled_from(
    [
        "", " ", "0", "-1", "1e9999", "NaN", "Infinity", "true", "\x00", "bike", "ebike",
        "metro", "bus", "none", "completed", "cancelled", "2023-07-01", "2023-07-01T08:00:00",
        "2023-07-01T08:00:00+08:00", "2023-07-01T07:00:00Z", "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00", "2023-02-30T00:00:00Z",
    ]
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | AWKWARD
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
DELETE = object()


def mutated(provider: str) -> st.SearchStrategy[Any]:
    """The provider's good record with up to three fields removed or replaced by anything."""
    record = GOOD[provider]
    keys = st.sampled_from(sorted(record)) | st.text(max_size=10)
    changes = st.dictionaries(keys, JSON | st.just(DELETE), min_size=1, max_size=3)

    def apply(edits: dict[str, Any]) -> dict[str, Any]:
        result = dict(record)
        for key, value in edits.items():
            if value is DELETE:
                result.pop(key, None)
            else:
                result[key] = value
        return result

    return changes.map(apply)


def anything(provider: str) -> st.SearchStrategy[Any]:
    """Arbitrary JSON-like values, mostly near-valid records (they reach the deeper checks)."""
    return mutated(provider) | mutated(provider) | JSON


def has_location(value: Any) -> bool:
    """Whether a location key with a value is anywhere in ``value``."""
    if isinstance(value, dict):
        return any(
            (str(k).lower() in LOCATION_KEYS and v not in (None, "", [], {})) or has_location(v)
            for k, v in value.items()
        )
    if isinstance(value, list):
        return any(has_location(v) for v in value)
    return False


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_normalize_never_raises_and_accepts_only_sound_events(
    provider: str, data: st.DataObject
) -> None:
    connector = offline(provider)
    record = data.draw(anything(provider))

    result = connector.normalize(record)

    assert isinstance(result, ProviderEvent | RecordRejection)
    if isinstance(result, ProviderEvent):
        assert result.behaviour in connector.info.behaviours
        assert result.occurred_at.utcoffset() is not None
        assert result.external_id.strip() == result.external_id != ""
        for quantity in result.measures.values():
            assert isinstance(quantity, Decimal)
            assert quantity.is_finite()
            assert quantity > 0
        assert result.duration_s is None or result.duration_s > 0


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
@settings(max_examples=80, deadline=None)
@given(
    data=st.data(),
    key=st.sampled_from(sorted(LOCATION_KEYS)),
    value=JSON.filter(lambda v: v not in (None, "", [], {})),
)
def test_a_record_carrying_location_data_is_always_refused_for_it(
    provider: str, data: st.DataObject, key: str, value: Any
) -> None:
    record = data.draw(anything(provider))
    carrier = (
        {**record, key: value} if isinstance(record, dict) else {"wrapped": record, key: value}
    )

    result = offline(provider).normalize(carrier)

    assert isinstance(result, RecordRejection)
    assert result.reason == "location_data"


@pytest.mark.parametrize("provider", PROVIDER_SLUGS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_only_records_without_location_data_become_events(
    provider: str, data: st.DataObject
) -> None:
    record = data.draw(mutated(provider))

    result = offline(provider).normalize(record)

    if isinstance(result, ProviderEvent):
        assert not has_location(record)
