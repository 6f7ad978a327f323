"""Posting: events per second through the full ledger engine, against a raw bulk insert.

What it measures, per backend (SQLite in a fresh temporary file, PostgreSQL in a fresh private
schema), in one run on one database:

1. **Engine.** ``--persons`` citizens (default 5,000) are registered over the 16 Beijing
   districts with ``carbonhub.actors`` (about 40% employed by one of a few enterprises; 85%
   share with their programme and 85% of employees with their employer, so posting keeps
   those recipients' released aggregates as it does in a real city), and
   ``--events`` behaviour events (default 100,000) of a realistic mix (shared-bike rides with
   km and duration, metro and bus rides with km, takeaway orders without cutlery and parcels
   with e-waybills with a claim reference, digital-finance behaviours; about 1% claimed again
   by a second provider and 0.5% replayed by the same one) are generated over the 2023 season
   (2023-06-15..2023-10-31 local, UTC timestamps) in chronological order, as providers deliver
   them. ``LedgerPoster.post`` posts them all (default batch size 2,000, one transaction per
   batch: validation, idempotency, cross-provider de-duplication, quantification under every
   methodology, caps, points, hash chain, entries + three rollups + chain heads). Rate = events
   per second over the whole call; the per-batch rate is reported too. The report's counts
   are checked: posted + duplicates + quarantined = events, and posted = ledger_entry rows.
2. **Raw baselines**, same run, same database. Every ``ledger_entry`` row the engine wrote is
   read back (``SELECT``, not timed), then inserted into ``ledger_entry_raw``: a fresh table
   with the same columns and column types as ``ledger_entry`` and only its primary key
   (``id``; no foreign keys, no unique constraints, no secondary indexes), dropped and created
   anew before each repetition. Methods, each in one transaction:

   * SQLAlchemy Core ``executemany``: one ``insert()`` with all rows as parameters (on
     PostgreSQL without RETURNING this is psycopg's pipelined ``executemany``, not
     insertmanyvalues);
   * SQLAlchemy Core insertmanyvalues: the same ``insert()`` with ``RETURNING id``, which
     SQLAlchemy sends as multi-row ``INSERT ... VALUES`` statements of 1,000 rows;
   * on PostgreSQL, psycopg ``COPY ... FROM STDIN`` (``write_row`` per row);
   * for information only, Core ``executemany`` into a copy that also has ``ledger_entry``'s
     3 unique constraints and 3 secondary indexes.

   Rate = rows per second (median of 3). Each method is first probed on 10,000 rows; one
   that would need over 30 s for all rows (insertmanyvalues on PostgreSQL, where psycopg
   re-parses every 29,000-parameter statement) keeps that probe as its figure.

Target: the engine's events per second reach at least 20% of the raw insert rate (ratio
engine / raw >= 0.20) on each backend; judged against the faster of the two Core methods and,
on PostgreSQL, against COPY as well.

Run::

    .venv/bin/python -m bench.posting                      # both backends, default sizes
    .venv/bin/python -m bench.posting --backend sqlite --events 20000 --persons 1000
    .venv/bin/python -m bench.posting --profile            # adds a cProfile of the engine

Results are printed as tables and written to ``bench/results/posting-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import pstats
import random
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Index,
    MetaData,
    Table,
    UniqueConstraint,
    func,
    insert,
    select,
)

from bench.common import (
    BEHAVIOUR_MIX,
    BEIJING_DISTRICTS,
    SEASON_DAYS,
    SEASON_START,
    TRIP_KM_MILLI,
    BenchDatabase,
    base_parser,
    behaviour_weights,
    chosen_backends,
    console,
    district_picker,
    environment,
    fmt_rate,
    fmt_seconds,
    fresh_database,
    local_moment,
    median,
    person_ids,
    server_version,
    statement_log,
    stopwatch,
    table,
    verdict,
    write_results,
)
from carbonhub.actors import complete_uscc, employ, register_enterprise, register_person
from carbonhub.consent.service import ConsentTerms
from carbonhub.db import write_session
from carbonhub.ledger import BehaviourEvent, PostingReport
from carbonhub.ledger import posting as posting_module
from carbonhub.models import LedgerEntry, table_of, utcnow

TARGET_RATIO = 0.20
BATCH_SIZE = 2000
RAW_REPEAT = 3
SLOW_RAW_SECONDS = 30.0
PROBE_ROWS = 10_000
SHARING_SHARE = 0.85  # persons sharing with their programme (and employees with their employer)
EMPLOYED_SHARE = 0.40
CROSS_PROVIDER_SHARE = 0.01
REPLAY_SHARE = 0.005
ENTRY_TABLE = table_of(LedgerEntry)

ENTERPRISES = (
    ("京绿科技有限公司", "Jinglü Technology Co., Ltd.", "110108"),
    ("北京低碳物流有限公司", "Beijing Low-Carbon Logistics Co., Ltd.", "110105"),
    ("首都清风传媒有限公司", "Capital Breeze Media Co., Ltd.", "110101"),
    ("燕山新能源股份有限公司", "Yanshan New Energy Co., Ltd.", "110114"),
    ("通州绿色制造有限公司", "Tongzhou Green Manufacturing Co., Ltd.", "110112"),
)

# Which provider delivers each behaviour, and the second provider that may claim it as well.
PROVIDERS: dict[str, tuple[str, str]] = {
    "transport.bike_share": ("bikeshare", "bikeshare-b"),
    "transport.metro": ("transit-card", "metro-app"),
    "transport.bus": ("transit-card", "bus-app"),
    "food.no_utensils": ("takeaway", "takeaway-b"),
    "use.e_waybill": ("courier", "ecommerce"),
    "digital_finance.offline_payment": ("payments", "bank-app"),
    "digital_finance.e_invoice": ("payments", "tax-app"),
    "digital_finance.e_transfer": ("payments", "bank-app"),
    "digital_finance.utility_bill_online": ("payments", "utility-app"),
}
REFERENCE_PREFIX = {
    "food.no_utensils": "order",
    "use.e_waybill": "wb",
    "digital_finance.offline_payment": "pay",
    "digital_finance.e_invoice": "inv",
    "digital_finance.e_transfer": "tr",
    "digital_finance.utility_bill_online": "bill",
}
COUNT_UNIT = {
    "food.no_utensils": "order",
    "use.e_waybill": "waybill",
    "digital_finance.offline_payment": "payment",
    "digital_finance.e_invoice": "invoice",
    "digital_finance.e_transfer": "transfer",
    "digital_finance.utility_bill_online": "bill",
}


# -- setup --------------------------------------------------------------------------------------


@dataclass
class Population:
    persons: list[str]
    employed: int
    enterprises: int


def register_population(db: BenchDatabase, count: int, rng: random.Random) -> Population:
    """Register the enterprises and ``count`` persons through carbonhub.actors."""
    since = date(2023, 1, 1)
    pick_district = district_picker(rng)
    ids = person_ids(count, rng)
    with write_session(db.engine) as session:
        enterprises = [
            register_enterprise(
                session,
                name=name,
                name_en=name_en,
                uscc=complete_uscc(f"91{region}", f"{10_000_000 + index:08d}"),
                region_code=region,
            ).id
            for index, (name, name_en, region) in enumerate(ENTERPRISES)
        ]
    employed = 0
    consents = db.hub.consents()
    now = utcnow()
    for start in range(0, len(ids), 1000):
        with write_session(db.engine) as session:
            for person_id in ids[start : start + 1000]:
                home = pick_district()
                register_person(session, home_region_code=home, since=since, person_id=person_id)
                employer = None
                if rng.random() < EMPLOYED_SHARE:
                    employer = rng.choice(enterprises)
                    employ(session, person_id=person_id, enterprise_id=employer, since=since)
                    employed += 1
                # most citizens share with their programme and employer: posting then keeps
                # the released aggregates of the recipients, as it does in a real city
                programme = db.hub.programmes.for_region(home)
                if programme is not None and rng.random() < SHARING_SHARE:
                    consents.grant(
                        session,
                        person_id,
                        _sharing(db, "regional_statistics", programme.region),
                        now=now,
                    )
                if employer is not None and rng.random() < SHARING_SHARE:
                    consents.grant(
                        session, person_id, _sharing(db, "esg_reporting", employer), now=now
                    )
    return Population(ids, employed, len(enterprises))


def _sharing(db: BenchDatabase, purpose: str, recipient: str) -> ConsentTerms:
    """Every category of the season's data, for a year."""
    return ConsentTerms(
        purpose=purpose,
        recipient_id=recipient,
        categories=tuple(c.code for c in db.hub.registry.catalogue.categories),
        data_from=date(2023, 1, 1),
        data_to=date(2023, 12, 31),
        expires_at=utcnow() + timedelta(days=365),
    )


