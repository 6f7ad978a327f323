"""Region report: the GraphQL ``region { report }`` query against the raw SQL that reads the same figures.

What it measures, per backend (SQLite in a fresh temporary file, PostgreSQL in a fresh private
schema):

* **Data.** ``--persons`` citizens (default 200,000) over the 16 Beijing districts and a season
  (2023-06-15..2023-10-31) of ``--entries`` ledger entries (default 5,000,000) in the behaviour
  mix of the posting benchmark. Posting 5M events through the engine would take hours, so the
  entries are represented by their rollups, generated directly and consistently (seeded):
  ``person_daily_rollup`` rows (person x local day x behaviour x methodology, one row for every
  methodology whose factor covers the behaviour, amounts computed per entry with that factor and
  rounded down to the milligram as the engine does; commuters' rides come in pairs, at most 3
  entries of one behaviour a day, so no count cap is ever reached) and ``region_daily_rollup``
  rows equal to the sums of the person rows grouped by (region, day, behaviour, methodology).
  The ``person`` table holds the persons. ``ledger_entry`` stays empty: the regional report
  never reads it.
* **Consents.** The report aggregates only residents with a regional-statistics consent in force
  at read time, so the build gives them consents as a deployment would have them: 85% of the
  persons (seeded choice, active or not) hold one ``share`` consent to the Beijing programme
  (recipient ``programme`` / 110000, purpose ``regional_statistics``, the current notice's
  version and digest) for every category of the catalogue, with a data window of the season,
  granted 1 to 360 days before the build and expiring 720 days after it was granted (in force
  throughout the run); each has its ``granted`` consent_event, and 5% of them a later
  ``revoked`` event as well, so the policy's NOT EXISTS over ending events excludes real rows.
  The event hashes are arbitrary 64-character hex strings, not a verifiable chain (nothing
  measured reads them); consent_head, receipts and access-log history are not generated.
  Loading: SQLite with the driver's ``executemany`` over a generator (the consent rows with
  Core ``executemany``, so their timestamps are stored as the application stores them),
  PostgreSQL with ``COPY``; the participants index of ``person_daily_rollup`` is dropped during
  the load and created afterwards (and any foreign keys of that table on PostgreSQL, re-added
  and validated after; the rollups carry none since they became derived data); then
  ``ANALYZE`` (``VACUUM ANALYZE`` on PostgreSQL). The
  build is checked: both rollups agree per methodology, every methodology covering a
  behaviour counts exactly the entries generated for it, and the database holds the consents
  generated (consenting persons, category rows, events, revoked consents, and persons with a
  consent in force at read time, counted in SQL with the policy's conditions).
* **GraphQL.** ``await schema.execute(QUERY, context_value=Context(hub, Principal.developer()))``
  in process (asyncio), for Beijing (110000) over the programme's season under its primary
  methodology: total, participants, by category, by behaviour and by child district, over the
  consented contributions only (the access policy's EXISTS over consent_grant /
  consent_grant_category / consent_event; totals then come from ``person_daily_rollup``), and
  the release recorded in the access log. The result must have no errors. The statements it
  issues are recorded with ``before/after_cursor_execute`` listeners in the (untimed) warm-up
  run, and counted in every timed run.
* **Raw SQL.** The same figures with hand-written ``text()`` statements on one connection of
  the same engine, in sequence, all over ``person_daily_rollup`` rows of the methodology,
  season and districts that pass the same consent clause written out by hand (EXISTS a
  consent_grant of the person joined to consent_grant_category: share, programme 110000,
  regional_statistics, granted_at <= :now < expires_at, data_from <= local_date <= data_to,
  category = the CASE over behaviour codes, and NOT EXISTS a revoked/terminated/superseded
  consent_event; ``:now`` is the time of each run): total (SUM), participants (COUNT
  DISTINCT), and SUM and COUNT DISTINCT grouped by category (the same CASE over behaviour
  codes), by behaviour and by child district (GROUP BY region_code: every child of 110000 is a
  district, so the report's CASE maps each code to itself); then the distinct active
  behaviours (``region_daily_rollup``, unfiltered, as the report reads them) and the child
  regions' names. Every figure GraphQL released is asserted equal to the raw figure.

Both run warm (one untimed, logged run each first, which is also where the figures are
compared), then interleaved, ``--repeat`` times (default 3: at full size one GraphQL run takes
tens of seconds on SQLite); medians are compared. Target: GraphQL median <= 3x the raw SQL
median.

Run::

    .venv/bin/python -m bench.region_report                          # both backends, full size
    .venv/bin/python -m bench.region_report --persons 20000 --entries 500000 --backend sqlite

Results are printed as tables and written to ``bench/results/region_report-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, event, insert, inspect, text

from bench.common import (
    BEHAVIOUR_MIX,
    BEIJING,
    BEIJING_DISTRICTS,
    SEASON_DAYS,
    SEASON_END,
    SEASON_START,
    TRIP_KM_MILLI,
    BenchDatabase,
    analyze,
    base_parser,
    behaviour_weights,
    chosen_backends,
    console,
    district_picker,
    environment,
    fmt_seconds,
    fresh_database,
    median,
    person_ids,
    server_version,
    statement_log,
    statement_shape,
    stopwatch,
    table,
    verdict,
    write_results,
)
from carbonhub.auth import Principal
from carbonhub.consent.history import ENDING_EVENTS, GENESIS
from carbonhub.consent.notices import notice_for
from carbonhub.hub import Hub
from carbonhub.methodology import CapPeriod, MethodologyRegistry
from carbonhub.models import (
    ConsentEvent,
    ConsentGrant,
    ConsentGrantCategory,
    Person,
    PersonDailyRollup,
    table_of,
    utcnow,
)
from carbonhub.models.types import UTCDateTime
from carbonhub.resolvers.context import Context
from carbonhub.schema import schema

TARGET_RATIO = 3.0
MAX_PER_DAY = 3  # entries of one behaviour per person and day
ROUND_TRIP_SHARE = 0.6  # transport activities that are a commute out and back (2 entries)
INACTIVE_SHARE = 0.08  # registered persons with no entry in the season
FALLBACK_BEHAVIOUR = "use.e_waybill"  # replaces an activity that would reach a monthly cap
CONSENT_SHARE = 0.85  # persons with a regional-statistics consent
REVOKED_SHARE = 0.05  # of those consents, revoked since (a 'revoked' consent_event)
PURPOSE = "regional_statistics"
PERSON_TABLE = table_of(Person)
PERSON_ROLLUP = table_of(PersonDailyRollup)
CONSENT_TABLE = table_of(ConsentGrant)
CONSENT_CATEGORY_TABLE = table_of(ConsentGrantCategory)
CONSENT_EVENT_TABLE = table_of(ConsentEvent)
PARTICIPANTS_INDEX = "ix_person_daily_rollup_participants"
PERSON_ROLLUP_COLUMNS = (
    "person_id",
    "local_date",
    "behaviour_code",
    "methodology_key",
    "region_code",
    "entries",
    "counted",
    "quantity_milli",
    "reduction_mg",
)
REGION_ROLLUP_COLUMNS = (
    "region_code",
    "local_date",
    "behaviour_code",
    "methodology_key",
    "entries",
    "quantity_milli",
    "reduction_mg",
)
CONSENT_COLUMNS = (
    "id",
    "kind",
    "person_id",
    "recipient_kind",
    "recipient_id",
    "purpose",
    "categories",
    "granularity",
    "data_from",
    "data_to",
    "granted_at",
    "expires_at",
    "notice_version",
    "notice_sha256",
    "language",
)
CONSENT_CATEGORY_COLUMNS = ("consent_id", "category")
CONSENT_EVENT_COLUMNS = (
    "person_id",
    "seq",
    "event_type",
    "consent_id",
    "actor",
    "reason",
    "at",
    "prev_hash",
    "hash",
)

QUERY = """
query BeijingSeasonReport {
  region(code: "110000") {
    report {
      totalReductionKg
      participants
      byCategory { category { code } reductionKg participants suppressed }
      byBehaviour { behaviour { code } reductionKg participants suppressed }
      children { region { code name } totalReductionKg participants suppressed }
    }
  }
}
"""


# -- the season's data --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cover:
    """One methodology's factor for a behaviour, as exact integer arithmetic."""

    key: str
    per_km: bool
    numerator: int
    denominator: int

    def mg(self, quantity_milli: int) -> int:
        """``floor(quantity_milli x grams_per_unit)``, as carbonhub.methodology.milligrams."""
        return quantity_milli * self.numerator // self.denominator


