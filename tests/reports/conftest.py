"""Fixtures for report tests: the privacy threshold, fresh worlds, the oracle, the report queries.

The database, hub, ``gql``, ``make_person``, ``make_enterprise`` and ``post`` fixtures come from
``tests/fixtures`` (registered in ``tests/conftest.py``), so every test here runs on SQLite and
on PostgreSQL. A test chooses its threshold by overriding ``privacy_k`` (a fixture, or
``@pytest.mark.parametrize("privacy_k", [1])``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from sqlalchemy import select
from sqlmodel import col

from carbonhub.actors import employ, register_person
from carbonhub.auth import Principal
from carbonhub.db import read_session, write_session
from carbonhub.hub import Hub
from carbonhub.ledger import reverse_entry
from carbonhub.models import LedgerEntry, metadata
from carbonhub.settings import Settings
from tests.fixtures.actors import event, share_everything
from tests.fixtures.graphql import Execute, GraphQLResult
from tests.reports.oracle import LedgerOracle
from tests.reports.queries import ESG_REPORT, REGION_REPORT, variables
from tests.reports.worlds import Plan, World, events_of

# Reference data and the hub's own keys survive a reset; everything a world adds does not.
KEPT_TABLES = {"region", "alembic_version", "server_key", "hub_metadata"}
SINCE = date(2023, 1, 1)
HAIDIAN = "110108"
LONELY = "110119"  # 延庆区
REGULAR_DAYS = ("2023-07-03", "2023-07-10", "2023-07-17", "2023-07-24")

# Each example builds a fresh small world: modest counts keep the directory well under a minute.
# No shrinking: an example costs a database's worth of work, and shrinking one failure took
# minutes; the failure messages name the cell, the report and the brute-force figures instead.
EXAMPLES = hypothesis_settings(
    max_examples=10,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def privacy_k() -> int:
    """The suite's threshold (k = 3, as tests/fixtures/database.py sets it)."""
    return 3


@pytest.fixture
def settings(settings: Settings, privacy_k: int) -> Settings:
    """The test database's settings with this test's privacy threshold."""
    return settings.model_copy(update={"privacy_k": privacy_k})


@pytest.fixture
def reset(hub: Hub) -> Callable[[], None]:
    """Empty every table a world fills (for a fresh world per hypothesis example)."""

    def empty() -> None:
        with hub.engine.begin() as connection:
            for table in reversed(metadata.sorted_tables):
                if table.name not in KEPT_TABLES:
                    connection.execute(table.delete())

    return empty


@pytest.fixture
def reverse(hub: Hub) -> Callable[[int], None]:
    """Reverse one ledger entry, as an operator correcting the ledger would."""

    def run(entry_id: int) -> None:
        with write_session(hub.engine) as session:
            reverse_entry(
                session, entry_id=entry_id, reason="provider withdrew it", programmes=hub.programmes
            )

    return run


@pytest.fixture
def build_world(
    hub: Hub,
    make_enterprise: Callable[..., str],
    post: Callable[..., Any],
    reverse: Callable[[int], None],
) -> Callable[[Plan], World]:
    """Turn a plan into persons, consents, employment, posted events and reversals.

    Persons are registered the way ``make_person`` registers them (residence, employment,
    regional and ESG share consents), all in one transaction: a world costs milliseconds.
    """

    def build(plan: Plan) -> World:
        employer = make_enterprise()
        with write_session(hub.engine) as session:
            persons = []
            for p in plan.persons:
                person = register_person(session, home_region_code=p.district, since=SINCE).id
                if p.employed:
                    employ(session, person_id=person, enterprise_id=employer, since=SINCE)
                if p.consents:
                    share_everything(
                        hub, session, person, p.district, employer if p.employed else None
                    )
                persons.append(person)
        post(events_of(plan, persons))
        with read_session(hub.engine) as session:
            credits = list(
                session.scalars(
                    select(col(LedgerEntry.id))
                    .where(col(LedgerEntry.entry_type) == "credit")
                    .order_by(col(LedgerEntry.id))
                )
            )
        undone: list[int] = []
        for index in plan.reversals:
            if credits and credits[index % len(credits)] not in undone:
                undone.append(credits[index % len(credits)])
                reverse(undone[-1])
        return World(tuple(persons), employer, tuple(undone))

    return build


