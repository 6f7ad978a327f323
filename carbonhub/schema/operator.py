"""What operators see: quarantined events."""

from __future__ import annotations

import json
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from carbonhub import models


@strawberry.type(
    description="An event the ledger refused, with the reason; nothing is silently dropped."
)
class QuarantinedEvent:
    id: strawberry.ID
    source: str
    external_id: str | None
    person_id: str | None
    behaviour_code: str | None
    reason: str
    detail: str
    payload: JSON
    received_at: datetime

    @classmethod
    def of(cls, row: models.QuarantinedEvent) -> QuarantinedEvent:
        return cls(
            id=strawberry.ID(str(row.id)),
            source=row.source,
            external_id=row.external_id,
            person_id=row.person_id,
            behaviour_code=row.behaviour_code,
            reason=row.reason,
            detail=row.detail,
            payload=json.loads(row.payload),
            received_at=row.received_at,
        )


@strawberry.type
class QuarantinedEventEdge:
    cursor: str
    node: QuarantinedEvent


@strawberry.type(description="Quarantined events, newest first.")
class QuarantinedEventConnection:
    edges: list[QuarantinedEventEdge]
    has_next_page: bool
    end_cursor: str | None