def generate_events(persons: Sequence[str], count: int, rng: random.Random) -> list[BehaviourEvent]:
    """``count`` events of :data:`BEHAVIOUR_MIX` over the season, in chronological order.

    About 1% are the same behaviour claimed again by a second provider (same reference, or a
    trip starting a few minutes apart) and 0.5% are replays of an earlier event (same source
    and id), so that every outcome of the engine is exercised.
    """
    codes, cumulative = behaviour_weights()
    events: list[BehaviourEvent] = []
    serial = 0
    replays = int(count * REPLAY_SHARE)
    while len(events) < count - replays:
        serial += 1
        behaviour = rng.choices(codes, cum_weights=cumulative)[0]
        person = rng.choice(persons)
        day = SEASON_START + timedelta(days=rng.randrange(SEASON_DAYS))
        first = _event(rng, serial, person, behaviour, day)
        events.append(first)
        if rng.random() < CROSS_PROVIDER_SHARE and len(events) < count - replays:
            events.append(_second_claim(rng, first))
    for original in rng.sample(events, replays):
        events.append(original)  # a provider re-delivers: same source, id and content
    events.sort(key=lambda e: e.occurred_at)
    return events


def _event(
    rng: random.Random, serial: int, person: str, behaviour: str, day: date
) -> BehaviourEvent:
    source = PROVIDERS[behaviour][0]
    external_id = f"{source}-{serial:08d}"
    if behaviour == "transport.bike_share":
        km = Decimal(rng.randint(*TRIP_KM_MILLI[behaviour])) / 1000
        speed = rng.uniform(8, 18)
        seconds = rng.choice((7, 8, 12, 13, 17, 18, 19, 21)) * 3600 + rng.randrange(3600)
        return BehaviourEvent(
            source,
            external_id,
            person,
            behaviour,
            local_moment(day, seconds),
            {"km": km},
            duration_s=max(60, int(float(km) / speed * 3600)),
        )
    if behaviour in ("transport.metro", "transport.bus"):
        km = Decimal(rng.randint(*TRIP_KM_MILLI[behaviour])) / 1000
        seconds = rng.choice((7, 8, 9, 17, 18, 19, 20)) * 3600 + rng.randrange(3600)
        return BehaviourEvent(
            source, external_id, person, behaviour, local_moment(day, seconds), {"km": km}
        )
    seconds = rng.choice((11, 12, 13, 17, 18, 19, 21)) * 3600 + rng.randrange(3600)
    return BehaviourEvent(
        source,
        external_id,
        person,
        behaviour,
        local_moment(day, seconds),
        {COUNT_UNIT[behaviour]: Decimal(1)},
        reference=f"{REFERENCE_PREFIX[behaviour]}-{serial:09d}",
    )


