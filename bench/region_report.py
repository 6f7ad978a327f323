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
  The generator, loader and check are shared with ``bench.reports`` (``bench/season.py``).
  Loading: SQLite with the driver's ``executemany`` over a generator (the person and consent
  rows with Core ``executemany``, so their timestamps are stored as the application stores
  them) with the rollups' secondary indexes dropped meanwhile; PostgreSQL with ``COPY``, with
  every index, primary key, unique and foreign key of the loaded tables dropped meanwhile and
  rebuilt (and validated) after; rows in person order; then ``ANALYZE`` (``VACUUM ANALYZE``
  on PostgreSQL). The build is checked: both rollups agree per methodology, every methodology
  covering a behaviour counts exactly the entries generated for it, and the database holds the
  consents generated (consenting persons, category rows, events, revoked consents, and persons
  with a consent in force at read time, counted in SQL with the policy's conditions).
* **GraphQL.** ``await schema.execute(QUERY, context_value=Context(hub, Principal.developer()))``
  in process (asyncio), for Beijing (110000) over the programme's season under its primary
  methodology: total, participants, by category, by behaviour and by child district, from the
  programme's released aggregates (after catching them up: consents in force at read time,
  persons posted since), with suppression decided in canonical sibling groups, and the release
  recorded in the access log. The result must have no errors. The statements it
  issues are recorded with ``before/after_cursor_execute`` listeners in the (untimed) warm-up
  run, and counted in every timed run.
* **Raw SQL.** The same figures with hand-written ``text()`` statements on one connection of
  the same engine, in sequence, over the programme's released aggregates (what the report
  reads, kept by posting and consent changes; the generated season builds them after the
  rollups): total and sums grouped by category (the CASE over behaviour codes), by behaviour
  and by child district from ``released_daily`` (recipient programme 110000, the methodology,
  the season, the districts), and the participants of each from ``released_count`` (partition
  ``s``: the season; node 110000, or each district; scope ``all``, ``c:<category>`` or
  ``b:<behaviour>``); then the distinct active behaviours and the child regions' names. Every
  figure GraphQL released is asserted equal to the raw figure; ``bench.reports`` also checks
  them against the rollups under the consent clause.

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
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, bindparam, text

from bench.common import (
    BEIJING,
    BEIJING_DISTRICTS,
    SEASON_END,
    SEASON_START,
    BenchDatabase,
    base_parser,
    chosen_backends,
    console,
    counting,
    environment,
    fmt_seconds,
    fresh_database,
    median,
    server_version,
    statement_log,
    statement_shape,
    stopwatch,
    table,
    verdict,
    write_results,
)
from bench.season import Season, check_build, load, make_consents
from carbonhub.auth import Principal
from carbonhub.hub import Hub
from carbonhub.models import utcnow
from carbonhub.resolvers.context import Context
from carbonhub.schema import schema

TARGET_RATIO = 3.0
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


def raw_sql(hub: Hub) -> RawSql:
    """Hand-written equivalents of the report's reads, for Beijing, the season and the primary
    methodology, over the programme's released aggregates (``released_daily`` for the sums,
    ``released_count`` for the distinct participants of the season, partition ``s``)."""
    programme = hub.programmes.for_region(BEIJING)
    assert programme is not None
    assert programme.starts
    assert programme.ends
    districts = list(hub.regions.leaves_under(BEIJING))
    assert all(hub.regions.children(child) == () for child in hub.regions.children(BEIJING))
    mine = (
        "d.recipient_kind = 'programme' AND d.recipient_id = :programme "
        "AND d.local_date BETWEEN :start AND :end AND d.unit IN :districts"
    )
    where = f"{mine} AND d.methodology_key = :m"
    counted = (
        "c.recipient_kind = 'programme' AND c.recipient_id = :programme "
        "AND c.methodology_key = :m AND c.partition = 's'"
    )
    daily = "released_daily d"
    category = (
        "CASE d.behaviour_code "
        + " ".join(
            f"WHEN '{b.code}' THEN '{b.category}'" for b in hub.registry.catalogue.behaviours
        )
        + " ELSE 'unknown' END"
    )
    sums = "SUM(d.reduction_mg), SUM(d.entries), SUM(d.quantity_milli)"

    def statement(sql: str) -> Any:
        if ":districts" not in sql:
            return text(sql)
        return text(sql).bindparams(bindparam("districts", expanding=True))

    statements = {
        "total": statement(f"SELECT {sums} FROM {daily} WHERE {where}"),
        "participants": statement(
            f"SELECT c.persons FROM released_count c WHERE {counted} "
            "AND c.node = :parent AND c.scope = 'all'"
        ),
        "category sums": statement(
            f"SELECT {category} AS k, {sums} FROM {daily} WHERE {where} GROUP BY k"
        ),
        "category participants": statement(
            f"SELECT substr(c.scope, 3), c.persons FROM released_count c WHERE {counted} "
            "AND c.node = :parent AND c.scope LIKE 'c:%'"
        ),
        "behaviour sums": statement(
            f"SELECT d.behaviour_code, {sums} FROM {daily} WHERE {where} GROUP BY d.behaviour_code"
        ),
        "behaviour participants": statement(
            f"SELECT substr(c.scope, 3), c.persons FROM released_count c WHERE {counted} "
            "AND c.node = :parent AND c.scope LIKE 'b:%'"
        ),
        "child sums": statement(
            f"SELECT d.unit, {sums} FROM {daily} WHERE {where} GROUP BY d.unit"
        ),
        "child participants": statement(
            f"SELECT c.node, c.persons FROM released_count c WHERE {counted} "
            "AND c.node IN :districts AND c.scope = 'all'"
        ),
        "active behaviours": statement(
            f"SELECT DISTINCT d.behaviour_code FROM {daily} WHERE {mine}"
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
    }
    return RawSql(statements, parameters)


def run_raw(engine: Engine, raw: RawSql) -> tuple[dict[str, Any], dict[str, float]]:
    """Run the raw statements in sequence on one connection, fetching every row.

    Returns the rows and the seconds of each statement (execute + fetch).
    """
    results: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    parameters = raw.parameters
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
            steps = load(db, season, [consents])
        counts, build_problems = check_build(db.engine, season, [consents])
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