def covers(registry: MethodologyRegistry) -> tuple[dict[str, list[Cover]], dict[str, int]]:
    """Per behaviour of the mix, the methodologies that credit it; and the monthly count caps.

    Refuses data the generator cannot honour (a grams cap, a daily count cap below
    MAX_PER_DAY, a methodology not in effect over the whole season, an unreported unit).
    """
    result: dict[str, list[Cover]] = {}
    month_caps: dict[str, int] = {}
    for code in BEHAVIOUR_MIX:
        behaviour = registry.catalogue.behaviour(code)
        assert behaviour is not None, code
        items = []
        for methodology in registry.all():
            factor = methodology.factor_for(code)
            if factor is None or factor.grams_per_unit is None:
                continue
            if not (methodology.in_effect(SEASON_START) and methodology.in_effect(SEASON_END)):
                raise SystemExit(f"{methodology.key} is not in effect over the whole season")
            for cap in methodology.caps_for(code):
                if cap.max_grams is not None or cap.max_count is None:
                    raise SystemExit(f"{methodology.key}: grams cap on {code} not modelled")
                if cap.per is CapPeriod.DAY and cap.max_count < MAX_PER_DAY:
                    raise SystemExit(f"{methodology.key}: daily cap on {code} below {MAX_PER_DAY}")
                if cap.per is CapPeriod.MONTH:
                    month_caps[code] = min(month_caps.get(code, cap.max_count), cap.max_count)
            per_km = factor.unit == "km"
            if not per_km and factor.unit != behaviour.count_unit:
                raise SystemExit(f"{methodology.key} counts {code} in {factor.unit}")
            grams = Fraction(factor.grams_per_unit)
            items.append(Cover(methodology.key, per_km, grams.numerator, grams.denominator))
        result[code] = sorted(items, key=lambda c: c.key)
    return result, month_caps


PersonRow = tuple[str, str, str, str, str, int, int, int, int]
RegionKey = tuple[str, int, str, str]


