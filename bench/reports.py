"""Reports at city scale: the regional and the ESG report over HTTP, against the raw SQL of the same figures.

What it measures, on PostgreSQL by default (a fresh private schema in ``--postgres-url``'s
database, dropped afterwards unless ``--keep``), or SQLite (``--backend sqlite``, a temporary
file):

* **Data** (``bench/season.py``, shared with ``bench.region_report``). ``--persons`` citizens
  (default 1,000,000) over the 16 Beijing districts and ``--entries`` ledger entries (default
  20,000,000) over the 2023 season (2023-06-15..2023-10-31). The entries are NOT written as
  ``ledger_entry`` rows (that table stays empty; no report reads it): the generator writes the
  aggregated rollup rows they would produce, directly and consistently: ``person_daily_rollup``
  (person x day x behaviour x methodology, amounts per entry with each covering methodology's
  factor, rounded down to the milligram as the engine does), ``region_daily_rollup`` (their
  sums per district) and ``enterprise_daily_rollup`` (the employees' person rows on the days
  employed, with project emissions). Employers: one large enterprise of ``--employees``
  (default persons / 50: 20,000) employees and ``--enterprises`` (default 19) smaller ones
  (log-uniform sizes between large/200 and large/2), all in Haidian (110108); 90% of employees
  employed throughout, 5% joining and 5% leaving during the season. Consents: 85% of the
  persons hold a regional-statistics consent to the Beijing programme (all categories, the
  season's days), 80% of each enterprise's employees an ESG-reporting consent to their
  employer (30% of those for the transport category only, 10% with a data window from
  2023-07-16); 5% of each kind revoked since. Loaded with ``COPY`` (SQLite: ``executemany``)
  with every index and constraint of the loaded tables dropped and rebuilt after; the person
  and enterprise rollups go through a staging table and are inserted in (local_date, key)
  order, as rows posted in time order lie in a real database; then ``VACUUM ANALYZE``. The
  build is checked: both person-level rollups agree with the region rollup and the enterprise
  rollup with the employees' person rows (per methodology: entries, quantity, milligrams),
  every methodology counts exactly the entries generated, and the consents in the database
  are those generated (consenting, revoked and in-force persons per purpose).
* **Server.** ``carbonhub.app.create_app`` served by uvicorn on 127.0.0.1 (one process; its
  event loop runs in a thread of this process, so the statements its engine executes can be
  counted) with production settings (``CARBONHUB_ENV=production``: a request without a token
  is anonymous), its own engine and connection pool. Two OAuth clients are registered: an
  agency client bound to Beijing (110000) and the large enterprise's client; each gets a real
  ES256 access token from ``POST /oauth/token`` (client credentials), renewed before it
  expires. Every request verifies the token and reads its grant; the access policy compiles
  the consent clause into the report SQL; suppression decides every cell; the release is
  written to the access log. Checked once: the region report without a token and with the
  enterprise's token, and the ESG report with the agency's token, are refused.
* **GraphQL** (``POST /graphql``, one keep-alive httpx client, TCP_NODELAY; latency = request
  to parsed JSON): the region report of Beijing (110000; children: its 16 districts) for
  ``--period`` (default ``2023-07``) under the programme's primary methodology: total,
  participants, entries, suppressed, byCategory, byBehaviour (with covered, unit, quantity),
  children, series(interval: DAY); and the ESG report of the large enterprise for the same
  period: participants, total, entries, byCategory, byBehaviour, byMonth, scope3. The report
  code decides suppression in canonical sibling groups, so it also reads the parent period
  (the quarter, split by month) and the parent period of the days; those reads are part of
  what is measured.
* **Raw SQL** (``text()`` statements run in sequence on one connection of a separate engine):
  the figures the report releases, written out directly. Every statement reads the rows the
  access policy admits, with the consent clause written by hand (EXISTS a ``consent_grant`` of
  the row's person joined to ``consent_grant_category``: kind share, the recipient, the
  purpose, granted_at <= :now < expires_at, NOT EXISTS an ending ``consent_event``, data window
  holding the row's day, category = CASE over the behaviour codes). Region (over
  ``person_daily_rollup`` of the methodology, the period and the 16 districts): ``total``
  (SUM of mg, entries, quantity and COUNT DISTINCT person), the same grouped ``by category``,
  ``by behaviour``, ``by child region`` and ``by day``; ``active behaviours`` (DISTINCT
  behaviour over ``region_daily_rollup`` of the districts and period, any methodology, as the
  report lists uncovered behaviours) and ``child regions`` (code, name). ESG (over
  ``enterprise_daily_rollup`` of the enterprise, methodology and period): ``total``, ``by
  category``, ``by behaviour``, ``by month``, ``active behaviours`` (any methodology, same
  consent clause), ``scope 3`` (one statement over the transport behaviours: trips, trips with
  a project-emission factor, category 7 = project emissions of commuting modes minus their
  business-travel part, category 6 = project emissions of trips marked business travel).
  Not included: the sibling-group reads suppression needs, the token and
  client lookups, the access-log write. Every figure GraphQL releases is asserted equal to the
  raw figure (and the rows listed equal the rows the raw SQL finds).

Each report runs once unlogged (warm-up) and once with every statement recorded (figures
compared; statement shapes and driver time kept), then ``--repeat`` times (default 5), GraphQL
and raw SQL interleaved; medians are compared. Targets, per report: GraphQL median <= 3x the
raw SQL median, and under 100 ms. Each timed run also asks ``{ __typename }`` with the same
token: the *floor*, what any request costs before a report does anything (HTTP, token check,
access policy, GraphQL), printed beside the ratio. On PostgreSQL the slowest statement of each side is then
run under ``EXPLAIN (ANALYZE, BUFFERS)``.

Run::

    nice .venv/bin/python -m bench.reports                        # 1M persons, 20M entries
    nice .venv/bin/python -m bench.reports --persons 20000 --entries 400000 --repeat 3
    nice .venv/bin/python -m bench.reports --backend sqlite --persons 20000 --entries 400000

Results are printed as tables and written to ``bench/results/reports-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import Engine, bindparam, event, text

from bench.common import (
    BEIJING,
    SEASON_END,
    SEASON_START,
    Bearer,
    BenchDatabase,
    base_parser,
    chosen_backends,
    console,
    counting,
    environment,
    fmt_seconds,
    free_port,
    fresh_database,
    keep_alive_client,
    median,
    served_settings,
    server_version,
    serving,
    statement_shape,
    stopwatch,
    table,
    verdict,
    write_results,
)
from bench.released_sql import esg_released_sql, region_released_sql
from bench.season import (
    ESG_PURPOSE,
    PURPOSE,
    Season,
    check_build,
    consent_clause,
    load,
    make_consents,
    make_esg_consents,
    make_workforce,
)
from carbonhub.app import create_app, freeze_startup_heap
from carbonhub.auth.clients import create_client
from carbonhub.auth.scopes import ClientKind
from carbonhub.db import write_session
from carbonhub.hub import Hub, open_hub
from carbonhub.models import utcnow
from carbonhub.models.types import UTCDateTime
from carbonhub.periods import parse_period
from carbonhub.reports.partitions import canonical

TARGET_RATIO = 3.0
TARGET_SECONDS = 0.100
ENTERPRISE_REGION = "110108"  # Haidian


def region_query(code: str, period: str) -> str:
    return f"""{{
  region(code: "{code}") {{
    report(period: "{period}") {{
      period {{ label start end }}
      methodology {{ id version }}
      totalReductionKg participants entries suppressed
      byCategory {{ category {{ code }} reductionKg participants entries suppressed }}
      byBehaviour {{
        behaviour {{ code }} covered unit quantity reductionKg participants entries suppressed
      }}
      children {{ region {{ code name }} totalReductionKg participants entries suppressed }}
      series(interval: DAY) {{ label start end reductionKg participants suppressed }}
    }}
  }}
}}"""


def esg_query(enterprise_id: str, period: str) -> str:
    return f"""{{
  enterprise(id: "{enterprise_id}") {{
    esgReport(period: "{period}") {{
      period {{ label start end }}
      methodology {{ id version }}
      participants totalReductionKg entries suppressed
      byCategory {{ category {{ code }} reductionKg participants entries suppressed }}
      byBehaviour {{
        behaviour {{ code }} covered unit quantity reductionKg participants entries suppressed
      }}
      byMonth {{ label start end reductionKg participants suppressed }}
      scope3 {{ category6EmissionsKg category7EmissionsKg coverage method }}
    }}
  }}
}}"""


# -- building -----------------------------------------------------------------------------------


@dataclass
class Built:
    """The generated season, loaded and checked."""

    season: Season
    enterprise_id: str
    employees: int
    enterprises: int
    employments: int
    consenting: dict[str, int]
    in_force: dict[str, int]
    revoked: dict[str, int]
    esg_in_force_of_large: int
    rows: dict[str, int]
    steps: dict[str, float]
    seconds: float
    problems: list[str]


REUSED_COUNTS = (
    "person_daily_rollup",
    "region_daily_rollup",
    "enterprise_daily_rollup",
    "ledger_entry",
)


def build(db: BenchDatabase, args: argparse.Namespace) -> Built:
    hub = db.hub
    programme = hub.programmes.for_region(BEIJING)
    assert programme is not None
    categories = [c.code for c in hub.registry.catalogue.categories]
    with stopwatch() as elapsed:
        season = Season(args.persons, args.entries, args.seed, hub.registry)
        workforce = make_workforce(
            season, args.employees, args.enterprises, ENTERPRISE_REGION, args.seed + 4
        )
        now = utcnow()
        regional = make_consents(season, programme.region, categories, now)
        esg = make_esg_consents(season, workforce, categories, now, [regional])
        steps = {"generate persons, employers, consents": elapsed()}
        if args.reuse is None:
            steps |= load(
                db,
                season,
                [regional, esg],
                workforce,
                day_order=True,
                progress=lambda step, seconds: console.print(
                    f"    {step}: {fmt_seconds(seconds)}", markup=False
                ),
            )
    if args.reuse is None:
        counts, problems = check_build(db.engine, season, [regional, esg], workforce)
    else:  # the generator counts the entries while it loads: a reused schema was checked then
        problems = []
        with db.engine.connect() as connection:
            counts = {
                t: int(connection.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one())
                for t in REUSED_COUNTS
            }
    large = workforce.enterprises[0][0]
    members = set(workforce.members(large))
    return Built(
        season=season,
        enterprise_id=large,
        employees=workforce.enterprises[0][3],
        enterprises=len(workforce.enterprises),
        employments=len(workforce.employments),
        consenting={c.purpose: c.consenting for c in (regional, esg)},
        in_force={c.purpose: len(c.in_force) for c in (regional, esg)},
        revoked={c.purpose: c.revoked for c in (regional, esg)},
        esg_in_force_of_large=len(esg.in_force & members),
        rows=counts,
        steps=steps,
        seconds=elapsed(),
        problems=problems,
    )


# -- raw SQL ------------------------------------------------------------------------------------


@dataclass
class RawSql:
    """Hand-written statements of the figures a report releases, and their parameters."""

    statements: dict[str, Any]
    parameters: dict[str, Any]


def _statement(sql: str, *expanding: str) -> Any:
    binds: list[Any] = [bindparam(name, expanding=True) for name in expanding]
    if ":now" in sql:
        binds.append(bindparam("now", type_=UTCDateTime()))
    return text(sql).bindparams(*binds)


def _category_case(hub: Hub, column: str) -> str:
    return (
        f"CASE {column} "
        + " ".join(
            f"WHEN '{b.code}' THEN '{b.category}'" for b in hub.registry.catalogue.behaviours
        )
        + " ELSE 'unknown' END"
    )


SUMS = (
    "COALESCE(SUM({t}.reduction_mg), 0), COALESCE(SUM({t}.entries), 0), "
    "COALESCE(SUM({t}.quantity_milli), 0), COUNT(DISTINCT {t}.person_id)"
)


def region_raw_sql(hub: Hub, period: str) -> RawSql:
    """The region report's released figures for Beijing, written out (see the module doc)."""
    programme = hub.programmes.for_region(BEIJING)
    assert programme is not None
    span = parse_period(period)
    districts = list(hub.regions.leaves_under(BEIJING))
    assert list(hub.regions.children(BEIJING)) == districts, "children of 110000 are districts"
    where = (
        "r.methodology_key = :m AND r.local_date BETWEEN :start AND :end "
        "AND r.region_code IN :districts AND "
        + consent_clause("r", hub.registry.catalogue.category_of())
    )
    sums = SUMS.format(t="r")
    rollup = "person_daily_rollup r"
    category = _category_case(hub, "r.behaviour_code")
    statements = {
        "total": _statement(f"SELECT {sums} FROM {rollup} WHERE {where}", "districts"),
        "by category": _statement(
            f"SELECT {category} AS k, {sums} FROM {rollup} WHERE {where} GROUP BY k", "districts"
        ),
        "by behaviour": _statement(
            f"SELECT r.behaviour_code, {sums} FROM {rollup} WHERE {where} GROUP BY r.behaviour_code",
            "districts",
        ),
        "by child region": _statement(
            f"SELECT r.region_code, {sums} FROM {rollup} WHERE {where} GROUP BY r.region_code",
            "districts",
        ),
        "by day": _statement(
            f"SELECT r.local_date, {sums} FROM {rollup} WHERE {where} GROUP BY r.local_date",
            "districts",
        ),
        "active behaviours": _statement(
            "SELECT DISTINCT behaviour_code FROM region_daily_rollup "
            "WHERE region_code IN :districts AND local_date BETWEEN :start AND :end",
            "districts",
        ),
        "child regions": text(
            "SELECT code, name_zh FROM region WHERE parent_code = :parent ORDER BY code"
        ),
    }
    parameters = {
        "m": programme.primary_methodology,
        "start": span.start,
        "end": span.end,
        "districts": districts,
        "parent": BEIJING,
        "programme": programme.region,
    }
    return RawSql(statements, parameters)


