"""The per-person SHA-256 hash chain over ledger entries.

Each entry's hash covers every field that carries meaning (including its position ``seq`` and
the previous entry's hash), so editing, deleting or reordering any entry breaks the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

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


def _canonical(value: Any) -> Any:
    kind = type(value)
    if kind is datetime:
        return value.astimezone(UTC).isoformat()
    if kind is date:
        return value.isoformat()
    return value


def entry_hash(entry: Mapping[str, Any]) -> str:
    """The hash of an entry (a row mapping or an object with the hashed attributes)."""
    values = [_canonical(entry[name]) for name in HASHED_FIELDS]
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def canonical_json(value: Any) -> str:
    """Compact, key-sorted JSON: the stored form of the JSON columns, stable under hashing."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