@dataclass
class Season:
    """The synthetic season: persons, their home districts, entry counts and rollup rows."""

    persons: int
    entries: int
    seed: int
    registry: MethodologyRegistry
    person_ids: list[str] = field(init=False)
    homes: list[str] = field(init=False)
    counts: list[int] = field(init=False)
    region_sums: dict[RegionKey, list[int]] = field(init=False, default_factory=dict)
    entries_by_behaviour: dict[str, int] = field(init=False, default_factory=dict)
    covers: dict[str, list[Cover]] = field(init=False)
    month_caps: dict[str, int] = field(init=False)
    person_rows_written: int = field(init=False, default=0)
    fallbacks: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self.person_ids = person_ids(self.persons, rng)
        pick = district_picker(rng)
        self.homes = [pick() for _ in self.person_ids]
        self.counts = _entry_counts(self.persons, self.entries, rng)
        self.covers, self.month_caps = covers(self.registry)

    @property
    def active_persons(self) -> int:
        return sum(1 for n in self.counts if n)

    def person_rows(self) -> Iterator[PersonRow]:
        """``person_daily_rollup`` rows in primary-key order; fills :attr:`region_sums` on the way."""
        rng = random.Random(self.seed + 1)
        codes, cumulative = behaviour_weights()
        total_weight = cumulative[-1]
        days = [(SEASON_START + timedelta(days=d)).isoformat() for d in range(SEASON_DAYS)]
        month_of = [(SEASON_START + timedelta(days=d)).month for d in range(SEASON_DAYS)]
        random_ = rng.random
        region_sums = self.region_sums
        by_behaviour: dict[str, int] = dict.fromkeys(BEHAVIOUR_MIX, 0)
        for person, home, count in zip(self.person_ids, self.homes, self.counts, strict=True):
            if not count:
                continue
            activity: dict[tuple[int, str], list[Any]] = {}
            monthly: dict[tuple[str, int], int] = {}
            remaining = count
            while remaining:
                code = codes[bisect.bisect_right(cumulative, random_() * total_weight)]
                trip = TRIP_KM_MILLI.get(code)
                n = 2 if trip and remaining >= 2 and random_() < ROUND_TRIP_SHARE else 1
                for _ in range(50):
                    day = int(random_() * SEASON_DAYS)
                    slot = activity.get((day, code))
                    if slot is None or slot[0] + n <= MAX_PER_DAY:
                        break
                else:
                    continue
                limit = self.month_caps.get(code)
                if limit is not None:
                    used = monthly.get((code, month_of[day]), 0)
                    if used + n > limit:
                        self.fallbacks += 1
                        code, trip, n = FALLBACK_BEHAVIOUR, None, 1
                        slot = activity.get((day, code))
                        if slot is not None and slot[0] + n > MAX_PER_DAY:
                            continue
                    else:
                        monthly[(code, month_of[day])] = used + n
                if slot is None:
                    slot = activity[(day, code)] = [0, []]
                slot[0] += n
                if trip:
                    low, span = trip[0], trip[1] - trip[0] + 1
                    slot[1].extend(low + int(random_() * span) for _ in range(n))
                remaining -= n
            for day, code in sorted(activity):
                n, kms = activity[(day, code)]
                by_behaviour[code] += n
                for cover in self.covers[code]:
                    if cover.per_km:
                        quantity = sum(kms)
                        mg = sum(cover.mg(km) for km in kms)
                    else:
                        quantity = 1000 * n
                        mg = cover.mg(1000) * n
                    yield (person, days[day], code, cover.key, home, n, n, quantity, mg)
                    sums = region_sums.get((home, day, code, cover.key))
                    if sums is None:
                        region_sums[(home, day, code, cover.key)] = [n, quantity, mg]
                    else:
                        sums[0] += n
                        sums[1] += quantity
                        sums[2] += mg
                    self.person_rows_written += 1
        self.entries_by_behaviour = by_behaviour

    def region_rows(self) -> list[tuple[str, str, str, str, int, int, int]]:
        """``region_daily_rollup`` rows: the sums of the person rows (after :meth:`person_rows`)."""
        return [
            (region, (SEASON_START + timedelta(days=day)).isoformat(), code, key, *sums)
            for (region, day, code, key), sums in sorted(self.region_sums.items())
        ]


def _entry_counts(persons: int, entries: int, rng: random.Random) -> list[int]:
    """Entries per person: 8% inactive, the rest log-normally active, summing to ``entries``."""
    weights = [
        0.0 if rng.random() < INACTIVE_SHARE else rng.lognormvariate(0, 0.8) for _ in range(persons)
    ]
    total = sum(weights)
    counts = [int(entries * w / total) for w in weights]
    active = [i for i, w in enumerate(weights) if w > 0]
    for i in rng.sample(active, entries - sum(counts)):
        counts[i] += 1
    return counts


@dataclass
class Consents:
    """The season's regional-statistics consents, as rows of the three consent tables."""

    grants: list[tuple[Any, ...]]
    categories: list[tuple[str, str]]
    events: list[tuple[Any, ...]]
    revoked: int
    in_force: set[str]  # persons whose consent is in force at read time

    @property
    def consenting(self) -> int:
        return len(self.grants)


def make_consents(
    season: Season, programme_region: str, categories: Sequence[str], now: datetime
) -> Consents:
    """Consents like a deployment's: :data:`CONSENT_SHARE` of the persons (seeded choice) each
    gave one consent to the programme of ``programme_region`` for every category, covering the
    season's days, granted 1 to 360 days before ``now`` and lasting 720 days (so in force at
    read time; the notice allows 800); :data:`REVOKED_SHARE` of them revoked it since.

    Each consent has its ``granted`` event (seq 1) and a revoked one a ``revoked`` event (seq
    2). The hashes are arbitrary 64-character hex strings, not a verifiable chain (the report
    never reads them); consent_head, receipts and the access log are not generated.
    """
    rng = random.Random(season.seed + 2)
    notice = notice_for(PURPOSE)
    language = "zh-CN"
    digest = notice.sha256(language)
    listed = " ".join(sorted(categories))
    now = now.replace(microsecond=0)

    def random_hash() -> str:
        return f"{rng.getrandbits(256):064x}"

    grants: list[tuple[Any, ...]] = []
    covered: list[tuple[str, str]] = []
    events: list[tuple[Any, ...]] = []
    in_force: set[str] = set()
    revoked = 0
    for person in season.person_ids:
        if rng.random() >= CONSENT_SHARE:
            continue
        consent_id = "c_" + "".join(rng.choices("abcdefghijklmnopqrstuvwxyz234567", k=20))
        granted_at = now - timedelta(seconds=rng.randrange(86_400, 360 * 86_400))
        grants.append(
            (
                consent_id,
                "share",
                person,
                notice.recipient_kind,
                programme_region,
                PURPOSE,
                listed,
                "aggregate",
                SEASON_START,
                SEASON_END,
                granted_at,
                granted_at + timedelta(days=720),
                notice.version,
                digest,
                language,
            )
        )
        covered.extend((consent_id, category) for category in sorted(categories))
        granted_hash = random_hash()
        events.append(
            (person, 1, "granted", consent_id, "citizen", None, granted_at, GENESIS, granted_hash)
        )
        if rng.random() < REVOKED_SHARE:
            revoked += 1
            revoked_at = granted_at + (now - granted_at) * rng.random()
            events.append(
                (
                    person,
                    2,
                    "revoked",
                    consent_id,
                    "citizen",
                    "revoked by the citizen",
                    revoked_at,
                    granted_hash,
                    random_hash(),
                )
            )
        else:
            in_force.add(person)
    return Consents(grants, covered, events, revoked, in_force)