def _second_claim(rng: random.Random, first: BehaviourEvent) -> BehaviourEvent:
    """The same behaviour as delivered by the other provider that saw it."""
    source = PROVIDERS[first.behaviour][1]
    shift = timedelta(minutes=rng.randint(1, 5)) if first.reference is None else timedelta(0)
    return BehaviourEvent(
        source,
        f"{source}-{first.external_id}",
        first.person_id,
        first.behaviour,
        first.occurred_at + shift,
        first.measures,
        reference=first.reference,
        duration_s=first.duration_s,
    )


# -- the engine ---------------------------------------------------------------------------------


@dataclass
class EngineRun:
    seconds: float
    batch_seconds: list[float]
    report: PostingReport
    entries: int
    sql_seconds: float
    statements: int
    statement_shapes: list[tuple[str, int, int, float]]
    phases: dict[str, float]

    def batch_rates(self) -> list[float]:
        full = self.batch_seconds[:-1] if len(self.batch_seconds) > 1 else self.batch_seconds
        return [BATCH_SIZE / s for s in full]


@contextmanager
def phase_timer() -> Iterator[dict[str, float]]:
    """Time the engine's phases per batch by wrapping its methods (a few calls per batch).

    Wrapped: ``_Batch._validate`` (parse, validate, digest), ``_attach_persons`` (load persons,
    programme), ``lock_heads``, ``_drop_posted`` (idempotency lookup), ``_load_claims``,
    ``_load_usage`` (cap usage), ``_write`` (entries, rollups via ``RollupDeltas.flush``, heads),
    ``finish`` (quarantine), ``_Batch.run`` and ``LedgerPoster.post_batch``. What ``run`` spends
    outside its wrapped parts is the per-event loop (``_post_one``: de-duplication, quantification,
    caps, points, hash chain, rollup deltas); what ``post`` spends outside ``post_batch`` is
    opening the connection, ``BEGIN`` and ``COMMIT``.
    """
    totals: dict[str, float] = defaultdict(float)
    patches: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name, None)
        if original is None:  # the engine was refactored: that phase is not timed
            totals[f"missing: {label}"] = 0.0
            return

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            begun = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                totals[label] += time.perf_counter() - begun

        patches.append((owner, name, original))
        setattr(owner, name, timed)

    wrap(posting_module._Batch, "_validate", "validate")
    wrap(posting_module._Batch, "_attach_persons", "attach persons")
    wrap(posting_module, "lock_heads", "lock heads")
    wrap(posting_module._Batch, "_drop_posted", "idempotency lookup")
    wrap(posting_module._Batch, "_load_claims", "load claims")
    wrap(posting_module._Batch, "_load_usage", "load cap usage")
    wrap(posting_module._Batch, "_write", "write")
    wrap(posting_module.RollupDeltas, "flush", "write rollups")
    wrap(posting_module._Batch, "finish", "finish (quarantine)")
    wrap(posting_module._Batch, "run", "run")
    wrap(posting_module.LedgerPoster, "post_batch", "post_batch")
    try:
        yield totals
    finally:
        for owner, name, original in reversed(patches):
            setattr(owner, name, original)


