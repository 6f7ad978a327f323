"""The ingest consent gate of posting: an event enters only under its person's consent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.consent.history import in_force
from carbonhub.ledger.gate import IngestCheck
from carbonhub.ledger.state import key_chunks, one_of
from carbonhub.models import ConsentGrant, ConsentGrantCategory


class ConsentIngestGate:
    """Looks up the batch's persons' active ingest consents in one query per key chunk."""

    def covered(
        self, session: Session, checks: Sequence[IngestCheck], now: datetime
    ) -> set[IngestCheck]:
        """Checks covered by an ingest consent to the event's source (the connector)."""
        persons = sorted({c.person_id for c in checks})
        allowed: defaultdict[tuple[str, str, str], list[tuple[date, date]]] = defaultdict(list)
        for part in key_chunks(session, persons):
            rows = session.execute(
                select(
                    col(ConsentGrant.person_id),
                    col(ConsentGrant.recipient_id),
                    col(ConsentGrantCategory.category),
                    col(ConsentGrant.data_from),
                    col(ConsentGrant.data_to),
                )
                .join(
                    ConsentGrantCategory,
                    col(ConsentGrantCategory.consent_id) == col(ConsentGrant.id),
                )
                .where(
                    one_of(session, col(ConsentGrant.person_id), part),
                    col(ConsentGrant.kind) == "ingest",
                    col(ConsentGrant.recipient_kind) == "connector",
                    in_force(now),
                )
            )
            for person_id, source, category, first, last in rows:
                allowed[(person_id, source, category)].append((first, last))
        return {
            c
            for c in checks
            if any(
                first <= c.day <= last
                for first, last in allowed.get((c.person_id, c.source, c.category), ())
            )
        }