# -- loading ------------------------------------------------------------------------------------


CREATED_AT = datetime(2023, 6, 1, tzinfo=UTC)


def load(db: BenchDatabase, season: Season, consents: Consents) -> dict[str, float]:
    """Insert persons, both rollups and the consents; returns the seconds of each build step."""
    steps: dict[str, float] = {}
    index = next(i for i in PERSON_ROLLUP.indexes if i.name == PARTICIPANTS_INDEX)
    with stopwatch() as elapsed:
        if db.backend == "sqlite":
            _load_sqlite_persons(db.engine, season)
        else:
            _copy(
                db.engine, "person", ("id", "home_region_code", "created_at"), _person_rows(season)
            )
    steps["persons"] = elapsed()
    with db.engine.begin() as connection:
        index.drop(connection)
        foreign_keys = _drop_foreign_keys(connection) if db.backend == "postgresql" else []
    with stopwatch() as elapsed:
        if db.backend == "sqlite":
            _sqlite_executemany(
                db.engine, "person_daily_rollup", PERSON_ROLLUP_COLUMNS, season.person_rows()
            )
        else:
            _copy(db.engine, "person_daily_rollup", PERSON_ROLLUP_COLUMNS, season.person_rows())
    steps["generate + load person_daily_rollup"] = elapsed()
    with stopwatch() as elapsed:
        rows = season.region_rows()
        if db.backend == "sqlite":
            _sqlite_executemany(db.engine, "region_daily_rollup", REGION_ROLLUP_COLUMNS, iter(rows))
        else:
            _copy(db.engine, "region_daily_rollup", REGION_ROLLUP_COLUMNS, iter(rows))
    steps["load region_daily_rollup"] = elapsed()
    with stopwatch() as elapsed:
        tables = (
            (CONSENT_TABLE, CONSENT_COLUMNS, consents.grants),
            (CONSENT_CATEGORY_TABLE, CONSENT_CATEGORY_COLUMNS, consents.categories),
            (CONSENT_EVENT_TABLE, CONSENT_EVENT_COLUMNS, consents.events),
        )
        if db.backend == "sqlite":
            with db.engine.begin() as connection:  # Core inserts: UTCDateTime stores the moments
                for table_, columns, rows in tables:
                    for start in range(0, len(rows), 50_000):
                        connection.execute(
                            insert(table_),
                            [
                                dict(zip(columns, row, strict=True))
                                for row in rows[start : start + 50_000]
                            ],
                        )
        else:
            for table_, columns, rows in tables:
                _copy(db.engine, table_.name, columns, iter(rows))
    steps["load consents"] = elapsed()
    with stopwatch() as elapsed, db.engine.begin() as connection:
        index.create(connection)
        for statement in foreign_keys:
            connection.exec_driver_sql(statement)
    steps["create participants index" + (" + validate foreign keys" if foreign_keys else "")] = (
        elapsed()
    )
    with stopwatch() as elapsed:
        analyze(db.engine)
    steps["VACUUM ANALYZE" if db.backend == "postgresql" else "ANALYZE"] = elapsed()
    return steps


def _person_rows(season: Season) -> Iterator[tuple[str, str, datetime]]:
    return (
        (pid, home, CREATED_AT) for pid, home in zip(season.person_ids, season.homes, strict=True)
    )


def _load_sqlite_persons(engine: Engine, season: Season) -> None:
    rows = [
        {"id": pid, "home_region_code": home, "created_at": CREATED_AT}
        for pid, home, _ in _person_rows(season)
    ]
    with engine.begin() as connection:
        for start in range(0, len(rows), 50_000):
            connection.execute(insert(PERSON_TABLE), rows[start : start + 50_000])


def _sqlite_executemany(
    engine: Engine, name: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]]
) -> None:
    """The sqlite3 driver's executemany over a generator, in one transaction."""
    statement = (
        f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    )
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("BEGIN")
        cursor.executemany(statement, rows)
        cursor.execute("COMMIT")
        cursor.close()
    finally:
        raw.close()


def _copy(
    engine: Engine, name: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]]
) -> None:
    """psycopg ``COPY name (columns) FROM STDIN``, one transaction."""
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        driver.commit()
    finally:
        raw.close()


def _drop_foreign_keys(connection: Connection) -> list[str]:
    """Drop person_daily_rollup's foreign keys; returns the statements that re-add them."""
    statements = []
    for fk in inspect(connection).get_foreign_keys("person_daily_rollup"):
        name = fk["name"]
        columns = ", ".join(fk["constrained_columns"])
        referred = ", ".join(fk["referred_columns"])
        connection.exec_driver_sql(f"ALTER TABLE person_daily_rollup DROP CONSTRAINT {name}")
        statements.append(
            f"ALTER TABLE person_daily_rollup ADD CONSTRAINT {name} FOREIGN KEY ({columns}) "
            f"REFERENCES {fk['referred_table']} ({referred})"
        )
    return statements