def engine_phases(totals: dict[str, float], whole: float) -> dict[str, float]:
    """Seconds per phase, the derived ones filled in, summing to ``whole``."""
    phases = {
        name: totals.get(name, 0.0)
        for name in (
            "validate",
            "attach persons",
            "lock heads",
            "idempotency lookup",
            "load claims",
            "load cap usage",
        )
    }
    inside_run = sum(phases.values()) + totals.get("write", 0.0)
    phases["per-event loop (_post_one)"] = totals.get("run", 0.0) - inside_run
    phases["write entries + heads"] = totals.get("write", 0.0) - totals.get("write rollups", 0.0)
    phases["write rollups (3 upserts)"] = totals.get("write rollups", 0.0)
    phases["finish (quarantine)"] = totals.get("finish (quarantine)", 0.0)
    phases["connect, BEGIN, COMMIT"] = whole - totals.get("post_batch", 0.0)
    phases["other"] = whole - sum(phases.values())
    missing = [name.split(": ", 1)[1] for name in totals if name.startswith("missing: ")]
    if missing:
        console.print(f"  [yellow]phases not found in the engine (not timed):[/yellow] {missing}")
    return phases


def post_events(db: BenchDatabase, events: list[BehaviourEvent]) -> EngineRun:
    """Post every event through ``LedgerPoster.post`` and time it (whole call and per batch)."""
    poster = db.hub.poster()
    marks: list[float] = []
    with phase_timer() as totals, statement_log(db.engine) as log, stopwatch() as elapsed:
        report = poster.post(
            db.engine, events, batch_size=BATCH_SIZE, on_batch=lambda _n: marks.append(elapsed())
        )
    seconds = elapsed()
    batch_seconds = [b - a for a, b in zip([0.0, *marks[:-1]], marks, strict=True)]
    with db.engine.connect() as connection:
        entries = connection.execute(select(func.count()).select_from(ENTRY_TABLE)).scalar_one()
    return EngineRun(
        seconds,
        batch_seconds,
        report,
        entries,
        log.seconds,
        log.count,
        log.by_shape(),
        engine_phases(totals, seconds),
    )