def esg_raw_sql(hub: Hub, enterprise_id: str, period: str) -> RawSql:
    """The ESG report's released figures for the enterprise, written out (see the module doc)."""
    programme = hub.programmes.for_region(ENTERPRISE_REGION)
    assert programme is not None
    methodology = hub.registry.resolve(programme.primary_methodology)
    span = parse_period(period)
    consent = consent_clause(
        "e",
        hub.registry.catalogue.category_of(),
        recipient_kind="enterprise",
        purpose=ESG_PURPOSE,
        recipient=":enterprise",
    )
    scope = f"e.enterprise_id = :enterprise AND e.local_date BETWEEN :start AND :end AND {consent}"
    where = f"e.methodology_key = :m AND {scope}"
    sums = SUMS.format(t="e")
    rollup = "enterprise_daily_rollup e"
    month = (
        "to_char(e.local_date, 'YYYY-MM')"
        if hub.engine.dialect.name == "postgresql"
        else "strftime('%Y-%m', e.local_date)"
    )
    behaviours = hub.registry.catalogue.behaviours
    travel = [b.code for b in behaviours if b.category == "transport"]
    commute = {b.code for b in behaviours if b.commute_mode}
    with_factor = [
        code
        for code in travel
        if (f := methodology.factor_for(code)) is not None and f.project_grams_per_unit is not None
    ]

    def among(codes: Sequence[str]) -> str:
        return f"e.behaviour_code IN ({', '.join(repr(c) for c in codes)})" if codes else "1 = 0"

    covered = among(with_factor)
    commuting = among([c for c in with_factor if c in commute])
    statements = {
        "total": _statement(f"SELECT {sums} FROM {rollup} WHERE {where}"),
        "by category": _statement(
            f"SELECT {_category_case(hub, 'e.behaviour_code')} AS k, {sums} FROM {rollup} "
            f"WHERE {where} GROUP BY k"
        ),
        "by behaviour": _statement(
            f"SELECT e.behaviour_code, {sums} FROM {rollup} WHERE {where} GROUP BY e.behaviour_code"
        ),
        "by month": _statement(
            f"SELECT {month} AS k, {sums} FROM {rollup} WHERE {where} GROUP BY k"
        ),
        "active behaviours": _statement(
            f"SELECT DISTINCT e.behaviour_code FROM {rollup} WHERE {scope}"
        ),
        "scope 3": _statement(
            "SELECT COALESCE(SUM(e.entries), 0), "
            f"COALESCE(SUM(CASE WHEN {covered} THEN e.entries ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN {commuting} "
            "THEN e.project_emission_mg - e.business_project_emission_mg ELSE 0 END), 0), "
            f"COALESCE(SUM(CASE WHEN {covered} THEN e.business_project_emission_mg ELSE 0 END), 0) "
            f"FROM {rollup} WHERE {where} AND e.behaviour_code IN :travel",
            "travel",
        ),
    }
    parameters = {
        "m": methodology.key,
        "start": span.start,
        "end": span.end,
        "enterprise": enterprise_id,
        "travel": travel,
        "with_factor": with_factor,  # not a bind parameter: what the comparison needs
    }
    return RawSql(statements, parameters)