def check_build(
    engine: Engine, season: Season, consents: Consents, programme_region: str
) -> tuple[dict[str, int], list[str]]:
    """Row counts, and problems: the rollups must agree and represent exactly the entries made,
    and the consents in the database must be those generated (consenting, revoked, in force)."""
    problems = []
    with engine.connect() as connection:
        consenting = int(
            connection.execute(
                text("SELECT COUNT(DISTINCT person_id) FROM consent_grant WHERE purpose = :p"),
                {"p": PURPOSE},
            ).scalar_one()
        )
        revoked = int(
            connection.execute(
                text(
                    "SELECT COUNT(DISTINCT consent_id) FROM consent_event "
                    "WHERE event_type = 'revoked'"
                )
            ).scalar_one()
        )
        in_force = int(
            connection.execute(
                text(
                    "SELECT COUNT(DISTINCT g.person_id) FROM consent_grant g "
                    f"WHERE {_grant_in_force('g')}"
                ).bindparams(bindparam("now", type_=UTCDateTime())),
                {"programme": programme_region, "now": utcnow()},
            ).scalar_one()
        )
        person = {
            row[0]: tuple(int(v) for v in row[1:])
            for row in connection.execute(
                text(
                    "SELECT methodology_key, SUM(entries), SUM(quantity_milli), SUM(reduction_mg) "
                    "FROM person_daily_rollup GROUP BY methodology_key"
                )
            )
        }
        region = {
            row[0]: tuple(int(v) for v in row[1:])
            for row in connection.execute(
                text(
                    "SELECT methodology_key, SUM(entries), SUM(quantity_milli), SUM(reduction_mg) "
                    "FROM region_daily_rollup GROUP BY methodology_key"
                )
            )
        }
        by_behaviour = connection.execute(
            text(
                "SELECT behaviour_code, methodology_key, SUM(entries) FROM person_daily_rollup "
                "GROUP BY behaviour_code, methodology_key"
            )
        ).all()
        counts = {
            name: int(connection.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one())
            for name in (
                "person",
                "person_daily_rollup",
                "region_daily_rollup",
                "ledger_entry",
                "consent_grant",
                "consent_grant_category",
                "consent_event",
            )
        }
    counts |= {
        "consenting persons": consenting,
        "revoked consents": revoked,
        "persons with a consent in force": in_force,
    }
    expected = {
        "consenting persons": consents.consenting,
        "revoked consents": consents.revoked,
        "persons with a consent in force": len(consents.in_force),
        "consent_grant_category": len(consents.categories),
        "consent_event": len(consents.events),
    }
    for name, value in expected.items():
        if counts[name] != value:
            problems.append(f"{name}: {counts[name]} in the database, {value} generated")
    if not 0 < len(consents.in_force) < season.persons or not consents.revoked:
        problems.append("the consents do not narrow the persons (none revoked or all consenting)")
    if person != region:
        problems.append(f"rollups disagree: person {person} != region {region}")
    for behaviour, key, entries in by_behaviour:
        if int(entries) != season.entries_by_behaviour[behaviour]:
            problems.append(
                f"{key} counts {entries} {behaviour} entries, {season.entries_by_behaviour[behaviour]} made"
            )
    if sum(season.entries_by_behaviour.values()) != season.entries:
        problems.append(
            f"{sum(season.entries_by_behaviour.values())} entries made, not {season.entries}"
        )
    if counts["person_daily_rollup"] != season.person_rows_written:
        problems.append("person_daily_rollup row count differs from the rows generated")
    return counts, problems


# -- GraphQL and raw SQL ------------------------------------------------------------------------


def graphql_report(loop: asyncio.AbstractEventLoop, hub: Hub) -> dict[str, Any]:
    """Execute QUERY in process; returns ``data.region.report`` (errors raise)."""
    context = Context(hub=hub, principal=Principal.developer())
    result = loop.run_until_complete(schema.execute(QUERY, context_value=context))
    if result.errors:
        raise SystemExit(f"GraphQL errors: {[str(e) for e in result.errors]}")
    assert result.data is not None
    report: dict[str, Any] = result.data["region"]["report"]
    return report


@dataclass
class RawSql:
    """The raw statements of the report and their parameters."""

    statements: dict[str, Any]
    parameters: dict[str, Any]


def _grant_in_force(g: str) -> str:
    """SQL over consent_grant ``g``: a regional-statistics share consent to the programme
    ``:programme`` in force at ``:now`` (given, not expired, no revoked/terminated/superseded
    event); its data window and categories are checked by the caller."""
    ending = ", ".join(f"'{e}'" for e in ENDING_EVENTS)
    return (
        f"{g}.kind = 'share' AND {g}.recipient_kind = 'programme' "
        f"AND {g}.recipient_id = :programme AND {g}.purpose = '{PURPOSE}' "
        f"AND {g}.granted_at <= :now AND {g}.expires_at > :now "
        f"AND NOT EXISTS (SELECT 1 FROM consent_event e WHERE e.consent_id = {g}.id "
        f"AND e.event_type IN ({ending}))"
    )


def consent_clause(rollup: str, category_of: dict[str, str]) -> str:
    """The access policy's regional consent clause over the rollup alias ``rollup``, by hand:
    the row's person has a consent in force whose data window holds the row's day and whose
    categories include the row's behaviour's."""
    category = (
        f"CASE {rollup}.behaviour_code "
        + " ".join(f"WHEN '{code}' THEN '{cat}'" for code, cat in category_of.items())
        + " END"
    )
    return (
        "EXISTS (SELECT 1 FROM consent_grant g JOIN consent_grant_category c "
        f"ON c.consent_id = g.id WHERE g.person_id = {rollup}.person_id AND {_grant_in_force('g')} "
        f"AND g.data_from <= {rollup}.local_date AND g.data_to >= {rollup}.local_date "
        f"AND c.category = {category})"
    )


