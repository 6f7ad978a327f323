"""The per-person SHA-256 hash chain over ledger entries.

Each entry's hash covers every field that carries meaning (including its position ``seq`` and
the previous entry's hash), so editing, deleting or reordering any entry breaks the chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any

import orjson

GENESIS = "0" * 64

HASHED_FIELDS = (
    "person_id",
    "seq",
    "entry_type",
    "source",
    "external_id",
    "reverses_entry_id",
    "behaviour_code",
    "category",
    "claim_reference",
    "quantity_milli",
    "unit",
    "measures",
    "occurred_at",
    "local_date",
    "region_code",
    "employers",
    "programme_id",
    "methodology_id",
    "methodology_version",
    "factor_g",
    "reduction_mg",
    "status",
    "note",
    "reductions",
    "points",
    "event_digest",
    "recorded_at",
    "prev_hash",
)


_hashed = itemgetter(*HASHED_FIELDS)
_TEMPORAL = (datetime, date)


def _canonical(value: Any) -> Any:
    kind = type(value)
    if kind is datetime:
        return value.astimezone(UTC).isoformat()
    if kind is date:
        return value.isoformat()
    return value


def entry_hash(entry: Mapping[str, Any]) -> str:
    """The hash of an entry (a row mapping or an object with the hashed attributes).

    The hashed text is compact JSON (UTF-8, no spaces) of the fields in ``HASHED_FIELDS``
    order, timestamps in UTC ISO 8601: the same bytes as Python's ``json.dumps`` with
    ``ensure_ascii=False`` and compact separators, so a verifier needs nothing but the
    standard library. An entry marked business travel has the string ``"business_travel"``
    appended to that list (entries without the mark hash as they always did).
    """
    values = [v if type(v) not in _TEMPORAL else _canonical(v) for v in _hashed(entry)]
    if entry.get("business_travel"):
        values.append("business_travel")
    return hashlib.sha256(orjson.dumps(values)).hexdigest()


def canonical_json(value: Any) -> str:
    """Compact, key-sorted JSON: the stored form of the JSON columns, stable under hashing."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