def region_released(hub: Hub, period: str) -> RawSql:
    """The region report's figures for Beijing from the released aggregates (timed baseline)."""
    programme = hub.programmes.for_region(BEIJING)
    assert programme is not None
    statements, parameters = region_released_sql(
        hub,
        BEIJING,
        programme.region,
        hub.registry.resolve(programme.primary_methodology),
        canonical(parse_period(period)),
    )
    return RawSql(statements, parameters)


def esg_released(hub: Hub, enterprise_id: str, period: str) -> RawSql:
    """The ESG report's figures from the released aggregates (timed baseline)."""
    programme = hub.programmes.for_region(ENTERPRISE_REGION)
    assert programme is not None
    methodology = hub.registry.resolve(programme.primary_methodology)
    behaviours = hub.registry.catalogue.behaviours
    travel = [b.code for b in behaviours if b.category == "transport"]
    with_factor = [
        code
        for code in travel
        if (f := methodology.factor_for(code)) is not None and f.project_grams_per_unit is not None
    ]
    statements, parameters = esg_released_sql(
        hub,
        enterprise_id,
        ENTERPRISE_REGION,
        methodology,
        canonical(parse_period(period)),
        travel,
        with_factor,
        {b.code for b in behaviours if b.commute_mode},
    )
    return RawSql(statements, parameters)