def raw_sql(hub: Hub) -> RawSql:
    """Hand-written equivalents of the report's queries, for Beijing, the season and the primary
    methodology, over the consented person rollup rows (``:now`` is set at each run)."""
    programme = hub.programmes.for_region(BEIJING)
    assert programme is not None
    assert programme.starts
    assert programme.ends
    districts = list(hub.regions.leaves_under(BEIJING))
    assert all(hub.regions.children(child) == () for child in hub.regions.children(BEIJING))
    where = (
        "r.methodology_key = :m AND r.local_date BETWEEN :start AND :end "
        "AND r.region_code IN :districts AND "
        + consent_clause("r", hub.registry.catalogue.category_of())
    )
    rollup = "person_daily_rollup r"
    category = (
        "CASE r.behaviour_code "
        + " ".join(
            f"WHEN '{b.code}' THEN '{b.category}'" for b in hub.registry.catalogue.behaviours
        )
        + " ELSE 'unknown' END"
    )
    sums = "SUM(r.reduction_mg), SUM(r.entries), SUM(r.quantity_milli)"

    def statement(sql: str) -> Any:
        binds = [bindparam("districts", expanding=True)]
        if ":now" in sql:
            binds.append(bindparam("now", type_=UTCDateTime()))
        return text(sql).bindparams(*binds)

    statements = {
        "total": statement(f"SELECT {sums} FROM {rollup} WHERE {where}"),
        "participants": statement(
            f"SELECT COUNT(DISTINCT r.person_id) FROM {rollup} WHERE {where}"
        ),
        "category sums": statement(
            f"SELECT {category} AS k, {sums} FROM {rollup} WHERE {where} GROUP BY k"
        ),
        "category participants": statement(
            f"SELECT {category} AS k, COUNT(DISTINCT r.person_id) FROM {rollup} "
            f"WHERE {where} GROUP BY k"
        ),
        "behaviour sums": statement(
            f"SELECT r.behaviour_code, {sums} FROM {rollup} WHERE {where} GROUP BY r.behaviour_code"
        ),
        "behaviour participants": statement(
            f"SELECT r.behaviour_code, COUNT(DISTINCT r.person_id) FROM {rollup} "
            f"WHERE {where} GROUP BY r.behaviour_code"
        ),
        "child sums": statement(
            f"SELECT r.region_code, {sums} FROM {rollup} WHERE {where} GROUP BY r.region_code"
        ),
        "child participants": statement(
            f"SELECT r.region_code, COUNT(DISTINCT r.person_id) FROM {rollup} "
            f"WHERE {where} GROUP BY r.region_code"
        ),
        "active behaviours": statement(
            "SELECT DISTINCT behaviour_code FROM region_daily_rollup "
            "WHERE region_code IN :districts AND local_date BETWEEN :start AND :end"
        ),
        "child names": text(
            "SELECT code, name_zh FROM region WHERE parent_code = :parent ORDER BY code"
        ),
    }
    parameters = {
        "m": programme.primary_methodology,
        "start": programme.starts,
        "end": programme.ends,
        "districts": districts,
        "parent": BEIJING,
        "programme": programme.region,
        "now": None,
    }
    return RawSql(statements, parameters)


def run_raw(engine: Engine, raw: RawSql) -> tuple[dict[str, Any], dict[str, float]]:
    """Run the raw statements in sequence on one connection, fetching every row.

    Returns the rows and the seconds of each statement (execute + fetch).
    """
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    parameters = raw.parameters | {"now": utcnow()}  # read time, as the GraphQL context's
    with engine.connect() as connection:
        for name, statement in raw.statements.items():
            with stopwatch() as elapsed:
                results[name] = connection.execute(statement, parameters).all()
            seconds[name] = elapsed()
    return results, seconds


def compare(report: dict[str, Any], raw: dict[str, Any]) -> tuple[int, list[str]]:
    """Check every released GraphQL figure against the raw rows: (figures compared, problems)."""
    problems: list[str] = []
    compared = 0

    def kg(mg: Any) -> Decimal:
        return Decimal(int(mg or 0)) / Decimal(1_000_000)

    def check(what: str, graphql: Any, expected: Any) -> None:
        nonlocal compared
        compared += 1
        if graphql is None or (
            Decimal(graphql) != expected if isinstance(expected, Decimal) else graphql != expected
        ):
            problems.append(f"{what}: GraphQL {graphql!r} != raw {expected!r}")

    total = raw["total"][0]
    check("total kg", report["totalReductionKg"], kg(total[0]))
    check("participants", report["participants"], int(raw["participants"][0][0]))
    category_sums = {r[0]: r for r in raw["category sums"]}
    category_persons = {r[0]: int(r[1]) for r in raw["category participants"]}
    for row in report["byCategory"]:
        code = row["category"]["code"]
        if row["suppressed"]:
            continue
        check(f"category {code} kg", row["reductionKg"], kg(category_sums[code][1]))
        check(f"category {code} participants", row["participants"], category_persons[code])
    behaviour_sums = {r[0]: r for r in raw["behaviour sums"]}
    behaviour_persons = {r[0]: int(r[1]) for r in raw["behaviour participants"]}
    active = {r[0] for r in raw["active behaviours"]}
    listed = set()
    for row in report["byBehaviour"]:
        code = row["behaviour"]["code"]
        listed.add(code)
        if row["suppressed"]:
            if code in behaviour_sums and behaviour_persons.get(code, 0) >= 10:
                problems.append(f"behaviour {code} withheld although covered and released raw")
            continue
        check(f"behaviour {code} kg", row["reductionKg"], kg(behaviour_sums[code][1]))
        check(f"behaviour {code} participants", row["participants"], behaviour_persons[code])
    if listed != active | set(behaviour_sums):
        problems.append(f"behaviours listed {sorted(listed)} != active {sorted(active)}")
    child_sums = {r[0]: r for r in raw["child sums"]}
    child_persons = {r[0]: int(r[1]) for r in raw["child participants"]}
    names = dict(raw["child names"])
    if [row["region"]["code"] for row in report["children"]] != list(names):
        problems.append("children differ from the child regions")
    for row in report["children"]:
        code = row["region"]["code"]
        check(f"child {code} name", row["region"]["name"], names[code])
        if row["suppressed"]:
            continue
        check(f"child {code} kg", row["totalReductionKg"], kg(child_sums[code][1]))
        check(f"child {code} participants", row["participants"], child_persons[code])
    return compared, problems