def check_report(run: EngineRun, expected: int) -> list[str]:
    """Problems with the engine's report (empty when the counts add up)."""
    problems = []
    report = run.report
    if report.posted + report.duplicates + report.quarantined != expected:
        problems.append(
            f"posted {report.posted} + duplicates {report.duplicates} + quarantined "
            f"{report.quarantined} != {expected} events"
        )
    if len(report.results) != expected:
        problems.append(f"{len(report.results)} results for {expected} events")
    if run.entries != report.posted:
        problems.append(f"{run.entries} ledger_entry rows but {report.posted} posted")
    return problems


def profile_engine(db: BenchDatabase, events: list[BehaviourEvent], top: int = 25) -> str:
    """cProfile of posting ``events`` (on a database that has not seen them): top functions."""
    profiler = cProfile.Profile()
    poster = db.hub.poster()
    profiler.enable()
    poster.post(db.engine, events, batch_size=BATCH_SIZE)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


# -- raw baselines ------------------------------------------------------------------------------


def raw_table(with_indexes: bool) -> Table:
    """``ledger_entry_raw``: ledger_entry's columns and types, primary key only (or its indexes)."""
    metadata = MetaData()
    columns = [
        Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable, autoincrement=False)
        for c in ENTRY_TABLE.columns
    ]
    extras: list[Any] = []
    if with_indexes:
        for constraint in ENTRY_TABLE.constraints:
            if isinstance(constraint, UniqueConstraint):
                extras.append(
                    UniqueConstraint(
                        *(c.name for c in constraint.columns), name=f"raw_{constraint.name}"
                    )
                )
        for index in ENTRY_TABLE.indexes:
            extras.append(Index(f"raw_{index.name}", *(c.name for c in index.columns)))
    return Table("ledger_entry_raw", metadata, *columns, *extras)


def read_entries(engine: Engine) -> tuple[list[dict[str, Any]], float]:
    """Every ledger_entry row as a dict of column values (in id order), and the read time."""
    with stopwatch() as elapsed, engine.connect() as connection:
        rows = [
            dict(row._mapping)
            for row in connection.execute(select(ENTRY_TABLE).order_by(ENTRY_TABLE.c.id))
        ]
    return rows, elapsed()


def _fresh(engine: Engine, target: Table) -> None:
    with engine.begin() as connection:
        target.drop(connection, checkfirst=True)
        target.create(connection)


def insert_executemany(engine: Engine, target: Table, rows: list[dict[str, Any]]) -> float:
    """Core ``insert()`` with all rows as executemany parameters, one transaction."""
    _fresh(engine, target)
    with stopwatch() as elapsed, engine.begin() as connection:
        connection.execute(insert(target), rows)
    return elapsed()


def insert_many_values(engine: Engine, target: Table, rows: list[dict[str, Any]]) -> float:
    """Core ``insert().returning(id)`` executemany: SQLAlchemy's insertmanyvalues, one transaction.

    With RETURNING, SQLAlchemy rewrites the executemany into multi-row ``INSERT ... VALUES
    (...), (...) RETURNING id`` statements of ``insertmanyvalues_page_size`` (1,000) rows.
    """
    _fresh(engine, target)
    with stopwatch() as elapsed, engine.begin() as connection:
        connection.execute(insert(target).returning(target.c.id), rows).all()
    return elapsed()


def insert_copy(engine: Engine, target: Table, rows: list[dict[str, Any]]) -> float:
    """psycopg ``COPY ledger_entry_raw (...) FROM STDIN`` (PostgreSQL only), one transaction."""
    _fresh(engine, target)
    names = [c.name for c in target.columns]
    statement = f"COPY {target.name} ({', '.join(names)}) FROM STDIN"
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None
        with stopwatch() as elapsed:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row([row[name] for name in names])
            driver.commit()
    finally:
        raw.close()
    return elapsed()


@dataclass
class RawRun:
    method: str
    kind: str  # "core", "copy" or "info"
    description: str
    seconds: list[float]
    rows: int