def run_raw(engine: Engine, raw: RawSql) -> tuple[dict[str, list[Any]], dict[str, float]]:
    """Run the statements in sequence on one connection, fetching every row; returns the rows
    and the seconds of each statement (execute + fetch). ``:now`` is the time of the run."""
    results: dict[str, list[Any]] = {}
    seconds: dict[str, float] = {}
    parameters = {k: v for k, v in raw.parameters.items() if k != "with_factor"}
    parameters["now"] = utcnow()
    with engine.connect() as connection:
        for name, statement in raw.statements.items():
            with stopwatch() as elapsed:
                results[name] = list(connection.execute(statement, parameters).all())
            seconds[name] = elapsed()
    return results, seconds


# -- comparing ----------------------------------------------------------------------------------


def kg(mg: Any) -> Decimal:
    return Decimal(int(mg or 0)) / Decimal(1_000_000)


@dataclass
class Comparison:
    """Figures compared, problems found, cells withheld (privacy) and rows not covered."""

    compared: int = 0
    problems: list[str] = field(default_factory=list)
    withheld: int = 0
    not_covered: int = 0

    def check(self, what: str, graphql: Any, expected: Any) -> None:
        self.compared += 1
        if isinstance(expected, Decimal):
            equal = graphql is not None and Decimal(str(graphql)) == expected
        else:
            equal = graphql == expected
        if not equal:
            self.problems.append(f"{what}: GraphQL {graphql!r} != raw {expected!r}")

    def cell(
        self, what: str, row: dict[str, Any], raw: Sequence[Any] | None, kg_field: str
    ) -> None:
        """A released row against raw (mg, entries, quantity, persons); a withheld one counted."""
        if row["suppressed"]:
            self.withheld += 1
            return
        mg, entries, _quantity, persons = raw if raw is not None else (0, 0, 0, 0)
        self.check(f"{what} kg", row[kg_field], kg(mg))
        self.check(f"{what} participants", row["participants"], int(persons))
        if "entries" in row:
            self.check(f"{what} entries", row["entries"], int(entries))

    def listed(self, what: str, graphql: Sequence[str], expected: Sequence[str]) -> None:
        self.compared += 1
        if list(graphql) != list(expected):
            self.problems.append(f"{what} listed {list(graphql)} != raw {list(expected)}")


def _keyed(rows: list[Any]) -> dict[str, tuple[Any, ...]]:
    return {(k.isoformat() if isinstance(k, date) else str(k)): tuple(rest) for k, *rest in rows}


def _breakdowns(c: Comparison, report: dict[str, Any], raw: dict[str, list[Any]]) -> None:
    """Total, categories and behaviours: the part both reports share."""
    total = raw["total"][0]
    c.cell("total", report, total, "totalReductionKg")
    categories = _keyed(raw["by category"])
    listed = [row["category"]["code"] for row in report["byCategory"]]
    c.listed("categories", sorted(listed), sorted(categories))
    for row in report["byCategory"]:
        code = row["category"]["code"]
        c.cell(f"category {code}", row, categories.get(code), "reductionKg")
    behaviours = _keyed(raw["by behaviour"])
    active = {r[0] for r in raw["active behaviours"]}
    c.listed(
        "behaviours",
        sorted(row["behaviour"]["code"] for row in report["byBehaviour"]),
        sorted(active | set(behaviours)),
    )
    for row in report["byBehaviour"]:
        code = row["behaviour"]["code"]
        c.check(f"behaviour {code} covered", row["covered"], code in behaviours)
        if not row["covered"]:
            c.not_covered += 1
            continue
        c.cell(f"behaviour {code}", row, behaviours.get(code), "reductionKg")
        if not row["suppressed"]:
            c.check(
                f"behaviour {code} quantity",
                row["quantity"],
                Decimal(int(behaviours[code][2])) / 1000,
            )