# -- one backend --------------------------------------------------------------------------------


@contextmanager
def counting(engine: Engine) -> Iterator[list[int]]:
    """Count the statements the engine executes meanwhile (a cheap listener for timed runs)."""
    count = [0]

    def before(*_args: Any) -> None:
        count[0] += 1

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield count
    finally:
        event.remove(engine, "before_cursor_execute", before)


def measure(db: BenchDatabase, repeat: int) -> dict[str, Any]:
    """A logged warm-up of each, the comparison, then GraphQL and raw SQL timed, interleaved."""
    hub = db.hub
    raw = raw_sql(hub)
    loop = asyncio.new_event_loop()
    try:
        with statement_log(db.engine) as graphql_log, stopwatch() as logged_graphql:
            report = graphql_report(loop, hub)
        with statement_log(db.engine) as raw_log:
            raw_rows, _ = run_raw(db.engine, raw)
        compared, problems = compare(report, raw_rows)
        graphql_times: list[float] = []
        raw_times: list[float] = []
        statement_counts: list[int] = []
        raw_statement_times: dict[str, list[float]] = {name: [] for name in raw.statements}
        for _ in range(repeat):
            with counting(db.engine) as count, stopwatch() as elapsed:
                graphql_report(loop, hub)
            graphql_times.append(elapsed())
            statement_counts.append(count[0])
            with stopwatch() as elapsed:
                _, per_statement = run_raw(db.engine, raw)
            raw_times.append(elapsed())
            for name, seconds in per_statement.items():
                raw_statement_times[name].append(seconds)
    finally:
        loop.close()
    queries = graphql_log.queries()
    shapes: dict[str, list[float]] = {}
    for statement, _rows, seconds in queries:
        shapes.setdefault(statement_shape(statement), []).append(seconds)
    return {
        "graphql_seconds": graphql_times,
        "raw_seconds": raw_times,
        "graphql_median": median(graphql_times),
        "raw_median": median(raw_times),
        "ratio": median(graphql_times) / median(raw_times),
        "graphql_statements": graphql_log.count,
        "graphql_queries": len(queries),
        "graphql_transaction_statements": graphql_log.count - len(queries),
        "graphql_statements_per_timed_run": statement_counts,
        "graphql_connection_checkouts": graphql_log.checkouts,
        "graphql_driver_seconds": graphql_log.seconds,
        "graphql_logged_run_seconds": logged_graphql(),
        "graphql_statement_shapes": [
            {"shape": shape, "count": len(times), "driver_seconds": sum(times)}
            for shape, times in shapes.items()
        ],
        "raw_statements": len(raw_log.queries()),
        "raw_statement_seconds": {
            name: median(times) for name, times in raw_statement_times.items()
        },
        "figures_compared": compared,
        "problems": problems,
        "report": report,
    }


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    with fresh_database(backend, args.postgres_url) as db:
        season = Season(args.persons, args.entries, args.seed, db.hub.registry)
        programme = db.hub.programmes.for_region(BEIJING)
        assert programme is not None
        console.print(
            f"  {backend}: building {args.persons:,} persons, the rollups of "
            f"{args.entries:,} entries and the consents ..."
        )
        with stopwatch() as built:
            consents = make_consents(
                season,
                programme.region,
                [c.code for c in db.hub.registry.catalogue.categories],
                utcnow(),
            )
            steps = load(db, season, consents)
        counts, build_problems = check_build(db.engine, season, consents, programme.region)
        console.print(
            f"  {backend}: built in {fmt_seconds(built())}; running GraphQL and raw SQL "
            f"({args.repeat} timed runs each) ..."
        )
        measured = measure(db, args.repeat)
        return {
            "backend": backend,
            "server": server_version(db.engine),
            "database": db.where,
            "persons": args.persons,
            "active_persons": season.active_persons,
            "consenting_persons": consents.consenting,
            "revoked_consents": consents.revoked,
            "persons_with_consent_in_force": len(consents.in_force),
            "active_persons_with_consent_in_force": sum(
                1
                for person, count in zip(season.person_ids, season.counts, strict=True)
                if count and person in consents.in_force
            ),
            "entries": args.entries,
            "entries_by_behaviour": season.entries_by_behaviour,
            "monthly_cap_fallbacks": season.fallbacks,
            "rows": counts,
            "build_seconds": built(),
            "build_steps": steps,
            "build_problems": build_problems,
            "target_ratio": TARGET_RATIO,
            "target_met": measured["ratio"] <= TARGET_RATIO,
            **measured,
        }


