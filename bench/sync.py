"""Sync: records per second from the providers' simulators to posted ledger entries, beside the
ledger engine's own posting rate on the same records, in the same run.

Per backend (SQLite in a fresh temporary file, PostgreSQL in a fresh private schema):

1. The four providers' simulators run as processes of their own (``carbonhub simulate``), with
   ``--persons`` accounts each (default 500) and their deterministic histories of the 2023
   season (``--activity`` scales them; the default gives about 100,000 records; a few minutes of untimed OAuth linking come first).
2. Two fresh databases get the same ``--persons`` citizens (same ids, Beijing districts).
3. **Engine baseline**: every record is fetched from the simulators through the connectors
   (not timed), normalised and attributed to its citizen, and the resulting behaviour events
   are posted with ``LedgerPoster.post`` (batches of the posting batch size). Rate = events
   per second over the posting call.
4. **Connector path**: in the other database every citizen links each provider account through
   the provider's OAuth page (not timed), then one ``carbonhub sync`` equivalent runs (timed):
   fetch pages over HTTP, normalise, attribute, ingest consent gate, post, commit cursors.
   Rate = records fetched per second over the whole sync.
5. Both ledgers must hold the same entries (by source and external id), or the run fails.

Target: connector rate / engine rate >= 0.50 on each backend.

Run::

    .venv/bin/python -m bench.sync                       # both backends
    .venv/bin/python -m bench.sync --backend sqlite --persons 300
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.common import (
    base_parser,
    chosen_backends,
    console,
    district_picker,
    environment,
    fmt_rate,
    fmt_seconds,
    fresh_database,
    person_ids,
    stopwatch,
    table,
    verdict,
    write_results,
)
from carbonhub.actors import register_person
from carbonhub.connectors.base import ProviderAccount, ProviderEvent
from carbonhub.connectors.linking import LinkTerms
from carbonhub.connectors.service import Connectors
from carbonhub.connectors.simulators import SimulatorOptions
from carbonhub.db import read_session, write_session
from carbonhub.demo.providers import (
    PROVIDER_SLUGS,
    RunningProviders,
    account_id,
    link_simulated,
    provider_processes,
)
from carbonhub.hub import Hub
from carbonhub.ledger import BehaviourEvent
from carbonhub.models import LedgerEntry, LinkedAccount, utcnow

TARGET = 0.50
TERMS = LinkTerms(data_from=date(2023, 1, 1), data_to=date(2023, 12, 31))


@dataclass
class BackendResult:
    backend: str
    records: int
    engine_events: int
    engine_s: float
    sync_records: int
    sync_s: float
    posted: int

    @property
    def engine_rate(self) -> float:
        return self.engine_events / self.engine_s

    @property
    def sync_rate(self) -> float:
        return self.sync_records / self.sync_s

    @property
    def ratio(self) -> float:
        return self.sync_rate / self.engine_rate


def register(hub: Hub, ids: list[str], seed: int) -> None:
    pick = district_picker(random.Random(seed))
    with write_session(hub.engine) as session:
        for person in ids:
            register_person(
                session, home_region_code=pick(), since=date(2022, 1, 1), person_id=person
            )


def link_everyone(connectors: Connectors, ids: list[str]) -> None:
    with httpx.Client(timeout=30) as browser:
        for number, person in enumerate(ids, start=1):
            for slug in PROVIDER_SLUGS:
                link_simulated(
                    connectors,
                    person,
                    slug,
                    account_id(slug, number),
                    now=utcnow(),
                    terms=TERMS,
                    browser=browser,
                )


async def fetch_events(connectors: Connectors) -> tuple[int, list[BehaviourEvent]]:
    """Every record of every linked account, normalised and attributed (the engine's input)."""
    with read_session(connectors.hub.engine) as session:
        accounts = list(session.scalars(select(LinkedAccount)))
    records = 0
    events: list[BehaviourEvent] = []
    async with httpx.AsyncClient(trust_env=False) as http:
        plugins = {s: connectors.registry.get(s).open(http) for s in PROVIDER_SLUGS}
        for account in accounts:
            plugin = plugins[account.connector]
            token = await connectors.linking.access_token(account, now=utcnow())
            cursor: str | None = None
            while True:
                page = await plugin.fetch(ProviderAccount(account.subject, token), cursor)
                records += len(page.records)
                for record in page.records:
                    item = plugin.normalize(record)
                    if isinstance(item, ProviderEvent):
                        events.append(_event(account, item))
                if not page.has_more or page.next_cursor == cursor:
                    break
                cursor = page.next_cursor
    events.sort(key=lambda e: e.occurred_at)  # as providers deliver: oldest first
    return records, events


def _event(account: LinkedAccount, item: ProviderEvent) -> BehaviourEvent:
    return BehaviourEvent(
        source=account.connector,
        external_id=item.external_id,
        person_id=account.person_id,
        behaviour=item.behaviour,
        occurred_at=item.occurred_at,
        measures=item.measures,
        reference=item.reference,
        duration_s=item.duration_s,
        business_travel=item.business_travel,
    )


def entries(hub: Hub) -> set[tuple[str, str, int]]:
    with read_session(hub.engine) as session:
        rows = session.execute(
            select(LedgerEntry.source, LedgerEntry.external_id, LedgerEntry.reduction_mg)
        )
        return {(s, e, mg) for s, e, mg in rows}


def run_backend(backend: str, args: Any, providers: RunningProviders) -> BackendResult:
    ids = person_ids(args.persons, random.Random(args.seed))
    with (
        fresh_database(backend, args.postgres_url) as engine_db,
        fresh_database(backend, args.postgres_url) as sync_db,
    ):
        for db in (engine_db, sync_db):
            db.hub.keys.load()  # the receipts' signing key, before any consent is given
            register(db.hub, ids, args.seed)
        console.print(f"[{backend}] linking {len(ids) * 4:,} provider accounts (not timed)")
        baseline = providers.connectors(engine_db.hub)
        link_everyone(baseline, ids)
        records, events = asyncio.run(fetch_events(baseline))
        with write_session(engine_db.hub.engine) as session:  # the engine's input, alone
            session.execute(LinkedAccount.__table__.delete())  # type: ignore[attr-defined]
        console.print(f"[{backend}] posting {len(events):,} events with the engine")
        poster = engine_db.hub.poster()
        with stopwatch() as elapsed:
            report = poster.post(
                engine_db.engine, events, batch_size=engine_db.hub.settings.posting_batch_size
            )
        engine_s = elapsed()
        connectors = providers.connectors(sync_db.hub)
        link_everyone(connectors, ids)
        console.print(f"[{backend}] syncing {records:,} records through the connectors")
        with stopwatch() as elapsed:
            sync = asyncio.run(connectors.runner().sync())
        sync_s = elapsed()
        fetched = sum(r.counts["fetched"] for r in sync.runs)
        posted = sum(r.counts["posted"] for r in sync.runs)
        failed = [r for r in sync.runs if r.status != "ok"]
        if failed or entries(engine_db.hub) != entries(sync_db.hub):
            raise SystemExit(f"[{backend}] the two ledgers differ or runs failed: {failed[:3]}")
        with read_session(sync_db.hub.engine) as session:
            stored = session.scalar(select(func.count()).select_from(LedgerEntry))
        assert stored == posted == report.posted
        return BackendResult(backend, records, len(events), engine_s, fetched, sync_s, posted)


def main() -> None:
    parser = base_parser(__doc__.splitlines()[0], default_repeat=1)
    parser.add_argument("--persons", type=int, default=500, help="citizens = accounts per provider")
    parser.add_argument(
        "--activity", type=float, default=1.0, help="scales the simulated histories"
    )
    args = parser.parse_args()
    started = environment()
    options = SimulatorOptions(
        seed=args.seed % 100_000, accounts=args.persons, activity=args.activity
    )
    results = []
    with provider_processes(options) as providers:
        for backend in chosen_backends(args):
            results.append(run_backend(backend, args, providers))
    rows = [
        (
            r.backend,
            f"{r.records:,}",
            fmt_rate(r.engine_rate) + " ev/s",
            fmt_rate(r.sync_rate) + " rec/s",
            f"{r.ratio:.2f}",
            fmt_seconds(r.sync_s),
            verdict(r.ratio >= TARGET),
        )
        for r in results
    ]
    console.print(
        table(
            f"Sync throughput (target: connector path >= {TARGET:.2f} x the engine)",
            (
                "backend",
                "records",
                "engine posting",
                "connector sync",
                "ratio",
                "sync time",
                "target",
            ),
            rows,
        )
    )
    path = write_results(
        args.results_dir,
        "sync",
        {
            "environment": started,
            "persons": args.persons,
            "activity": args.activity,
            "results": [r.__dict__ | {"ratio": r.ratio} for r in results],
        },
    )
    console.print(f"results: {path}")


if __name__ == "__main__":
    main()