def compare_region(report: dict[str, Any], raw: dict[str, list[Any]]) -> Comparison:
    c = Comparison()
    _breakdowns(c, report, raw)
    names = dict(raw["child regions"])
    children = _keyed(raw["by child region"])
    c.listed("children", [row["region"]["code"] for row in report["children"]], list(names))
    for row in report["children"]:
        code = row["region"]["code"]
        c.check(f"child {code} name", row["region"]["name"], names.get(code))
        c.cell(f"child {code}", row, children.get(code), "totalReductionKg")
    days = _keyed(raw["by day"])
    period = report["period"]
    start, end = date.fromisoformat(period["start"]), date.fromisoformat(period["end"])
    c.listed(
        "series days",
        [point["start"] for point in report["series"]],
        [date.fromordinal(d).isoformat() for d in range(start.toordinal(), end.toordinal() + 1)],
    )
    for point in report["series"]:
        c.cell(f"day {point['start']}", point, days.get(point["start"]), "reductionKg")
    return c


def compare_esg(
    report: dict[str, Any], raw: dict[str, list[Any]], with_factor: Sequence[str]
) -> Comparison:
    c = Comparison()
    _breakdowns(c, report, raw)
    months = _keyed(raw["by month"])
    c.listed("months", [point["label"] for point in report["byMonth"]], sorted(months))
    for point in report["byMonth"]:
        c.cell(f"month {point['label']}", point, months.get(point["label"]), "reductionKg")
    scope3 = report["scope3"]
    if report["suppressed"]:
        c.check("scope3 (withheld)", scope3, None)
        return c
    trips, covered_trips, commuting_mg, business_mg = (int(v) for v in raw["scope 3"][0])
    if with_factor:
        coverage = (Decimal(covered_trips) / trips if trips else Decimal(0)).quantize(
            Decimal("0.0001")
        )
        c.check("scope3 category 7 kg", scope3["category7EmissionsKg"], kg(commuting_mg))
        c.check("scope3 category 6 kg", scope3["category6EmissionsKg"], kg(business_mg))
    else:
        coverage = Decimal(0)
        c.check("scope3 category 7 kg", scope3["category7EmissionsKg"], None)
        c.check("scope3 category 6 kg", scope3["category6EmissionsKg"], None)
    c.check("scope3 coverage", scope3["coverage"], coverage)
    return c


# -- over HTTP ----------------------------------------------------------------------------------


def ask(http: httpx.Client, query: str, headers: dict[str, str]) -> tuple[dict[str, Any], float]:
    """POST the query; returns the JSON body and the seconds from sending to parsed JSON."""
    with stopwatch() as elapsed:
        response = http.post("/graphql", json={"query": query}, headers=headers)
        body: dict[str, Any] = response.json()
    return body, elapsed()


def answer(body: dict[str, Any], path: Sequence[str]) -> dict[str, Any]:
    if body.get("errors") or body.get("data") is None:
        raise SystemExit(f"GraphQL errors: {body.get('errors')}")
    data: Any = body["data"]
    for key in path:
        data = data[key]
    assert isinstance(data, dict)
    return data


def refused(body: dict[str, Any]) -> str | None:
    """The first error's code or message when the request was refused, None if answered."""
    errors = body.get("errors")
    if not errors:
        return None
    first = errors[0]
    return str((first.get("extensions") or {}).get("code") or first.get("message"))


@dataclass
class Executed:
    statement: str
    parameters: Any
    seconds: float