@pytest.fixture
def truth(hub: Hub) -> Callable[[], LedgerOracle]:
    """The brute-force oracle over the ledger as it is now."""
    return lambda: LedgerOracle(hub.engine, hub.regions)


def _asker(gql: Execute, document: str, id_variable: str) -> Callable[..., GraphQLResult]:
    """Run one full report operation for a region code or an enterprise id (data and errors)."""

    def ask(
        key: str,
        period: str | None = "2023-07",
        methodology: str | None = None,
        *,
        compare: tuple[str, ...] = (),
        series: bool | Iterable[str] = True,
        start: str | None = None,
        end: str | None = None,
        principal: Principal | None = None,
    ) -> GraphQLResult:
        values = variables(
            period=period,
            methodology=methodology,
            compare=compare,
            series=series,
            start=start,
            end=end,
        )
        return gql(document, {id_variable: key, **values}, principal=principal)

    return ask


@pytest.fixture
def ask_region(gql: Execute) -> Callable[..., GraphQLResult]:
    """Run the full regional report operation; returns the raw result (data and errors)."""
    return _asker(gql, REGION_REPORT, "code")


@pytest.fixture
def ask_esg(gql: Execute) -> Callable[..., GraphQLResult]:
    """Run the full ESG report operation; returns the raw result (data and errors)."""
    return _asker(gql, ESG_REPORT, "id")


@pytest.fixture
def region_report(ask_region: Callable[..., GraphQLResult]) -> Callable[..., dict[str, Any]]:
    """The regional report (failing the test on any error)."""

    def report(
        code: str, period: str | None = "2023-07", methodology: str | None = None, **options: Any
    ) -> dict[str, Any]:
        result = ask_region(code, period, methodology, **options)
        found: dict[str, Any] = result.ok()["region"]["report"]
        return found

    return report


@pytest.fixture
def esg_report(ask_esg: Callable[..., GraphQLResult]) -> Callable[..., dict[str, Any]]:
    """The ESG report (failing the test on any error)."""

    def report(
        enterprise_id: str,
        period: str | None = "2023-07",
        methodology: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        result = ask_esg(enterprise_id, period, methodology, **options)
        found: dict[str, Any] = result.ok()["enterprise"]["esgReport"]
        return found

    return report


# --- two worlds where one person stands out (differencing and suppression) -------------------


@pytest.fixture
def late_joiner(make_person: Callable[..., str], post: Callable[..., Any]) -> str:
    """Three regulars of Haidian ride on four Mondays of July; the late joiner rides on 07-31."""
    regulars = [make_person(HAIDIAN) for _ in range(3)]
    joiner = make_person(HAIDIAN)
    rides = [
        event(person, "transport.bike_share", f"{day} 00:30", km=str(2 + i), duration_s=1200)
        for day in REGULAR_DAYS
        for i, person in enumerate(regulars)
    ]
    rides.append(event(joiner, "transport.bike_share", "2023-07-31 00:30", km="7", duration_s=2400))
    post(rides)
    return joiner


@pytest.fixture
def lonely_district(make_person: Callable[..., str], post: Callable[..., Any]) -> str:
    """Yanqing has one resident; three other districts have three, four and five."""
    residents = [make_person(LONELY)]
    for district, count in (("110101", 3), ("110105", 4), (HAIDIAN, 5)):
        residents += [make_person(district) for _ in range(count)]
    post(
        event(
            person, "transport.bike_share", "2023-07-05 00:30", km=str(1 + i % 6), duration_s=1800
        )
        for i, person in enumerate(residents)
    )
    return LONELY
