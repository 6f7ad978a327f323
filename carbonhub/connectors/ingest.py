"""From a connector's raw records to ledger entries, inside the caller's transaction.

::

    raw record -> connector.normalize -> ProviderEvent | RecordRejection
    ProviderEvent -> person (linked account, or the record's own person id for file imports)
                  -> BehaviourEvent(source = connector slug) -> ledger posting (consent gate)

Every record gets one :class:`RecordResult`: ``posted``, ``duplicate``, ``quarantined`` (kept
with its reason; location data is stripped from the kept copy) or ``rejected`` (not stored:
nobody linked that provider account, or no ingest consent).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.connectors.base import Connector, ProviderEvent, RecordRejection
from carbonhub.connectors.records import LOCATION_KEYS
from carbonhub.consent.ingest import ConsentIngestGate
from carbonhub.ledger import BehaviourEvent, LedgerPoster, Outcome
from carbonhub.ledger.gate import IngestGate
from carbonhub.ledger.state import key_chunks, one_of
from carbonhub.models import LinkedAccount, QuarantinedEvent, table_of
from carbonhub.telemetry import count_events, observe_sync_lag

log = logging.getLogger(__name__)
QUARANTINE = table_of(QuarantinedEvent)
REASON_WIDTH = 40  # quarantined_event.reason


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What became of one raw record."""

    external_id: str | None
    outcome: str  # posted, duplicate, quarantined, rejected
    reason: str | None = None
    detail: str | None = None

    def as_json(self) -> dict[str, str | None]:
        """The result as a push response or GraphQL payload item."""
        return {
            "external_id": self.external_id,
            "outcome": self.outcome,
            "reason": self.reason,
            "detail": self.detail,
        }


@dataclass(slots=True)
class IngestCounts:
    """Totals of a sync run, a push or an import."""

    fetched: int = 0
    posted: int = 0
    duplicates: int = 0
    quarantined: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def add(self, results: Sequence[RecordResult]) -> None:
        """Count a batch's results."""
        self.fetched += len(results)
        for r in results:
            if r.outcome == "posted":
                self.posted += 1
            elif r.outcome == "duplicate":
                self.duplicates += 1
            elif r.outcome == "quarantined":
                self.quarantined += 1
            else:
                self.rejected += 1
            if r.reason is not None:
                self.reasons[r.reason] += 1

    def as_json(self) -> dict[str, int]:
        """The totals by outcome."""
        return {
            "fetched": self.fetched,
            "posted": self.posted,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "rejected": self.rejected,
        }


@dataclass(frozen=True, slots=True)
class Source:
    """Where a batch of records came from: the connector, and the linked account of a pull."""

    slug: str
    connector: Connector
    account: LinkedAccount | None = None  # None: a push (records name their accounts)


class RecordIngest:
    """Normalises, attributes and posts records of any connector."""

    def __init__(self, poster: LedgerPoster, gate: IngestGate | None = None) -> None:
        self.poster = poster
        self.gate: IngestGate = gate or ConsentIngestGate()

    def ingest(
        self, session: Session, source: Source, records: Sequence[Any], now: datetime
    ) -> list[RecordResult]:
        """Post ``records`` of ``source`` in the caller's transaction; one result per record."""
        return self.ingest_many(session, [(source, records)], now)[0]

    def ingest_many(
        self,
        session: Session,
        parts: Sequence[tuple[Source, Sequence[Any]]],
        now: datetime,
    ) -> list[list[RecordResult]]:
        """Post the records of several sources as one ledger batch (a posting batch has a fixed
        cost, so a sync posts the pages of many accounts together); results per part."""
        results: list[dict[int, RecordResult]] = [{} for _ in parts]
        events: list[BehaviourEvent] = []
        positions: list[tuple[int, int]] = []
        quarantine: list[dict[str, Any]] = []
        for part, (source, records) in enumerate(parts):
            for index, event in self._screen(
                session, source, records, results[part], quarantine, now
            ):
                events.append(event)
                positions.append((part, index))
        # the records refused here; the ledger counts the events it is given itself
        count_events(
            (source.slug, r.outcome)
            for done, (source, _) in zip(results, parts, strict=True)
            for r in done.values()
        )
        posted = self.poster.post_batch(session, events, gate=self.gate) if events else []
        observe_sync_lag(
            (e.source, (now - e.occurred_at).total_seconds())
            for e, r in zip(events, posted, strict=True)
            if r.outcome is Outcome.POSTED and now.tzinfo is not None
        )
        for (part, index), outcome in zip(positions, posted, strict=True):
            reason = None if outcome.reason is None else outcome.reason.value
            kind = "rejected" if outcome.outcome is Outcome.REJECTED else outcome.outcome.value
            results[part][index] = RecordResult(outcome.external_id, kind, reason, outcome.detail)
        fresh = _not_yet_quarantined(session, quarantine)
        if fresh:
            session.execute(insert(QUARANTINE), fresh)
        return [
            [done[i] for i in range(len(records))]
            for done, (_, records) in zip(results, parts, strict=True)
        ]

    def _screen(
        self,
        session: Session,
        source: Source,
        records: Sequence[Any],
        results: dict[int, RecordResult],
        quarantine: list[dict[str, Any]],
        now: datetime,
    ) -> list[tuple[int, BehaviourEvent]]:
        """Normalise and attribute one source's records: the events to post, by position; the
        others get their result (and quarantine row) here."""
        normalized = [_normalize(source.connector, r) for r in records]
        persons = self._persons(session, source, normalized)
        declared = source.connector.info.behaviours
        events: list[tuple[int, BehaviourEvent]] = []
        for index, item in enumerate(normalized):
            if isinstance(item, RecordRejection):
                results[index] = RecordResult(
                    item.external_id, "quarantined", item.reason, item.detail
                )
                quarantine.append(_quarantined(source.slug, records[index], item, None, now))
                continue
            refusal = self._attribution_problem(source, item, persons)
            if refusal is not None:
                results[index] = RecordResult(item.external_id, "rejected", *refusal)
                continue
            if item.behaviour not in declared:
                rejection = RecordRejection(
                    "undeclared_behaviour",
                    f"{source.slug} does not declare behaviour {item.behaviour!r}",
                    item.external_id,
                    item.account,
                )
                results[index] = RecordResult(
                    item.external_id, "quarantined", rejection.reason, rejection.detail
                )
                quarantine.append(
                    _quarantined(
                        source.slug, records[index], rejection, persons.get(item.account), now
                    )
                )
                continue
            events.append((index, _event(source.slug, item, persons[item.account])))
        return events

    def _persons(
        self,
        session: Session,
        source: Source,
        normalized: Sequence[ProviderEvent | RecordRejection],
    ) -> dict[str, str]:
        """Provider account -> person id for the batch's events."""
        accounts = {n.account for n in normalized if isinstance(n, ProviderEvent)}
        if source.connector.info.names_persons:
            return {a: a for a in accounts}
        if source.account is not None:
            return {source.account.subject: source.account.person_id}
        found: dict[str, str] = {}
        for part in key_chunks(session, sorted(accounts)):
            rows = session.execute(
                select(col(LinkedAccount.subject), col(LinkedAccount.person_id)).where(
                    col(LinkedAccount.connector) == source.slug,
                    col(LinkedAccount.status) != "unlinked",
                    one_of(session, col(LinkedAccount.subject), part),
                )
            )
            found.update((subject, person) for subject, person in rows)
        return found

    @staticmethod
    def _attribution_problem(
        source: Source, event: ProviderEvent, persons: Mapping[str, str]
    ) -> tuple[str, str] | None:
        if source.account is not None and event.account != source.account.subject:
            return (
                "foreign_account",
                f"a record of account {event.account!r} arrived with account {source.account.subject!r}'s token",
            )
        if event.account not in persons:
            return (
                "no_linked_account",
                f"no citizen has linked {source.slug} account {event.account!r}",
            )
        return None