@contextmanager
def recording(engine: Engine) -> Iterator[list[Executed]]:
    """Every statement the engine executes meanwhile, with its parameters and driver time."""
    log: list[Executed] = []
    started: dict[int, float] = {}

    def before(_conn: Any, cursor: Any, *_args: Any) -> None:
        started[id(cursor)] = time.perf_counter()

    def after(
        _conn: Any, cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        begun = started.pop(id(cursor), None)
        seconds = 0.0 if begun is None else time.perf_counter() - begun
        log.append(Executed(statement, parameters, seconds))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def explain(engine: Engine, executed: Executed) -> list[str]:
    """The plan of a recorded statement: EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN
    QUERY PLAN on SQLite; run with the recorded parameters on a raw driver connection."""
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(prefix + executed.statement, executed.parameters)
        rows = cursor.fetchall()
        cursor.close()
        raw.rollback()
    finally:
        raw.close()
    return [str(r[0]) if postgres else " | ".join(map(str, r)) for r in rows]


def _transaction_control(statement: str) -> bool:
    return statement.lstrip().split(" ", 1)[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK")


# -- one backend --------------------------------------------------------------------------------


@dataclass
class Subject:
    """One report measured: its query, the token it is asked with, its raw SQL and comparison."""

    name: str
    query: str
    path: tuple[str, ...]
    bearer: Bearer
    raw: RawSql  # the timed baseline: the released aggregates read by hand
    check: RawSql  # the figures computed from the rollups under the consent clause, once
    compare: Callable[[dict[str, Any], dict[str, list[Any]]], Comparison]


# The fixed cost of any request with the same token: HTTP, token check, GraphQL, no report.
FLOOR_QUERY = "{ __typename }"


def measure(
    subjects: Sequence[Subject],
    http: httpx.Client,
    server_engine: Engine,
    raw_engine: Engine,
    repeat: int,
) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for s in subjects:  # warm-up
        answer(ask(http, s.query, s.bearer.headers())[0], s.path)
        run_raw(raw_engine, s.raw)
    for s in subjects:  # logged run, compared
        headers = s.bearer.headers()
        with recording(server_engine) as graphql_log:
            body, seconds = ask(http, s.query, headers)
        report = answer(body, s.path)
        with recording(raw_engine) as raw_log:
            rows, _ = run_raw(raw_engine, s.raw)
        comparison = s.compare(report, rows)
        with stopwatch() as check_elapsed:
            check_rows, _ = run_raw(raw_engine, s.check)
        check_seconds = check_elapsed()
        against_rollups = s.compare(report, check_rows)
        queries = [e for e in graphql_log if not _transaction_control(e.statement)]
        shapes: dict[str, list[float]] = {}
        for e in queries:
            shapes.setdefault(statement_shape(e.statement), []).append(e.seconds)
        results[s.name] = {
            "report": report,
            "logged_graphql_seconds": seconds,
            "graphql_statements": len(graphql_log),
            "graphql_queries": len(queries),
            "graphql_transaction_statements": len(graphql_log) - len(queries),
            "graphql_driver_seconds": sum(e.seconds for e in graphql_log),
            "graphql_statement_shapes": sorted(
                (
                    {"shape": shape, "count": len(t), "driver_seconds": sum(t)}
                    for shape, t in shapes.items()
                ),
                key=lambda item: -float(item["driver_seconds"]),
            ),
            "raw_statements": len(s.raw.statements),
            "figures_compared": comparison.compared,
            "problems": comparison.problems,
            "problems_against_rollups": against_rollups.problems,
            "rollup_sql_seconds_once": check_seconds,
            "cells_withheld": comparison.withheld,
            "behaviours_not_covered": comparison.not_covered,
            "_slowest_graphql": max(queries, key=lambda e: e.seconds),
            "_slowest_raw": max(raw_log, key=lambda e: e.seconds),
            "graphql_seconds": [],
            "floor_seconds": [],
            "raw_seconds": [],
            "graphql_statements_per_run": [],
            "_raw_statement_seconds": {name: [] for name in s.raw.statements},
        }
    for _ in range(repeat):
        for s in subjects:
            result = results[s.name]
            headers = s.bearer.headers()
            with counting(server_engine) as count:
                body, seconds = ask(http, s.query, headers)
            answer(body, s.path)
            result["graphql_seconds"].append(seconds)
            result["graphql_statements_per_run"].append(count[0])
            result["floor_seconds"].append(ask(http, FLOOR_QUERY, headers)[1])
            with stopwatch() as elapsed:
                _, per_statement = run_raw(raw_engine, s.raw)
            result["raw_seconds"].append(elapsed())
            for name, t in per_statement.items():
                result["_raw_statement_seconds"][name].append(t)
    for s in subjects:
        result = results[s.name]
        result["graphql_median"] = median(result["graphql_seconds"])
        result["raw_median"] = median(result["raw_seconds"])
        result["floor_median"] = median(result["floor_seconds"])
        result["ratio"] = result["graphql_median"] / result["raw_median"]
        result["ratio_met"] = result["ratio"] <= TARGET_RATIO
        result["latency_met"] = result["graphql_median"] < TARGET_SECONDS
        result["raw_statement_seconds"] = {
            name: median(t) for name, t in result.pop("_raw_statement_seconds").items()
        }
        for side, engine in (("graphql", server_engine), ("raw", raw_engine)):
            slowest: Executed = result.pop(f"_slowest_{side}")
            result[f"slowest_{side}_statement"] = {
                "shape": statement_shape(slowest.statement),
                "logged_seconds": slowest.seconds,
                "sql": slowest.statement,
                "plan": explain(engine, slowest),
            }
    return results


def auth_checks(
    http: httpx.Client, region: Subject, esg: Subject, agency: Bearer, enterprise: Bearer
) -> dict[str, str | None]:
    """Requests that must be refused: their error codes (None would mean answered)."""
    return {
        "region report without a token": refused(ask(http, region.query, {})[0]),
        "region report with the enterprise's token": refused(
            ask(http, region.query, enterprise.headers())[0]
        ),
        "ESG report with the agency's token": refused(ask(http, esg.query, agency.headers())[0]),
    }


def table_sizes(engine: Engine) -> dict[str, str]:
    if engine.dialect.name != "postgresql":
        return {}
    with engine.connect() as connection:
        return {
            name: str(size)
            for name, size in connection.exec_driver_sql(
                "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class "
                "WHERE relnamespace = current_schema()::regnamespace AND relkind = 'r' "
                "AND relname IN ('person_daily_rollup', 'enterprise_daily_rollup', "
                "'region_daily_rollup', 'consent_grant', 'consent_grant_category', "
                "'consent_event', 'person') ORDER BY pg_total_relation_size(oid) DESC"
            )
        }


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    with fresh_database(backend, args.postgres_url, keep=args.keep, reuse=args.reuse) as db:
        console.print(
            f"  {backend}: building {args.persons:,} persons, the rollups of {args.entries:,} "
            f"entries, {args.enterprises + 1} enterprises and the consents ..."
        )
        built = build(db, args)
        console.print(
            f"  {backend}: built in {fmt_seconds(built.seconds)}"
            + ("" if not built.problems else f" [bold red]PROBLEMS[/bold red]: {built.problems}")
        )
        port = free_port()
        settings = served_settings(db.url, port)
        hub = open_hub(settings, upgrade=False)
        try:
            with write_session(hub.engine) as session:
                agency_client = create_client(
                    session, kind=ClientKind.AGENCY, name="bench agency", region_code=BEIJING
                )
                enterprise_client = create_client(
                    session,
                    kind=ClientKind.ENTERPRISE,
                    name="bench ESG",
                    enterprise_id=built.enterprise_id,
                )
            app = create_app(settings, hub=hub, scheduler=False)
            # as a server process does (carbonhub serve); here it also takes the generated season
            # (tens of millions of objects, which no server holds) out of the way of the full
            # collections the requests trigger (seen: +2 ms on the ESG report's median)
            freeze_startup_heap()
            with serving(app, port) as base_url, keep_alive_client(base_url, 600) as http:
                agency = Bearer(http, agency_client)
                enterprise = Bearer(http, enterprise_client)
                esg_raw = esg_raw_sql(db.hub, built.enterprise_id, args.period)
                with_factor = list(esg_raw.parameters["with_factor"])
                region = Subject(
                    "region",
                    region_query(BEIJING, args.period),
                    ("region", "report"),
                    agency,
                    region_released(db.hub, args.period),
                    region_raw_sql(db.hub, args.period),
                    compare_region,
                )
                esg = Subject(
                    "esg",
                    esg_query(built.enterprise_id, args.period),
                    ("enterprise", "esgReport"),
                    enterprise,
                    esg_released(db.hub, built.enterprise_id, args.period),
                    esg_raw,
                    lambda report, rows: compare_esg(report, rows, with_factor),
                )
                console.print(
                    f"  {backend}: serving at {base_url}; {args.repeat} timed runs of each "
                    "report and its raw SQL, interleaved ..."
                )
                checks = auth_checks(http, region, esg, agency, enterprise)
                measured = measure([region, esg], http, hub.engine, db.engine, args.repeat)
                tokens = agency.fetched + enterprise.fetched
        finally:
            hub.engine.dispose()
        unfiltered = unfiltered_participants(db, args.period)
        return {
            "backend": backend,
            "server": server_version(db.engine),
            "database": db.where,
            "persons": args.persons,
            "active_persons": built.season.active_persons,
            "entries": args.entries,
            "entries_by_behaviour": built.season.entries_by_behaviour,
            "period": args.period,
            "enterprise_id": built.enterprise_id,
            "employees_of_large_enterprise": built.employees,
            "esg_consents_in_force_of_large_enterprise": built.esg_in_force_of_large,
            "enterprises": built.enterprises,
            "employments": built.employments,
            "consenting": built.consenting,
            "consents_in_force": built.in_force,
            "consents_revoked": built.revoked,
            "participants_without_consent_clause": unfiltered,
            "rows": built.rows,
            "table_sizes": table_sizes(db.engine),
            "build_seconds": built.seconds,
            "build_steps": built.steps,
            "build_problems": built.problems,
            "auth_checks": checks,
            "tokens_fetched": tokens,
            "reports": measured,
        }


def unfiltered_participants(db: BenchDatabase, period: str) -> int:
    """Distinct persons with a primary-methodology row in Beijing in the period, consent or not
    (for information: what the consent clause leaves out)."""
    programme = db.hub.programmes.for_region(BEIJING)
    assert programme is not None
    span = parse_period(period)
    with db.engine.connect() as connection:
        return int(
            connection.execute(
                text(
                    "SELECT COUNT(DISTINCT person_id) FROM person_daily_rollup "
                    "WHERE methodology_key = :m AND local_date BETWEEN :start AND :end"
                ),
                {"m": programme.primary_methodology, "start": span.start, "end": span.end},
            ).scalar_one()
        )


# -- output -------------------------------------------------------------------------------------


def print_backend(result: dict[str, Any]) -> None:
    rows = result["rows"]
    console.print()
    console.print(
        f"[bold]{result['backend']}[/bold] ({result['server']}, {result['database']}): "
        f"{result['persons']:,} persons ({result['active_persons']:,} active), "
        f"{result['entries']:,} entries represented by {rows['person_daily_rollup']:,} "
        f"person_daily_rollup, {rows['region_daily_rollup']:,} region_daily_rollup and "
        f"{rows['enterprise_daily_rollup']:,} enterprise_daily_rollup rows (ledger_entry rows: "
        f"{rows['ledger_entry']}); {result['enterprises']} enterprises, "
        f"{result['employments']:,} employments; the large one "
        f"({result['enterprise_id']}) employs {result['employees_of_large_enterprise']:,}, "
        f"{result['esg_consents_in_force_of_large_enterprise']:,} with an ESG consent in force"
    )
    console.print(
        "  consents (consenting / revoked / in force): "
        + "; ".join(
            f"{purpose} {result['consenting'][purpose]:,} / {result['consents_revoked'][purpose]:,}"
            f" / {result['consents_in_force'][purpose]:,}"
            for purpose in (PURPOSE, ESG_PURPOSE)
        )
        + f"; Beijing participants in {result['period']} without the consent clause: "
        f"{result['participants_without_consent_clause']:,}, with it (GraphQL): "
        f"{result['reports']['region']['report']['participants']}"
    )
    if result["table_sizes"]:
        console.print("  sizes: " + ", ".join(f"{k} {v}" for k, v in result["table_sizes"].items()))
    steps = "; ".join(f"{name} {fmt_seconds(s)}" for name, s in result["build_steps"].items())
    check = (
        "ok" if not result["build_problems"] else "FAILED: " + "; ".join(result["build_problems"])
    )
    console.print(f"  build {fmt_seconds(result['build_seconds'])} ({steps}); consistency {check}")
    console.print(
        "  refused as they must be: "
        + "; ".join(f"{what}: {code}" for what, code in result["auth_checks"].items())
    )
    for name, title in (("region", "Region report (Beijing)"), ("esg", "ESG report")):
        r = result["reports"][name]
        problems = r["problems"]
        console.print()
        console.print(
            f"[bold]{title}[/bold], {result['period']}: {r['figures_compared']} figures compared, "
            + (
                "all equal"
                if not problems
                else "[bold red]MISMATCH[/bold red]: " + "; ".join(problems[:10])
            )
            + f"; {r['cells_withheld']} cells withheld, {r['behaviours_not_covered']} active "
            "behaviours not covered by the methodology"
        )
        console.print(
            table(
                f"{title} on {result['backend']}: GraphQL over HTTP vs raw SQL (median of "
                f"{len(r['graphql_seconds'])} warm runs; targets <= {TARGET_RATIO:.0f}x and "
                f"< {TARGET_SECONDS * 1000:.0f} ms)",
                ["variant", "statements", "median", "runs (s)", "ratio", "<= 3x", "< 100 ms"],
                [
                    [
                        "GraphQL POST /graphql (bearer token)",
                        f"{r['graphql_queries']} + {r['graphql_transaction_statements']} "
                        "BEGIN/COMMIT",
                        fmt_seconds(r["graphql_median"]),
                        ", ".join(f"{s:.3f}" for s in r["graphql_seconds"]),
                        f"{r['ratio']:.2f}x",
                        verdict(r["ratio_met"]),
                        verdict(r["latency_met"]),
                    ],
                    [
                        "raw SQL (one connection, sequential)",
                        str(r["raw_statements"]),
                        fmt_seconds(r["raw_median"]),
                        ", ".join(f"{s:.3f}" for s in r["raw_seconds"]),
                        "1.00x",
                        "",
                        "",
                    ],
                ],
            )
        )
        console.print(
            f"  GraphQL statements per timed run: "
            f"{', '.join(map(str, r['graphql_statements_per_run']))}; logged run "
            f"{r['logged_graphql_seconds']:.2f} s with {r['graphql_driver_seconds']:.2f} s of "
            "driver time (resolvers run concurrently in threads)"
        )
        console.print(
            table(
                f"{title}: statements of the logged GraphQL run, by driver time",
                ["statement shape", "x", "driver s"],
                [
                    [item["shape"], item["count"], f"{item['driver_seconds']:.3f}"]
                    for item in r["graphql_statement_shapes"]
                ],
            )
        )
        console.print(
            table(
                f"{title}: raw SQL statements (median seconds, execute + fetch)",
                ["statement", "seconds"],
                [[n, f"{s:.3f}"] for n, s in r["raw_statement_seconds"].items()],
            )
        )
        for side in ("graphql", "raw"):
            slowest = r[f"slowest_{side}_statement"]
            console.print(
                f"  slowest {side} statement ({slowest['logged_seconds']:.3f} s logged): "
                f"{slowest['shape']}",
                markup=False,
            )
            for line in slowest["plan"][:40]:
                console.print(f"    {line}", markup=False, soft_wrap=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = base_parser((__doc__ or "").splitlines()[0], default_repeat=5)
    parser.set_defaults(backend="postgresql")
    parser.add_argument("--persons", type=int, default=1_000_000, help="registered citizens")
    parser.add_argument(
        "--entries", type=int, default=20_000_000, help="ledger entries the rollups represent"
    )
    parser.add_argument(
        "--employees", type=int, default=None, help="of the large enterprise (persons / 50)"
    )
    parser.add_argument("--enterprises", type=int, default=19, help="smaller enterprises")
    parser.add_argument("--period", default="2023-07", help="a year, quarter, month or day")
    parser.add_argument(
        "--keep", action="store_true", help="keep the PostgreSQL schema (drop it by hand)"
    )
    parser.add_argument(
        "--reuse",
        metavar="SCHEMA",
        help="run against a schema kept by an earlier run with the same sizes and seed "
        "(regenerated in memory and checked, not loaded)",
    )
    args = parser.parse_args(argv)
    if args.employees is None:
        args.employees = max(10, args.persons // 50)
    span = parse_period(args.period)
    if not (span.start >= SEASON_START and span.end <= SEASON_END):
        console.print(
            f"note: {args.period} reaches outside the season {SEASON_START}..{SEASON_END}"
        )
    started = environment()
    console.print(
        f"[bold]Reports benchmark[/bold]: region report of Beijing and ESG report of a "
        f"{args.employees:,}-employee enterprise for {args.period}, over HTTP (uvicorn, OAuth "
        f"bearer tokens), {args.persons:,} persons, {args.entries:,} entries represented by "
        f"their rollups, {args.repeat} timed runs each after a warm-up and a logged run"
    )
    results = []
    for backend in chosen_backends(args):
        result = run_backend(backend, args)
        results.append(result)
        print_backend(result)
    console.print()
    console.print(
        table(
            f"Reports summary (targets: GraphQL median <= {TARGET_RATIO:.0f}x raw SQL and "
            f"< {TARGET_SECONDS * 1000:.0f} ms)",
            [
                "backend",
                "report",
                "persons",
                "entries",
                "build",
                "GraphQL",
                "raw SQL",
                "ratio",
                "floor",
                "statements",
                "<= 3x",
                "< 100 ms",
            ],
            [
                [
                    r["backend"],
                    name,
                    f"{r['persons']:,}",
                    f"{r['entries']:,}",
                    fmt_seconds(r["build_seconds"]),
                    fmt_seconds(m["graphql_median"]),
                    fmt_seconds(m["raw_median"]),
                    f"{m['ratio']:.2f}x",
                    fmt_seconds(m["floor_median"]),
                    f"{m['graphql_queries']} (+{m['graphql_transaction_statements']}) vs "
                    f"{m['raw_statements']}",
                    verdict(m["ratio_met"]),
                    verdict(m["latency_met"]),
                ]
                for r in results
                for name, m in r["reports"].items()
            ],
        )
    )
    path = write_results(
        args.results_dir,
        "reports",
        {
            "benchmark": "reports",
            "environment": started,
            "arguments": {k: str(v) for k, v in vars(args).items()},
            "queries": {
                "region": region_query(BEIJING, args.period),
                "esg": esg_query("<enterprise>", args.period),
            },
            "results": results,
        },
    )
    console.print(f"results written to {path}")
    failed = [
        r
        for r in results
        if r["build_problems"]
        or any(m["problems"] for m in r["reports"].values())
        or any(code is None for code in r["auth_checks"].values())
    ]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
