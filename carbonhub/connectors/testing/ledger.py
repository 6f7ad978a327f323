"""A throwaway SQLite hub ledger, to post a connector's events the way the hub does.

The conformance suite posts the normalised good samples twice through the real
:class:`~carbonhub.ledger.LedgerPoster`: a connector whose ``normalize`` is not deterministic
(a fresh id or timestamp per call) would post its records again on every sync.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from carbonhub.actors import register_person, sync_regions
from carbonhub.connectors.base import ConnectorInfo, ProviderEvent
from carbonhub.db import create_db_engine, upgrade_database, write_session
from carbonhub.ledger import (
    BehaviourEvent,
    LedgerPoster,
    PostingReport,
    VerificationReport,
    verify_ledger,
)
from carbonhub.methodology import load_programmes, packaged_registry

TIMEZONE = "Asia/Shanghai"
LIVING_SINCE = date(2020, 1, 1)


class ScratchLedger:
    """A migrated database with the packaged regions, methodologies and programmes."""

    def __init__(self, engine: Engine, home_region: str) -> None:
        registry = packaged_registry()
        self.engine = engine
        self.poster = LedgerPoster(
            registry, load_programmes(registry, TIMEZONE), default_timezone=TIMEZONE
        )
        self.home_region = home_region
        self._persons: dict[str, str] = {}

    def person_for(self, account: str, *, names_persons: bool) -> str:
        """The person standing in for a provider account (registered on first use).

        For a connector whose records name hub persons (``names_persons``), the account is the
        person id itself.
        """
        if account not in self._persons:
            with write_session(self.engine) as session:
                person = register_person(
                    session,
                    home_region_code=self.home_region,
                    since=LIVING_SINCE,
                    person_id=account if names_persons else None,
                )
                self._persons[account] = person.id
        return self._persons[account]

    def post(self, info: ConnectorInfo, events: Sequence[ProviderEvent]) -> PostingReport:
        """Post provider events as the hub does: ``source`` is the slug, the person stands in."""
        ledger_events = [
            BehaviourEvent(
                source=info.slug,
                external_id=e.external_id,
                person_id=self.person_for(e.account, names_persons=info.names_persons),
                behaviour=e.behaviour,
                occurred_at=e.occurred_at,
                measures=e.measures,
                reference=e.reference,
                duration_s=e.duration_s,
                business_travel=e.business_travel,
            )
            for e in events
        ]
        return self.poster.post(self.engine, ledger_events)

    def verify(self) -> VerificationReport:
        """Walk every person's hash chain."""
        return verify_ledger(self.engine)


@contextmanager
def scratch_ledger(directory: Path, home_region: str) -> Iterator[ScratchLedger]:
    """A :class:`ScratchLedger` in ``directory`` (its engine disposed of afterwards)."""
    engine = create_db_engine(f"sqlite:///{directory / 'conformance-ledger.db'}")
    try:
        upgrade_database(engine)
        with write_session(engine) as session:
            sync_regions(session)
        yield ScratchLedger(engine, home_region)
    finally:
        engine.dispose()
