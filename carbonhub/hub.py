"""A running hub's shared parts: settings, database engine, methodologies, programmes, regions.

Built once per process (by the app factory, the CLI, the demo, tests and benchmarks) and
handed to whatever needs it; nothing here is a module-level global.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy import Engine

from carbonhub.actors import RegionTree, sync_regions
from carbonhub.aggregates import ReleaseRules
from carbonhub.auth import TokenAuthenticator
from carbonhub.auth.keys import KeyRing
from carbonhub.consent.service import ConsentService
from carbonhub.db import engine_for, read_session, upgrade_database, write_session
from carbonhub.ledger import LedgerPoster
from carbonhub.methodology import (
    MethodologyRegistry,
    ProgrammeDirectory,
    load_programmes,
    packaged_registry,
)
from carbonhub.reports.span import DataSpan
from carbonhub.settings import Settings


@dataclass(frozen=True)
class Hub:
    """Everything a request, a command or a job needs besides its own input."""

    settings: Settings
    engine: Engine
    registry: MethodologyRegistry
    programmes: ProgrammeDirectory
    regions: RegionTree
    keys: KeyRing
    data_span: DataSpan = field(default_factory=DataSpan, compare=False)

    def poster(self) -> LedgerPoster:
        """A ledger poster under this hub's methodologies and programmes."""
        return LedgerPoster(self.registry, self.programmes, default_timezone=self.settings.timezone)

    def release_rules(self) -> ReleaseRules:
        """What keeping the released aggregates needs: categories, region nodes, seasons."""
        return ReleaseRules(self.programmes, self.registry.catalogue.category_of())

    def refresh_regions(self) -> Hub:
        """A copy with the region tree re-read from the database."""
        with read_session(self.engine) as session:
            regions = RegionTree.load(session)
        return replace(self, regions=regions)

    def consents(self) -> ConsentService:
        """Consent operations with this hub's keys (receipts), catalogue and programmes."""
        return ConsentService(self.settings, self.keys, self.registry.catalogue, self.programmes)

    def authenticator(self) -> TokenAuthenticator:
        """Turns bearer tokens into principals with this hub's keys and database."""
        return TokenAuthenticator(self.engine, self.settings, self.keys)


def prepare_database(engine: Engine) -> None:
    """Apply migrations and load the packaged reference data (regions); idempotent."""
    upgrade_database(engine)
    with write_session(engine) as session:
        sync_regions(session)


def open_hub(settings: Settings, *, engine: Engine | None = None, upgrade: bool = True) -> Hub:
    """Connect to the database (migrating it when ``upgrade``) and load the rules."""
    owned = engine is None
    engine = engine or engine_for(settings)
    try:
        if upgrade:
            prepare_database(engine)
        registry = packaged_registry()
        programmes = load_programmes(registry, settings.timezone, settings.programmes_file)
        with read_session(engine) as session:
            regions = RegionTree.load(session)
    except BaseException:
        if owned:
            engine.dispose()
        raise
    hub = Hub(settings, engine, registry, programmes, regions, KeyRing(engine, settings))
    if upgrade:
        # the first start generates the signing key, outside any caller's transaction
        hub.keys.load()
    return hub
