"""Filling the demo's ledgers the way a city's hub is filled: through the connectors.

Each provider runs as a simulator (its own process, its own API, deterministic data from the
demo's seed). Citizens link their accounts through each provider's OAuth page (which records
their ingest consents), then one sync pulls every linked account and posts through the ledger
engine behind the consent gate.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import date

import httpx
from sqlalchemy import select
from sqlmodel import col

from carbonhub.connectors.linking import LinkTerms
from carbonhub.connectors.service import Connectors
from carbonhub.connectors.simulators import SimulatorOptions
from carbonhub.db import read_session
from carbonhub.demo.population import SEASON_END, SEASON_START, DemoCitizen
from carbonhub.demo.providers import PROVIDER_SLUGS, account_id, link_simulated
from carbonhub.models import LinkedAccount, utcnow

ACTIVITY = 0.8  # scales the simulated histories: about 150,000 records for 2,000 citizens
LINKING_THREADS = 4
TERMS = LinkTerms(data_from=date(2023, 1, 1), data_to=date(2023, 12, 31))
# which of a citizen's habits a provider's account carries
BEHAVIOURS_OF = {
    "bikeshare": ("transport.bike_share",),
    "transit": ("transport.metro", "transport.bus"),
    "takeaway": ("food.no_utensils",),
    "logistics": ("use.e_waybill",),
}


def simulation(seed: int, citizens: int) -> SimulatorOptions:
    """The providers' simulators of the demo: one account per citizen at each provider, and the
    imperfections of real feeds (a few repeated and malformed records)."""
    return SimulatorOptions(
        seed=seed,
        accounts=citizens,
        start=SEASON_START,
        end=SEASON_END,
        activity=ACTIVITY,
        duplicate_rate=0.01,
        malformed_rate=0.002,
    )


def links_of(citizen: DemoCitizen) -> list[str]:
    """The providers a citizen has an account at: those of the behaviours in their habits."""
    return [
        slug
        for slug in PROVIDER_SLUGS
        if any(citizen.habits.rates.get(b, 0) > 0 for b in BEHAVIOURS_OF[slug])
    ]


def link_citizens(
    connectors: Connectors, citizens: list[DemoCitizen], advance: Callable[[int], None]
) -> int:
    """Link every citizen's provider accounts (those not linked yet); returns how many links."""
    with read_session(connectors.hub.engine) as session:
        rows = session.execute(
            select(col(LinkedAccount.person_id), col(LinkedAccount.connector)).where(
                col(LinkedAccount.status) == "active"
            )
        )
        done = {(person, slug) for person, slug in rows}
    todo = [
        (c.person_id, slug, account_id(slug, c.number))
        for c in citizens
        for slug in links_of(c)
        if (c.person_id, slug) not in done
    ]

    browsers = threading.local()

    def link(item: tuple[str, str, str]) -> None:
        person, slug, account = item
        if not hasattr(browsers, "client"):
            browsers.client = opened.enter_context(httpx.Client(timeout=30))
        link_simulated(
            connectors, person, slug, account, now=utcnow(), terms=TERMS, browser=browsers.client
        )
        advance(1)

    with ExitStack() as opened, ThreadPoolExecutor(LINKING_THREADS) as pool:
        list(pool.map(link, todo))
    return len(todo)


def sync_all(connectors: Connectors, advance: Callable[[int], None]) -> dict[str, int]:
    """One sync of every linked account; the totals by outcome and failures."""
    report = asyncio.run(connectors.runner().sync(on_records=advance))
    totals: Counter[str] = Counter()
    for run in report.runs:
        totals.update({k: v for k, v in run.counts.items() if k != "pages"})
    totals["failed accounts"] = len(report.failed)
    return dict(totals)
