"""Building (or reusing) the demo database and writing its credentials file."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlmodel import col

from carbonhub.actors import employ, move_residence, register_enterprise, register_person
from carbonhub.db import read_session, redact_url, write_session
from carbonhub.demo.access import demo_access
from carbonhub.demo.consents import demo_consents
from carbonhub.demo.feed import link_citizens, links_of, simulation, sync_all
from carbonhub.demo.population import (
    SEASON_START,
    DemoCitizen,
    DemoEnterprise,
    demo_citizens,
    demo_enterprises,
)
from carbonhub.demo.providers import RunningProviders, provider_processes
from carbonhub.demo.reports import DemoReport, demo_reports
from carbonhub.errors import Conflict
from carbonhub.hub import Hub
from carbonhub.models import Enterprise, HubMetadata, Person, Region

MARKER = "demo"
CREDENTIALS = "carbonhub-demo.json"
Progress = Callable[[str, int | None], AbstractContextManager[Callable[[int], None]]]


@dataclass(frozen=True, slots=True)
class DemoPlan:
    """What to build: how many citizens, from which seed."""

    citizens: int = 2000
    seed: int = 2023


@dataclass(frozen=True, slots=True)
class DemoResult:
    """What was built (or found) and where its credentials are."""

    built: bool
    citizens: int
    enterprises: int
    posting: dict[str, int]
    credentials_file: Path
    reports: tuple[DemoReport, ...] = field(default_factory=tuple)

    def summary(self) -> str:
        """One paragraph for the console, then the report pages with charts."""
        if not self.built:
            first = f"reusing the demo database ({self.citizens} citizens, {self.enterprises} enterprises)"
        else:
            counts = ", ".join(f"{k} {v}" for k, v in sorted(self.posting.items()))
            first = f"demo built: {self.citizens} citizens, {self.enterprises} enterprises; events: {counts}"
        return "\n".join([first, *self._report_lines()])

    def _report_lines(self) -> list[str]:
        return [
            f"report page with charts, {page.title}: {page.path} on the demo hub "
            f"(no token needed in development); as a file that opens offline: {page.command}"
            for page in self.reports
        ]


def _no_progress(
    _description: str, _total: int | None
) -> AbstractContextManager[Callable[[int], None]]:
    return nullcontext(lambda _n: None)


def build_demo(
    hub: Hub,
    plan: DemoPlan,
    progress: Progress = _no_progress,
    *,
    providers: RunningProviders | None = None,
) -> DemoResult:
    """Build the 2023 Beijing Green Life Season demo, or reuse it when already built.

    Every event comes from a provider's simulator through its connector: citizens link their
    accounts (recording ingest consents), then a sync posts through the ledger engine. Pass
    running ``providers`` (of :func:`demo_simulation`) to keep them serving afterwards;
    otherwise they run for the build only. An interrupted build resumes (registration skips
    existing rows, links are redone, the sync resumes from its cursors); a database with other
    data is refused.
    """
    rng = random.Random(plan.seed)  # noqa: S311  (synthetic data, reproducible by design)
    marker = _read_marker(hub)
    if marker is not None and marker["plan"] != asdict(plan):
        raise Conflict(
            f"this database holds a demo built with {marker['plan']}; use another --database-url"
        )
    if marker is None and _has_people(hub):
        raise Conflict(
            "this database holds data that is not the demo's; use another --database-url"
        )
    districts = _districts(hub)
    enterprises = demo_enterprises(rng)
    citizens = demo_citizens(rng, plan.citizens, districts, enterprises)
    credentials = _credentials_path(hub)
    if marker is not None and marker["complete"]:
        _write_credentials(credentials, hub, demo_access(hub, citizens, enterprises), enterprises)
        pages = demo_reports(citizens, enterprises)
        return DemoResult(False, len(citizens), len(enterprises), {}, credentials, pages)
    _write_marker(hub, plan, complete=False)
    _register(hub, enterprises, citizens, progress)
    with progress("giving consents", len(citizens)) as advance:
        # a generator of its own, so that the citizens and events stay what they were
        consent_rng = random.Random(plan.seed + 1)  # noqa: S311  (synthetic, reproducible)
        demo_consents(hub, citizens, enterprises, consent_rng, advance)
    scope = nullcontext(providers) if providers is not None else demo_providers(plan)
    with scope as running:
        connectors = running.connectors(hub)
        links = sum(len(links_of(c)) for c in citizens)
        with progress("linking provider accounts", links) as advance:
            link_citizens(connectors, citizens, advance)
        with progress("syncing from the providers", None) as advance:
            counts = sync_all(connectors, advance)
    access = demo_access(hub, citizens, enterprises)
    _write_marker(hub, plan, complete=True)
    _write_credentials(credentials, hub, access, enterprises)
    pages = demo_reports(citizens, enterprises)
    return DemoResult(True, len(citizens), len(enterprises), counts, credentials, pages)


def demo_providers(plan: DemoPlan) -> AbstractContextManager[RunningProviders]:
    """The demo's providers, each simulator in a process of its own."""
    return provider_processes(simulation(plan.seed, plan.citizens))