def print_backend(result: dict[str, Any]) -> None:
    rows = result["rows"]
    console.print()
    console.print(
        f"[bold]{result['backend']}[/bold] ({result['server']}, {result['database']}): "
        f"{result['persons']:,} persons ({result['active_persons']:,} active), "
        f"{result['entries']:,} entries represented by {rows['person_daily_rollup']:,} "
        f"person_daily_rollup rows and {rows['region_daily_rollup']:,} region_daily_rollup rows "
        f"(ledger_entry rows: {rows['ledger_entry']}; the report never reads ledger_entry)"
    )
    console.print(
        f"  consents: {result['consenting_persons']:,} persons gave a regional-statistics "
        f"consent ({rows['consent_grant_category']:,} category rows, "
        f"{rows['consent_event']:,} events), {result['revoked_consents']:,} revoked since; "
        f"in force at read time for {result['persons_with_consent_in_force']:,} persons, "
        f"{result['active_persons_with_consent_in_force']:,} of them active in the season "
        f"(GraphQL participants: {result['report']['participants']})"
    )
    build = "; ".join(f"{name} {fmt_seconds(s)}" for name, s in result["build_steps"].items())
    check = (
        "ok" if not result["build_problems"] else "FAILED: " + "; ".join(result["build_problems"])
    )
    console.print(f"  build {fmt_seconds(result['build_seconds'])} ({build}); consistency {check}")
    problems = result["problems"]
    console.print(
        f"  GraphQL vs raw: {result['figures_compared']} figures compared, "
        + ("all equal" if not problems else "[bold red]MISMATCH[/bold red]: " + "; ".join(problems))
    )
    ratio = result["ratio"]
    console.print(
        table(
            f"Region report on {result['backend']}: GraphQL vs raw SQL "
            f"(median of {len(result['graphql_seconds'])} warm runs; target <= {TARGET_RATIO:.1f}x)",
            ["variant", "statements", "median", "runs", "ratio", "target"],
            [
                [
                    "GraphQL region { report } (in process)",
                    f"{result['graphql_queries']} queries + {result['graphql_transaction_statements']} BEGIN",
                    fmt_seconds(result["graphql_median"]),
                    ", ".join(f"{s:.3f}" for s in result["graphql_seconds"]),
                    f"{ratio:.2f}x",
                    verdict(ratio <= TARGET_RATIO),
                ],
                [
                    "raw SQL (text(), one connection, sequential)",
                    f"{result['raw_statements']} queries",
                    fmt_seconds(result["raw_median"]),
                    ", ".join(f"{s:.3f}" for s in result["raw_seconds"]),
                    "1.00x",
                    "",
                ],
            ],
        )
    )
    counts = result["graphql_statements_per_timed_run"]
    console.print(
        f"  GraphQL statements: {result['graphql_statements']} in the logged run "
        f"({result['graphql_queries']} queries + {result['graphql_transaction_statements']} "
        f"BEGIN) over {result['graphql_connection_checkouts']} connection checkouts; per timed "
        f"run {', '.join(map(str, counts))} (raw SQL: {result['raw_statements']} queries on one "
        "connection). Resolvers run concurrently in threads, each with its own connection: "
        f"their driver time adds up to {result['graphql_driver_seconds']:.2f} s in a "
        f"{result['graphql_logged_run_seconds']:.2f} s run"
        + (" (SQLite: time to the first row only)" if result["backend"] == "sqlite" else "")
    )
    console.print(
        table(
            f"Queries GraphQL issued on {result['backend']} (logged run; 'x' > 1 is the same "
            "query shape run again)",
            ["query shape", "x"],
            [[item["shape"], item["count"]] for item in result["graphql_statement_shapes"]],
        )
    )
    console.print(
        table(
            f"Raw SQL statements on {result['backend']} (median seconds, execute + fetch)",
            ["statement", "seconds"],
            [[name, f"{s:.3f}"] for name, s in result["raw_statement_seconds"].items()],
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = base_parser((__doc__ or "").splitlines()[0], default_repeat=3)
    parser.add_argument("--persons", type=int, default=200_000, help="registered citizens")
    parser.add_argument(
        "--entries", type=int, default=5_000_000, help="ledger entries the rollups represent"
    )
    args = parser.parse_args(argv)
    started = environment()  # the code measured: as it is when the run starts
    console.print(
        f"[bold]Region report benchmark[/bold]: Beijing ({len(BEIJING_DISTRICTS)} districts), "
        f"season {SEASON_START}..{SEASON_END}, {args.persons:,} persons, {args.entries:,} "
        "entries represented by their rollups (generated directly; the report reads only "
        f"the rollups), {args.repeat} timed runs after one logged warm-up"
    )
    console.print(f"query: {' '.join(QUERY.split())}", markup=False)
    results = []
    for backend in chosen_backends(args):
        result = run_backend(backend, args)
        results.append(result)
        print_backend(result)
    console.print()
    console.print(
        table(
            f"Region report summary (target: GraphQL median <= {TARGET_RATIO:.1f}x raw SQL median)",
            [
                "backend",
                "persons",
                "entries",
                "build",
                "GraphQL median",
                "raw median",
                "ratio",
                "GraphQL statements",
                "target",
            ],
            [
                [
                    r["backend"],
                    f"{r['persons']:,}",
                    f"{r['entries']:,}",
                    fmt_seconds(r["build_seconds"]),
                    fmt_seconds(r["graphql_median"]),
                    fmt_seconds(r["raw_median"]),
                    f"{r['ratio']:.2f}x",
                    f"{r['graphql_queries']} (+{r['graphql_transaction_statements']} BEGIN) vs {r['raw_statements']}",
                    verdict(r["target_met"]),
                ]
                for r in results
            ],
        )
    )
    path = write_results(
        args.results_dir,
        "region_report",
        {
            "benchmark": "region_report",
            "environment": started,
            "arguments": {k: str(v) for k, v in vars(args).items()},
            "query": QUERY,
            "results": results,
        },
    )
    console.print(f"results written to {path}")
    failed = [r for r in results if r["problems"] or r["build_problems"]]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
