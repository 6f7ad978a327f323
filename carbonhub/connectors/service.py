"""The connectors' entry points for the app, the CLI and GraphQL: one object per running hub.

:class:`Connectors` bundles the registry, account linking, the sync runner and record
ingestion, so that pushes, GraphQL's ``ingestEvents``, ``carbonhub import`` and syncs all post
through the same path and leave a :class:`~carbonhub.models.SyncRun` record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from carbonhub.connectors.base import PushRequest
from carbonhub.connectors.ingest import IngestCounts, RecordIngest, RecordResult, Source
from carbonhub.connectors.linking import AccountLinking
from carbonhub.connectors.registry import ConnectorRegistry, LoadedConnector
from carbonhub.connectors.runner import SyncRunner
from carbonhub.connectors.vault import TokenVault
from carbonhub.db import read_session, write_session
from carbonhub.errors import InvalidInput, NotFound
from carbonhub.hub import Hub
from carbonhub.models import SyncRun, utcnow

MAX_PUSH_RECORDS = 1000


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """The answer to a push, an ``ingestEvents`` call or an import."""

    run_id: int
    results: tuple[RecordResult, ...]
    counts: dict[str, int]


class Connectors:
    """Everything connectors do for one hub."""

    def __init__(self, hub: Hub, registry: ConnectorRegistry) -> None:
        self.hub = hub
        self.registry = registry
        self._linking: AccountLinking | None = None
        self.ingest = RecordIngest(hub.poster())

    @classmethod
    def for_hub(cls, hub: Hub) -> Connectors:
        """The hub's enabled connectors, from its settings (raises ConfigurationError)."""
        return cls(hub, ConnectorRegistry.from_settings(hub.settings))

    @property
    def linking(self) -> AccountLinking:
        """Account linking (the token vault is opened on first use)."""
        if self._linking is None:
            vault = TokenVault.for_hub(self.hub.engine, self.hub.settings)
            self._linking = AccountLinking(
                self.hub.engine,
                self.registry,
                vault,
                self.hub.consents(),
                self.hub.settings.public_url,
            )
        return self._linking

    def runner(self, **options: Any) -> SyncRunner:
        """A sync runner over the linked accounts (options: clock, sleep, rng)."""
        return SyncRunner(self.hub, self.registry, self.linking, **options)

    def push(self, slug: str, request: PushRequest) -> IngestOutcome:
        """Verify a signed push of ``slug`` and post its records (InvalidPush when not good)."""
        loaded = self._pushing(slug)
        secret = getattr(loaded.config, "signing_secret", None)
        signed = PushRequest(
            request.headers,
            request.body,
            request.received_at,
            b"" if secret is None else secret.get_secret_value().encode(),
            self.hub.settings.push_window_s,
        )
        records = loaded.offline().verify(signed)
        return self.deliver(slug, records, mode="push", now=request.received_at)

    def deliver(
        self, slug: str, records: Sequence[Any], *, mode: str, now: datetime | None = None
    ) -> IngestOutcome:
        """Post records a provider delivered itself (push or ``ingestEvents``), with a run record."""
        loaded = self._pushing(slug) if mode == "push" else self.registry.get(slug)
        if len(records) > MAX_PUSH_RECORDS:
            raise InvalidInput(
                f"at most {MAX_PUSH_RECORDS} records per delivery, not {len(records)}"
            )
        moment = now or utcnow()
        with write_session(self.hub.engine) as session:
            results = self.ingest.ingest(session, Source(slug, loaded.offline()), records, moment)
            counts = IngestCounts()
            counts.add(results)
            run = _finished_run(slug, mode, counts, moment)
            session.add(run)
            session.flush()
            run_id = run.id or 0
        return IngestOutcome(run_id, tuple(results), counts.as_json())

    def import_records(
        self,
        slug: str,
        records: Iterable[Any],
        *,
        on_records: Callable[[int], None] | None = None,
    ) -> IngestOutcome:
        """Post a file's records (``carbonhub import``) in batches, with one run record."""
        loaded = self.registry.get(slug)
        counts = IngestCounts()
        results: list[RecordResult] = []
        started = utcnow()
        batch: list[Any] = []
        size = self.hub.settings.posting_batch_size

        def flush() -> None:
            with write_session(self.hub.engine) as session:
                done = self.ingest.ingest(session, Source(slug, loaded.offline()), batch, utcnow())
            counts.add(done)
            results.extend(r for r in done if r.outcome in ("quarantined", "rejected"))
            if on_records is not None:
                on_records(len(batch))
            batch.clear()

        for record in records:
            batch.append(record)
            if len(batch) >= size:
                flush()
        if batch:
            flush()
        with write_session(self.hub.engine) as session:
            run = _finished_run(slug, "import", counts, utcnow())
            run.started_at = started
            session.add(run)
            session.flush()
            run_id = run.id or 0
        return IngestOutcome(run_id, tuple(results), counts.as_json())

    def runs(self, *, connector: str | None = None, limit: int = 50) -> list[SyncRun]:
        """The latest sync runs, newest first (operators)."""
        statement = select(SyncRun).order_by(col(SyncRun.started_at).desc(), col(SyncRun.id).desc())
        if connector is not None:
            statement = statement.where(col(SyncRun.connector) == connector)
        with read_session(self.hub.engine) as session:
            return list(session.scalars(statement.limit(limit)))

    def _pushing(self, slug: str) -> LoadedConnector:
        loaded = self.registry.get(slug)
        if not loaded.info.push:
            raise NotFound(f"connector {slug} does not accept pushes")
        return loaded


def _finished_run(slug: str, mode: str, counts: IngestCounts, now: datetime) -> SyncRun:
    return SyncRun(
        connector=slug,
        mode=mode,
        status="ok",
        started_at=now,
        finished_at=now,
        fetched=counts.fetched,
        posted=counts.posted,
        duplicates=counts.duplicates,
        quarantined=counts.quarantined,
        rejected=counts.rejected,
    )
