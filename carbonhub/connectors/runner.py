"""The sync runner: pull every linked account's new records and post them, exactly once.

For each active linked account of the enabled pull connectors (``sync_concurrency`` at a time)::

    fresh token -> fetch(account, cursor) -> queue -> one committer:
        normalise, attribute, consent gate, post  + new cursor + run counts   (one transaction)

Accounts are fetched concurrently; one committer posts the queued pages of several accounts
in one transaction of up to ``posting_batch_size`` records, committing each account's cursor
with the entries its pages produced. A sync killed at any point resumes from the last
committed cursor: nothing is lost and, posting being idempotent, nothing is counted twice.

Provider failures: timeouts and 5xx are retried with exponential backoff and full jitter, a
429 waits its ``Retry-After``, a 401 refreshes the token once. An account whose sync fails
``sync_max_failures`` times in a row is suspended and reported.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from sqlalchemy import select
from sqlmodel import col

from carbonhub.connectors.base import (
    Connector,
    Page,
    ProviderAccount,
    ProviderError,
    RateLimited,
    TokenExpired,
)
from carbonhub.connectors.ingest import IngestCounts, RecordIngest, Source
from carbonhub.connectors.linking import AccountLinking, LinkFailed
from carbonhub.connectors.registry import ConnectorRegistry
from carbonhub.db import read_session, write_session
from carbonhub.hub import Hub
from carbonhub.ledger.state import key_chunks, one_of
from carbonhub.models import LinkedAccount, SyncRun, utcnow
from carbonhub.settings import Settings
from carbonhub.telemetry import Traced, start_traced, traced

log = logging.getLogger(__name__)
LINGER_S = 0.05  # how long the committer waits for more pages to fill a transaction
QUEUED_PAGES = 256  # fetched pages waiting to be posted (bounds the memory of a sync)
MAX_PAGES_PER_RUN = 100_000  # a provider whose cursor never ends cannot hold a sync forever
Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How provider failures are retried: ``retries`` times, exponential backoff, full jitter."""

    retries: int = 5
    base_s: float = 0.5
    max_s: float = 30.0

    @classmethod
    def of(cls, settings: Settings) -> RetryPolicy:
        """The policy the settings describe."""
        return cls(settings.sync_retries, settings.sync_backoff_s, settings.sync_backoff_max_s)

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds before retry ``attempt`` (1-based): uniform in [cap/2, cap]."""
        cap = min(self.max_s, self.base_s * 2.0 ** (attempt - 1))
        return cap / 2 + rng.random() * cap / 2


@dataclass(slots=True)
class AccountSync:
    """One account's sync in progress: its run record and counts."""

    account: LinkedAccount
    connector: Connector
    run_id: int
    cursor: str | None
    counts: IngestCounts = field(default_factory=IngestCounts)
    pages: int = 0
    errors: int = 0
    retries: int = 0
    failure: str | None = None
    span: Traced = field(default_factory=lambda: Traced(None))

    def finish_span(self, status: str) -> None:
        """End the account's span with its outcome and counts (once)."""
        counts = {f"carbonhub.records.{k}": v for k, v in self.counts.as_json().items()}
        self.span.finish(
            {**counts, "carbonhub.sync.status": status, "carbonhub.sync.pages": self.pages,
             "carbonhub.sync.errors": self.errors, "carbonhub.sync.retries": self.retries}
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What a sync did, per account (for the CLI and the scheduler's log)."""

    runs: tuple[SyncRunSummary, ...]

    def span_attributes(self) -> dict[str, int]:
        """The sync's totals, as its span's attributes."""
        totals = {"carbonhub.sync.accounts": len(self.runs), "carbonhub.sync.failed": 0}
        for run in self.runs:
            totals["carbonhub.sync.failed"] += int(run.status != "ok")
            for key in ("fetched", "posted", "duplicates", "quarantined", "rejected"):
                name = f"carbonhub.records.{key}"
                totals[name] = totals.get(name, 0) + run.counts.get(key, 0)
        return totals

    @property
    def failed(self) -> list[SyncRunSummary]:
        """The runs that did not finish."""
        return [r for r in self.runs if r.status != "ok"]


@dataclass(frozen=True, slots=True)
class SyncRunSummary:
    """One account's run, as recorded."""

    run_id: int
    connector: str
    account_id: str
    status: str
    counts: dict[str, int]
    error: str | None


@dataclass(slots=True)
class _PageWork:
    sync: AccountSync
    page: Page
    last: bool


class SyncRunner:
    """Runs syncs of a hub's linked accounts through its enabled connectors."""

    def __init__(
        self,
        hub: Hub,
        registry: ConnectorRegistry,
        linking: AccountLinking,
        *,
        clock: Clock = utcnow,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.hub = hub
        self.registry = registry
        self.linking = linking
        self.ingest = RecordIngest(hub.poster())
        self.policy = RetryPolicy.of(hub.settings)
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.SystemRandom()

    async def sync(
        self,
        connector: str | None = None,
        *,
        on_records: Callable[[int], None] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> SyncReport:
        """Sync every active linked account (of one connector, or of all pull connectors)."""
        slugs = (
            [connector] if connector else [c.info.slug for c in self.registry.all() if c.info.pull]
        )
        for slug in slugs:
            if not self.registry.get(slug).info.pull:
                raise LinkFailed(f"{slug} does not pull; its provider pushes events")
        with traced("connector.sync", {"carbonhub.connectors": slugs}) as span:
            accounts = self._accounts(slugs)
            runs = self._start_runs(accounts)
            queue: asyncio.Queue[_PageWork | None] = asyncio.Queue(maxsize=QUEUED_PAGES)
            async with httpx.AsyncClient(transport=transport, trust_env=False) as http:
                connectors = {slug: self.registry.get(slug).open(http) for slug in slugs}
                committer = asyncio.create_task(self._commit_pages(queue, on_records))
                limit = asyncio.Semaphore(self.hub.settings.sync_concurrency)
                try:
                    syncs = await asyncio.gather(
                        *(
                            self._pull(a, connectors[a.connector], runs[a.id], queue, limit)
                            for a in accounts
                        )
                    )
                finally:
                    await queue.put(None)
                    await committer
            report = self._report(syncs)
            span.set(report.span_attributes())
        return report

    def _accounts(self, slugs: list[str]) -> list[LinkedAccount]:
        with read_session(self.hub.engine) as session:
            return list(
                session.scalars(
                    select(LinkedAccount)
                    .where(
                        col(LinkedAccount.connector).in_(slugs),
                        col(LinkedAccount.status) == "active",
                    )
                    .order_by(col(LinkedAccount.connector), col(LinkedAccount.id))
                )
            )

    async def _pull(
        self,
        account: LinkedAccount,
        connector: Connector,
        run_id: int,
        queue: asyncio.Queue[_PageWork | None],
        limit: asyncio.Semaphore,
    ) -> AccountSync:
        async with limit:
            span = start_traced(
                "connector.account_sync",
                {"carbonhub.connector": account.connector, "carbonhub.sync.run_id": run_id},
            )  # never the account nor its person: the run id leads an operator to both
            sync = AccountSync(account, connector, run_id, account.cursor, span=span)
            sync.failure = None
            try:
                await self._fetch_all(sync, queue)
            except (ProviderError, LinkFailed) as exc:
                sync.failure = str(exc)[:1000]
                await queue.put(_PageWork(sync, Page((), sync.cursor, False), last=True))
            return sync

    async def _fetch_all(self, sync: AccountSync, queue: asyncio.Queue[_PageWork | None]) -> None:
        for _ in range(MAX_PAGES_PER_RUN):
            page = await self._fetch(sync)
            sync.pages += 1
            last = not page.has_more or page.next_cursor == sync.cursor
            await queue.put(_PageWork(sync, page, last))
            sync.cursor = page.next_cursor
            if last:
                return
        raise ProviderErrorLoop(f"more than {MAX_PAGES_PER_RUN} pages in one run")

    async def _fetch(self, sync: AccountSync) -> Page:
        """One page, with the retry policy and one token refresh on 401."""
        attempt, refreshed = 0, False
        while True:
            token = await self.linking.access_token(sync.account, now=self.clock(), force=False)
            try:
                return await sync.connector.fetch(
                    ProviderAccount(sync.account.subject, token), sync.cursor
                )
            except TokenExpired:
                sync.errors += 1
                if refreshed:
                    raise
                refreshed = True
                await self.linking.access_token(sync.account, now=self.clock(), force=True)
            except ProviderError as exc:
                sync.errors += 1
                attempt += 1
                if not exc.retryable or attempt > self.policy.retries:
                    raise
                sync.retries += 1
                wait = self.policy.delay(attempt, self.rng)
                if isinstance(exc, RateLimited) and exc.retry_after is not None:
                    wait = max(wait, exc.retry_after)
                log.info(
                    "%s account %s: %s; retry %d in %.2f s",
                    sync.account.connector,
                    sync.account.id,
                    exc,
                    attempt,
                    wait,
                )
                await self.sleep(wait)

    async def _commit_pages(
        self, queue: asyncio.Queue[_PageWork | None], on_records: Callable[[int], None] | None
    ) -> None:
        """Post queued pages, several accounts per transaction, until the end marker."""
        batch_size = self.hub.settings.posting_batch_size
        done = False
        while not done:
            first = await queue.get()
            if first is None:
                return
            batch = [first]
            size = len(first.page.records)
            linger = asyncio.get_running_loop().time() + LINGER_S
            while size < batch_size:
                # a transaction has a fixed cost: wait briefly for more pages to share it
                try:
                    timeout = max(0.0, linger - asyncio.get_running_loop().time())
                    item = await asyncio.wait_for(queue.get(), timeout)
                except TimeoutError:
                    break
                if item is None:
                    done = True
                    break
                batch.append(item)
                size += len(item.page.records)
            await asyncio.to_thread(self._commit, batch)
            if on_records is not None:
                on_records(size)

    def _commit(self, batch: list[_PageWork]) -> None:
        """Entries, cursors and run counts of ``batch``'s pages, in one transaction."""
        now = self.clock()
        with write_session(self.hub.engine) as session:
            posting = [w for w in batch if w.page.records]
            parts = [
                (Source(w.sync.account.connector, w.sync.connector, w.sync.account), w.page.records)
                for w in posting
            ]
            for work, results in zip(
                posting, self.ingest.ingest_many(session, parts, now), strict=True
            ):
                work.sync.counts.add(results)
            for work in batch:
                sync = work.sync
                account = session.get(LinkedAccount, sync.account.id)
                run = session.get(SyncRun, sync.run_id)
                if account is None or run is None:
                    continue
                account.cursor = work.page.next_cursor
                _record(run, sync, work.page.next_cursor)
                if work.last:
                    self._close(account, run, sync, now)
                    sync.finish_span(run.status)

    def _close(
        self, account: LinkedAccount, run: SyncRun, sync: AccountSync, now: datetime
    ) -> None:
        run.finished_at = now
        if sync.failure is None:
            run.status = "ok"
            account.failures, account.last_error, account.last_synced_at = 0, None, now
            return
        account.failures += 1
        account.last_error = sync.failure
        run.error = sync.failure
        run.status = "failed"
        if account.failures >= self.hub.settings.sync_max_failures:
            account.status = run.status = "suspended"
            log.error(
                "%s account %s suspended after %d failed syncs: %s",
                account.connector,
                account.id,
                account.failures,
                sync.failure,
            )

    def _start_runs(self, accounts: list[LinkedAccount]) -> dict[str, int]:
        """A run record per account, in one transaction; runs left running by a killed sync
        are closed as interrupted."""
        ids = [a.id for a in accounts]
        with write_session(self.hub.engine) as session:
            for part in key_chunks(session, ids):
                stale = session.scalars(
                    select(SyncRun).where(
                        one_of(session, col(SyncRun.account_id), part),
                        col(SyncRun.status) == "running",
                    )
                )
                for run in stale:
                    run.status, run.error = "interrupted", "the sync stopped before finishing"
            now = self.clock()
            runs = {
                a.id: SyncRun(
                    connector=a.connector,
                    mode="pull",
                    account_id=a.id,
                    started_at=now,
                    cursor_from=a.cursor,
                )
                for a in accounts
            }
            session.add_all(runs.values())
            session.flush()
            return {account: run.id or 0 for account, run in runs.items()}

    def _report(self, syncs: list[AccountSync]) -> SyncReport:
        """The runs as recorded (their final status is in the database)."""
        status: dict[int, str] = {}
        with read_session(self.hub.engine) as session:
            for part in key_chunks(session, [s.run_id for s in syncs]):
                rows = session.execute(
                    select(col(SyncRun.id), col(SyncRun.status)).where(
                        one_of(session, col(SyncRun.id), part)
                    )
                )
                status.update((run_id or 0, value) for run_id, value in rows)
        for s in syncs:  # an account whose last page was never committed
            s.finish_span(status.get(s.run_id, "unknown"))
        return SyncReport(
            tuple(
                SyncRunSummary(
                    s.run_id,
                    s.account.connector,
                    s.account.id,
                    status.get(s.run_id, "unknown"),
                    s.counts.as_json()
                    | {"errors": s.errors, "retries": s.retries, "pages": s.pages},
                    s.failure,
                )
                for s in syncs
            )
        )


class ProviderErrorLoop(ProviderError):
    """A provider's pagination did not end within one run."""


def _record(run: SyncRun, sync: AccountSync, cursor: str | None) -> None:
    counts = sync.counts
    run.pages, run.errors, run.retries = sync.pages, sync.errors, sync.retries
    run.fetched, run.posted, run.duplicates = counts.fetched, counts.posted, counts.duplicates
    run.quarantined, run.rejected = counts.quarantined, counts.rejected
    run.cursor_to = cursor