def raw_baselines(engine: Engine, rows: list[dict[str, Any]]) -> list[RawRun]:
    """Time each raw method into a freshly created ledger_entry_raw, RAW_REPEAT times.

    Each method is first probed on PROBE_ROWS rows; one that would take more than
    SLOW_RAW_SECONDS on all rows (it can never be the fastest) keeps its probe as its figure.
    """
    plain = raw_table(with_indexes=False)
    indexed = raw_table(with_indexes=True)
    Method = Callable[[list[dict[str, Any]]], float]
    methods: list[tuple[str, str, str, Method]] = [
        (
            "core executemany",
            "core",
            "insert(t) with all rows as executemany parameters; PK only",
            lambda part: insert_executemany(engine, plain, part),
        ),
        (
            "core insertmanyvalues",
            "core",
            "insert(t).returning(t.c.id) executemany -> INSERT .. VALUES x1000 rows; PK only",
            lambda part: insert_many_values(engine, plain, part),
        ),
    ]
    if engine.dialect.name == "postgresql":
        methods.append(
            (
                "psycopg COPY",
                "copy",
                "COPY .. FROM STDIN, write_row per row; PK only",
                lambda part: insert_copy(engine, plain, part),
            )
        )
    methods.append(
        (
            "core executemany +indexes",
            "info",
            "as core executemany, into a copy with ledger_entry's 3 unique + 3 secondary indexes",
            lambda part: insert_executemany(engine, indexed, part),
        )
    )
    runs = []
    probe = rows[:PROBE_ROWS]
    for name, kind, text, run in methods:
        probed = run(probe)
        if probed * len(rows) / len(probe) > SLOW_RAW_SECONDS:
            runs.append(
                RawRun(
                    name,
                    kind,
                    text + f"; timed on the first {len(probe):,} rows only",
                    [probed],
                    len(probe),
                )
            )
            continue
        runs.append(RawRun(name, kind, text, [run(rows) for _ in range(RAW_REPEAT)], len(rows)))
    with engine.begin() as connection:
        plain.drop(connection, checkfirst=True)
        indexed.drop(connection, checkfirst=True)
    return runs


# -- one backend --------------------------------------------------------------------------------


@dataclass
class Round:
    setup_seconds: float
    population: Population
    engine: EngineRun
    read_seconds: float
    raw: list[RawRun]
    problems: list[str]
    server: str
    where: str


def run_round(backend: str, args: argparse.Namespace, seed: int) -> Round:
    """One fresh database: register, generate, post through the engine, then the raw baselines."""
    rng = random.Random(seed)
    with fresh_database(backend, args.postgres_url) as db:
        with stopwatch() as setup:
            population = register_population(db, args.persons, rng)
        events = generate_events(population.persons, args.events, rng)
        console.print(
            f"  {backend}: {len(population.persons):,} persons registered in "
            f"{fmt_seconds(setup())}; posting {len(events):,} events ..."
        )
        engine_run = post_events(db, events)
        problems = check_report(engine_run, len(events))
        rows, read_seconds = read_entries(db.engine)
        console.print(
            f"  {backend}: engine {fmt_seconds(engine_run.seconds)}; raw baselines on "
            f"{len(rows):,} rows ..."
        )
        raw = raw_baselines(db.engine, rows)
        return Round(
            setup(),
            population,
            engine_run,
            read_seconds,
            raw,
            problems,
            server_version(db.engine),
            db.where,
        )