def _not_yet_quarantined(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows whose record is not already in the quarantine for the same reason (a provider
    page read again, or a push repeated, must not fill the quarantine with copies)."""
    ids = sorted({r["external_id"] for r in rows if r["external_id"] is not None})
    sources = sorted({r["source"] for r in rows})
    seen: set[tuple[str, str, str]] = set()
    for part in key_chunks(session, ids):
        found = session.execute(
            select(
                col(QuarantinedEvent.source),
                col(QuarantinedEvent.external_id),
                col(QuarantinedEvent.reason),
            ).where(
                col(QuarantinedEvent.source).in_(sources),  # the identity index leads with it
                one_of(session, col(QuarantinedEvent.external_id), part),
            )
        )
        seen.update((source, external_id or "", reason) for source, external_id, reason in found)
    fresh, batch = [], set()
    for row in rows:
        key = (row["source"], row["external_id"] or "", row["reason"])
        if row["external_id"] is not None and (key in seen or key in batch):
            continue
        batch.add(key)
        fresh.append(row)
    return fresh


def _normalize(connector: Connector, record: Any) -> ProviderEvent | RecordRejection:
    """The connector's verdict; a connector that raises is a bug, quarantined as such."""
    try:
        result = connector.normalize(record)
    except Exception as exc:  # third-party plugin code must not stop a sync
        log.warning("connector %s raised on normalize: %r", connector.info.slug, exc)
        return RecordRejection(
            "connector_error", f"normalize raised {type(exc).__name__}: {exc}"[:1000]
        )
    if isinstance(result, ProviderEvent | RecordRejection):
        return result
    return RecordRejection("connector_error", f"normalize returned {type(result).__name__}")


def _event(slug: str, item: ProviderEvent, person_id: str) -> BehaviourEvent:
    return BehaviourEvent(
        source=slug,
        external_id=item.external_id,
        person_id=person_id,
        behaviour=item.behaviour,
        occurred_at=item.occurred_at,
        measures=item.measures,
        reference=item.reference,
        duration_s=item.duration_s,
        business_travel=item.business_travel,
    )


def _quarantined(
    slug: str, record: Any, rejection: RecordRejection, person_id: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "source": slug,
        "external_id": None if rejection.external_id is None else rejection.external_id[:200],
        "person_id": person_id,
        "behaviour_code": None,
        "reason": rejection.reason[:REASON_WIDTH],
        "detail": rejection.detail[:1000],
        "payload": json.dumps(redacted(record), ensure_ascii=False, sort_keys=True, default=str),
        "received_at": now,
    }


def redacted(record: Any) -> Any:
    """The record with every location field's value removed (what the quarantine may keep)."""
    if isinstance(record, Mapping):
        return {
            str(k): "[location removed]" if str(k).lower() in LOCATION_KEYS else redacted(v)
            for k, v in record.items()
        }
    if isinstance(record, list | tuple):
        return [redacted(v) for v in record]
    return record