def _read_marker(hub: Hub) -> dict[str, Any] | None:
    with read_session(hub.engine) as session:
        row = session.get(HubMetadata, MARKER)
        return None if row is None else dict(json.loads(row.value))


def _write_marker(hub: Hub, plan: DemoPlan, *, complete: bool) -> None:
    with write_session(hub.engine) as session:
        value = json.dumps({"plan": asdict(plan), "complete": complete})
        row = session.get(HubMetadata, MARKER)
        if row is None:
            session.add(HubMetadata(key=MARKER, value=value))
        else:
            row.value = value


def _has_people(hub: Hub) -> bool:
    with read_session(hub.engine) as session:
        return bool(session.execute(select(func.count()).select_from(Person)).scalar_one())


def _districts(hub: Hub) -> dict[str, list[str]]:
    with read_session(hub.engine) as session:
        rows = session.scalars(select(Region).where(col(Region.level) == "district"))
        result: dict[str, list[str]] = {}
        for region in rows:
            result.setdefault(region.parent_code or "", []).append(region.code)
    return {province: sorted(codes) for province, codes in result.items()}


def _register(
    hub: Hub, enterprises: list[DemoEnterprise], citizens: list[DemoCitizen], progress: Progress
) -> None:
    with write_session(hub.engine) as session:
        existing = set(session.scalars(select(col(Enterprise.id))))
        for e in enterprises:
            if e.id not in existing:
                register_enterprise(
                    session,
                    name=e.name,
                    name_en=e.name_en,
                    uscc=e.uscc,
                    region_code=e.region,
                    enterprise_id=e.id,
                )
    with (
        write_session(hub.engine) as session,
        progress("registering citizens", len(citizens)) as advance,
    ):
        known = set(session.scalars(select(col(Person.id))))
        for citizen in citizens:
            advance(1)
            if citizen.person_id in known:
                continue
            register_person(
                session,
                home_region_code=citizen.home,
                since=SEASON_START.replace(year=2022),
                person_id=citizen.person_id,
            )
            if citizen.employer is not None and citizen.employed_from is not None:
                employ(
                    session,
                    person_id=citizen.person_id,
                    enterprise_id=citizen.employer,
                    since=citizen.employed_from,
                    until=citizen.employed_to,
                )
            if citizen.moves_to is not None:
                on, district = citizen.moves_to
                move_residence(session, person_id=citizen.person_id, region_code=district, on=on)


def _credentials_path(hub: Hub) -> Path:
    url = make_url(str(hub.engine.url))
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).resolve().with_name(CREDENTIALS)
    return Path.cwd() / CREDENTIALS


def _write_credentials(
    path: Path, hub: Hub, access: dict[str, Any], enterprises: list[DemoEnterprise]
) -> None:
    """The demo's logins, clients and ids, for people trying it (the file is git-ignored)."""
    issuer = hub.settings.issuer
    document = {
        "database_url": redact_url(str(hub.engine.url)),
        "season": {"from": "2023-06-15", "to": "2023-10-31"},
        "oauth": {
            "issuer": issuer,
            "token_endpoint": f"{issuer}/oauth/token",
            "authorization_endpoint": f"{issuer}/oauth/authorize",
            "login_page": f"{issuer}/account/login",
        },
        **access,
        "enterprises": [
            {
                "enterprise_id": e.id,
                "name": e.name,
                "name_en": e.name_en,
                "uscc": e.uscc,
                "region_code": e.region,
            }
            for e in enterprises
        ],
        "regions": list(hub.regions.roots()),
    }
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