def summarise(backend: str, rounds: list[Round], events: int) -> dict[str, Any]:
    """Medians over the rounds and the ratios against each raw baseline."""
    engine_seconds = median([r.engine.seconds for r in rounds])
    engine_rate = events / engine_seconds
    batch_rates = [rate for r in rounds for rate in r.engine.batch_rates()]
    first = rounds[0]
    raw: dict[str, Any] = {}
    for index, run in enumerate(first.raw):
        seconds = [s for r in rounds for s in r.raw[index].seconds]
        rate = run.rows / median(seconds)
        raw[run.method] = {
            "rows": run.rows,
            "kind": run.kind,
            "description": run.description,
            "seconds": seconds,
            "median_seconds": median(seconds),
            "rows_per_s": rate,
            "ratio_engine_to_raw": engine_rate / rate,
        }
    # The target is judged against the fastest Core method and against COPY.
    core = [m for m, v in raw.items() if v["kind"] == "core"]
    best_core = max(core, key=lambda m: raw[m]["rows_per_s"])
    for method, figures in raw.items():
        figures["judged"] = method == best_core or figures["kind"] == "copy"
    report = first.engine.report
    written: dict[str, int] = {}
    for shape, _n, rows, _t in first.engine.statement_shapes:
        match = re.match(r"(INSERT INTO|UPDATE) (\w+)", shape)
        if match:
            verb = "insert" if match[1] == "INSERT INTO" else "update"
            written[f"{match[2]} ({verb})"] = written.get(f"{match[2]} ({verb})", 0) + rows
    phases = {name: median([r.engine.phases[name] for r in rounds]) for name in first.engine.phases}
    return {
        "backend": backend,
        "server": first.server,
        "database": first.where,
        "persons": len(first.population.persons),
        "employed": first.population.employed,
        "enterprises": first.population.enterprises,
        "events": events,
        "batch_size": BATCH_SIZE,
        "setup_seconds": [r.setup_seconds for r in rounds],
        "engine": {
            "seconds": [r.engine.seconds for r in rounds],
            "median_seconds": engine_seconds,
            "events_per_s": engine_rate,
            "entries_per_s": report.posted / engine_seconds,
            "batch_events_per_s_median": median(batch_rates),
            "batch_events_per_s_first": first.engine.batch_rates()[0],
            "batch_events_per_s_last": first.engine.batch_rates()[-1],
            "driver_seconds": first.engine.sql_seconds,
            "statements": first.engine.statements,
            "rows_written": written,
            "rows_written_per_event": sum(written.values()) / events,
            "statement_shapes": [
                {"shape": s, "statements": n, "rows": rows, "seconds": t}
                for s, n, rows, t in first.engine.statement_shapes
            ],
            "phases_seconds": phases,
            "posted": report.posted,
            "duplicates": report.duplicates,
            "quarantined": report.quarantined,
            "counts": dict(report.counts),
            "ledger_entry_rows": first.engine.entries,
            "problems": [p for r in rounds for p in r.problems],
        },
        "raw_rows": first.raw[0].rows,
        "raw_read_seconds": first.read_seconds,
        "raw": raw,
        "target_ratio": TARGET_RATIO,
        "target_met": all(
            v["ratio_engine_to_raw"] >= TARGET_RATIO for v in raw.values() if v["judged"]
        ),
    }


def print_summary(summary: dict[str, Any]) -> None:
    """The per-backend tables: outcome check, engine vs raw, phases, statements."""
    engine = summary["engine"]
    console.print()
    console.print(
        f"[bold]{summary['backend']}[/bold] ({summary['server']}, {summary['database']}): "
        f"{summary['persons']:,} persons ({summary['employed']:,} employed by "
        f"{summary['enterprises']} enterprises), {summary['events']:,} events, batch size "
        f"{summary['batch_size']:,}; setup (registration) "
        f"{fmt_seconds(median(summary['setup_seconds']))}"
    )
    outcome = ", ".join(f"{k} {v:,}" for k, v in sorted(engine["counts"].items()))
    total = engine["posted"] + engine["duplicates"] + engine["quarantined"]
    check = "ok" if not engine["problems"] else "FAILED: " + "; ".join(engine["problems"])
    console.print(
        f"  report: {outcome}; posted + duplicates + quarantined = {total:,} "
        f"(events {summary['events']:,}); ledger_entry rows {engine['ledger_entry_rows']:,}; "
        f"check {check}"
    )
    console.print(
        f"  engine: per-batch rate median {fmt_rate(engine['batch_events_per_s_median'])} "
        f"events/s (first batch {fmt_rate(engine['batch_events_per_s_first'])}, last full "
        f"batch {fmt_rate(engine['batch_events_per_s_last'])}); {engine['statements']:,} "
        f"statements; rows written per event {engine['rows_written_per_event']:.2f} "
        f"({', '.join(f'{k} {v:,}' for k, v in engine['rows_written'].items())})"
    )
    rows = [
        [
            "engine: LedgerPoster.post",
            f"{summary['events']:,} events",
            fmt_seconds(engine["median_seconds"]),
            fmt_rate(engine["events_per_s"]) + " events/s",
            "",
            "",
        ]
    ]
    for method, figures in summary["raw"].items():
        ratio = figures["ratio_engine_to_raw"]
        rows.append(
            [
                f"raw: {method}",
                f"{figures['rows']:,} rows"
                + ("" if figures["rows"] == summary["raw_rows"] else " (sample)"),
                fmt_seconds(figures["median_seconds"]),
                fmt_rate(figures["rows_per_s"]) + " rows/s",
                f"{ratio:.3f}",
                verdict(ratio >= TARGET_RATIO) if figures["judged"] else "(not judged)",
            ]
        )
    console.print(
        table(
            f"Posting on {summary['backend']}: engine vs raw insert of the same rows "
            f"(target engine/raw >= {TARGET_RATIO:.2f}; judged against the fastest Core "
            "method and COPY)",
            ["method", "size", "median time", "rate", "engine/raw", "target"],
            rows,
        )
    )
    whole = engine["median_seconds"]
    console.print(
        table(
            f"Where the engine's time goes on {summary['backend']} (phase timers, median)",
            ["phase", "seconds", "share", "µs per event"],
            [
                [name, f"{sec:.2f}", f"{sec / whole:.0%}", f"{sec / summary['events'] * 1e6:.0f}"]
                for name, sec in engine["phases_seconds"].items()
            ],
        )
    )
    console.print(
        table(
            f"Statements the engine sent on {summary['backend']} (top 6 by driver time; "
            f"driver total {engine['driver_seconds']:.2f} s = "
            f"{engine['driver_seconds'] / whole:.0%} of the engine time)",
            ["statement", "count", "rows", "driver s"],
            [
                [
                    item["shape"][:90],
                    f"{item['statements']:,}",
                    f"{item['rows']:,}",
                    f"{item['seconds']:.2f}",
                ]
                for item in engine["statement_shapes"][:6]
            ],
        )
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = base_parser((__doc__ or "").splitlines()[0], default_repeat=1)
    parser.add_argument("--events", type=int, default=100_000, help="behaviour events to post")
    parser.add_argument("--persons", type=int, default=5_000, help="registered citizens")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also post the events once more under cProfile (fresh database) and print the top functions",
    )
    args = parser.parse_args(argv)
    started = environment()  # the code measured: as it is when the run starts
    console.print(
        f"[bold]Posting benchmark[/bold]: {args.events:,} events, {args.persons:,} persons over "
        f"{len(BEIJING_DISTRICTS)} Beijing districts, {args.repeat} round(s) (fresh database "
        f"each), raw baselines x{RAW_REPEAT} per round; behaviour mix (% of events) "
        + ", ".join(f"{k} {v}" for k, v in BEHAVIOUR_MIX.items())
    )
    summaries = []
    profiles: dict[str, str] = {}
    for backend in chosen_backends(args):
        rounds = [run_round(backend, args, args.seed + i) for i in range(args.repeat)]
        summary = summarise(backend, rounds, args.events)
        summaries.append(summary)
        print_summary(summary)
        if args.profile:
            rng = random.Random(args.seed)
            with fresh_database(backend, args.postgres_url) as db:
                population = register_population(db, args.persons, rng)
                events = generate_events(population.persons, args.events, rng)
                profiles[backend] = profile_engine(db, events)
            console.print(
                f"\n[bold]cProfile of the engine on {backend}[/bold] (slower than unprofiled)"
            )
            console.print(profiles[backend], markup=False)
    console.print()
    console.print(
        table(
            f"Posting summary: engine events/s over raw rows/s (target >= {TARGET_RATIO:.2f} on each backend)",
            [
                "backend",
                "events",
                "persons",
                "engine events/s",
                "raw method",
                "raw rows/s",
                "engine/raw",
                "target",
            ],
            [
                [
                    s["backend"],
                    f"{s['events']:,}",
                    f"{s['persons']:,}",
                    fmt_rate(s["engine"]["events_per_s"]),
                    method,
                    fmt_rate(figures["rows_per_s"]),
                    f"{figures['ratio_engine_to_raw']:.3f}",
                    verdict(figures["ratio_engine_to_raw"] >= TARGET_RATIO)
                    if figures["judged"]
                    else "(not judged)",
                ]
                for s in summaries
                for method, figures in s["raw"].items()
            ],
        )
    )
    path = write_results(
        args.results_dir,
        "posting",
        {
            "benchmark": "posting",
            "environment": started,
            "arguments": {k: str(v) for k, v in vars(args).items()},
            "results": summaries,
            "profiles": profiles,
        },
    )
    console.print(f"results written to {path}")
    failed = [s for s in summaries if s["engine"]["problems"]]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
