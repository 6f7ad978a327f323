"""Shared parts of the benchmarks: fresh databases, the synthetic population, timing and output.

Every benchmark runs on a fresh database per backend:

* SQLite: a new file in a temporary directory (deleted afterwards);
* PostgreSQL: a new private schema in the database of ``--postgres-url`` (created, migrated with
  :func:`carbonhub.hub.prepare_database`, and dropped afterwards), reached through a URL whose
  ``search_path`` option names the schema.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import re
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from cryptography.fernet import Fernet
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, event, text

from carbonhub.auth.clients import NewClient
from carbonhub.db import create_db_engine, upgrade_database
from carbonhub.hub import Hub, open_hub, prepare_database
from carbonhub.settings import Settings

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")
RESULTS_DIR = Path(__file__).resolve().parent / "results"

SEASON_START = date(2023, 6, 15)
SEASON_END = date(2023, 10, 31)
SEASON_DAYS = (SEASON_END - SEASON_START).days + 1
BEIJING = "110000"
BEIJING_TZ = ZoneInfo("Asia/Shanghai")

# The 16 districts of Beijing (carbonhub/actors/data/regions.csv) with rough resident weights
# (permanent residents, 10k, 2020 census rounded): where the synthetic citizens live.
BEIJING_DISTRICTS: dict[str, int] = {
    "110101": 71,  # Dongcheng
    "110102": 110,  # Xicheng
    "110105": 345,  # Chaoyang
    "110106": 202,  # Fengtai
    "110107": 57,  # Shijingshan
    "110108": 313,  # Haidian
    "110109": 39,  # Mentougou
    "110111": 131,  # Fangshan
    "110112": 184,  # Tongzhou
    "110113": 132,  # Shunyi
    "110114": 227,  # Changping
    "110115": 199,  # Daxing
    "110116": 44,  # Huairou
    "110117": 46,  # Pinggu
    "110118": 53,  # Miyun
    "110119": 35,  # Yanqing
}

# The behaviour mix of both benchmarks: share of ledger entries per behaviour (sums to 100).
BEHAVIOUR_MIX: dict[str, int] = {
    "transport.bike_share": 30,
    "transport.metro": 20,
    "transport.bus": 8,
    "food.no_utensils": 16,
    "use.e_waybill": 14,
    "digital_finance.offline_payment": 6,
    "digital_finance.e_invoice": 3,
    "digital_finance.e_transfer": 2,
    "digital_finance.utility_bill_online": 1,
}

# Trip distances in thousandths of a km (uniform between the bounds), shared by both benchmarks.
TRIP_KM_MILLI: dict[str, tuple[int, int]] = {
    "transport.bike_share": (400, 8000),
    "transport.metro": (1500, 35000),
    "transport.bus": (1500, 15000),
}

_B32 = "abcdefghijklmnopqrstuvwxyz234567"

# Wide enough for the tables when the output goes to a file or a pipe.
console = Console(highlight=False, width=None if os.isatty(1) else 150)


# -- arguments ----------------------------------------------------------------------------------


def base_parser(description: str, *, default_repeat: int) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--backend", choices=(*BACKENDS, "both"), default="both")
    parser.add_argument(
        "--repeat", type=int, default=default_repeat, help="timed repetitions (median reported)"
    )
    parser.add_argument("--seed", type=int, default=20230615, help="seed of the synthetic data")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("CARBONHUB_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL,
        help="PostgreSQL database in which a private schema is created and dropped",
    )
    parser.add_argument(
        "--results-dir", type=Path, default=RESULTS_DIR, help="where the JSON results go"
    )
    return parser


def chosen_backends(args: argparse.Namespace) -> list[str]:
    """The backends named by ``--backend``."""
    return list(BACKENDS) if args.backend == "both" else [args.backend]


# -- databases ----------------------------------------------------------------------------------


@dataclass
class BenchDatabase:
    """A fresh, migrated database of one backend, with a hub opened on it."""

    backend: str
    url: str
    engine: Engine
    hub: Hub
    where: str


def _schema_url(base_url: str, schema: str) -> str:
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}"


@contextmanager
def fresh_database(
    backend: str,
    postgres_url: str,
    *,
    keep: bool = False,
    reuse: str | None = None,
    **engine_options: Any,
) -> Iterator[BenchDatabase]:
    """A new SQLite file or PostgreSQL schema, migrated, removed on exit (a PostgreSQL schema
    is kept when ``keep``: drop it by hand with ``DROP SCHEMA <name> CASCADE``). ``reuse``
    names a PostgreSQL schema kept by an earlier run: it is migrated to this version and kept."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="carbonhub-bench-") as folder:
            path = Path(folder) / "bench.db"
            url = f"sqlite:///{path}"
            engine = create_db_engine(url, **engine_options)
            try:
                prepare_database(engine)
                hub = open_hub(Settings(database_url=url), engine=engine, upgrade=False)
                yield BenchDatabase(backend, url, engine, hub, str(path))
            finally:
                engine.dispose()
        return
    schema = reuse or f"carbonhub_bench_{uuid.uuid4().hex[:10]}"
    keep = keep or reuse is not None
    admin = create_db_engine(postgres_url)
    if reuse is None:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = _schema_url(postgres_url, schema)
    engine = create_db_engine(url, **engine_options)
    try:
        if reuse is None:
            prepare_database(engine)
        else:
            upgrade_database(engine)  # a schema kept by an older version gets the newer tables
        hub = open_hub(Settings(database_url=url), engine=engine, upgrade=False)
        yield BenchDatabase(backend, url, engine, hub, f"schema {schema}")
    finally:
        engine.dispose()
        if keep:
            console.print(f"kept schema {schema} (URL {url})", markup=False)
        else:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def serving(app: Any, port: int) -> Iterator[str]:
    """Serve an ASGI app with uvicorn (one process, its own event loop in a thread of this
    process, so this process can watch the app's engine) on 127.0.0.1; yields the base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not come up within 60 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def served_settings(database_url: str, port: int) -> Settings:
    """Production settings for a hub a benchmark serves on 127.0.0.1:``port``: hour-long
    tokens, no scheduled sync, and no rate limits (one client from 127.0.0.1 would get 429)."""
    return Settings(
        database_url=database_url,
        env="production",
        public_url=f"http://127.0.0.1:{port}",
        access_token_minutes=60,
        sync_interval_s=0,
        token_encryption_keys=Fernet.generate_key().decode(),
        rate_limit_enabled=False,
    )


def keep_alive_client(base_url: str, timeout: float) -> httpx.Client:
    """One keep-alive connection with TCP_NODELAY (a POST's headers and body are two segments)."""
    transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    return httpx.Client(base_url=base_url, timeout=timeout, transport=transport)


class Bearer:
    """A client's access token from ``/oauth/token``, fetched again shortly before it expires."""

    def __init__(self, http: httpx.Client, client: NewClient) -> None:
        self.http = http
        self.client = client
        self.token: str | None = None
        self.expires = 0.0
        self.fetched = 0

    def headers(self) -> dict[str, str]:
        if self.token is None or time.monotonic() > self.expires - 60:
            response = self.http.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(self.client.client_id, self.client.client_secret or ""),
            )
            response.raise_for_status()
            body = response.json()
            self.token = str(body["access_token"])
            self.expires = time.monotonic() + float(body.get("expires_in", 300))
            self.fetched += 1
        return {"Authorization": f"Bearer {self.token}"}


def server_version(engine: Engine) -> str:
    """The database server's version string."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            return "SQLite " + str(connection.exec_driver_sql("SELECT sqlite_version()").scalar())
        return "PostgreSQL " + str(connection.exec_driver_sql("SHOW server_version").scalar())


def analyze(engine: Engine) -> None:
    """Refresh the planner's statistics (and, on PostgreSQL, the visibility map) after a load."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()  # autocommit: ANALYZE, then fold the WAL into the file
        try:
            cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.close()
        finally:
            raw.close()
        return
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")


# -- synthetic population -----------------------------------------------------------------------


def person_ids(count: int, rng: random.Random) -> list[str]:
    """``count`` distinct pseudonymous ids shaped like carbonhub's (``p_`` + 20 base32), sorted."""
    ids: set[str] = set()
    while len(ids) < count:
        ids.add("p_" + "".join(rng.choices(_B32, k=20)))
    return sorted(ids)


def district_picker(rng: random.Random) -> Callable[[], str]:
    """Draw a Beijing district with the resident weights."""
    codes = list(BEIJING_DISTRICTS)
    cumulative = []
    total = 0
    for weight in BEIJING_DISTRICTS.values():
        total += weight
        cumulative.append(total)
    return lambda: rng.choices(codes, cum_weights=cumulative)[0]


def behaviour_weights() -> tuple[list[str], list[int]]:
    """Behaviour codes and cumulative weights of :data:`BEHAVIOUR_MIX`."""
    codes = list(BEHAVIOUR_MIX)
    cumulative = []
    total = 0
    for weight in BEHAVIOUR_MIX.values():
        total += weight
        cumulative.append(total)
    return codes, cumulative


def local_moment(day: date, seconds: int) -> datetime:
    """The UTC instant ``seconds`` after local midnight of ``day`` in Beijing."""
    start = datetime(day.year, day.month, day.day, tzinfo=BEIJING_TZ)
    return (start + timedelta(seconds=seconds)).astimezone(UTC)


# -- measuring ----------------------------------------------------------------------------------


@dataclass
class StatementLog:
    """Statements an engine ran while the log was attached: text, rows (parameter sets) and time."""

    statements: list[tuple[str, int, float]] = field(default_factory=list)
    checkouts: int = 0

    @property
    def count(self) -> int:
        return len(self.statements)

    @property
    def seconds(self) -> float:
        """Time spent inside the driver's execute/executemany calls."""
        return sum(t for _, _, t in self.statements)

    def queries(self) -> list[tuple[str, int, float]]:
        """Statements other than transaction control (BEGIN/COMMIT/ROLLBACK)."""
        return [
            item
            for item in self.statements
            if not re.match(r"\s*(BEGIN|COMMIT|ROLLBACK)\b", item[0], re.IGNORECASE)
        ]

    def by_shape(self) -> list[tuple[str, int, int, float]]:
        """(shape, statements, rows, total seconds) per statement shape, most expensive first."""
        shapes: dict[str, list[float]] = {}
        for statement, rows, seconds in self.statements:
            entry = shapes.setdefault(statement_shape(statement), [0, 0, 0.0])
            entry[0] += 1
            entry[1] += rows
            entry[2] += seconds
        result = [(shape, int(n), int(r), t) for shape, (n, r, t) in shapes.items()]
        return sorted(result, key=lambda r: -r[3])


def statement_shape(statement: str) -> str:
    """A short, recognisable label of a statement: SELECTs as what, from where, grouped by what."""
    squeezed = " ".join(statement.split())
    squeezed = re.sub(r"%\(\w+\)s(::\w+)?", "?", squeezed)  # psycopg placeholders
    squeezed = re.sub(r"CASE (\S+) WHEN .*? END", r"CASE(\1)", squeezed)
    squeezed = re.sub(r"IN \([^)]*\)", "IN (...)", squeezed)
    select = re.match(r"SELECT (.*?) FROM (\w+)(.*)", squeezed)
    if select is None:
        return squeezed[:200]
    columns, source, rest = select[1].lower(), select[2], select[3]
    if "count(distinct" in columns:
        what = "COUNT(DISTINCT person_id)"
    elif "sum(" in columns:
        what = "SUM(...)"
    elif columns.startswith("distinct"):
        what = "DISTINCT " + re.sub(r"\w+\.", "", columns.split()[1])
    else:
        what = "rows"
    group = re.search(r"GROUP BY (.*)$", rest)
    by = " GROUP BY " + re.sub(r"\w+\.(\w+)", r"\1", group[1]) if group else ""
    where = (
        " WHERE " + re.sub(r"\w+\.(\w+)", r"\1", rest.split("WHERE ", 1)[1].split(" GROUP BY")[0])
        if "WHERE " in rest and not group
        else ""
    )
    return f"SELECT {what} FROM {source}{by}{where}"[:200]


@contextmanager
def statement_log(engine: Engine) -> Iterator[StatementLog]:
    """Record every statement the engine executes (and how long the driver took) meanwhile."""
    log = StatementLog()
    started: dict[int, float] = {}

    def before(_conn: Any, cursor: Any, *_args: Any) -> None:
        started[id(cursor)] = time.perf_counter()

    def after(
        _conn: Any, cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
    ) -> None:
        begun = started.pop(id(cursor), None)
        rows = len(parameters) if many else 1
        log.statements.append(
            (statement, rows, 0.0 if begun is None else time.perf_counter() - begun)
        )

    def checkout(*_args: Any) -> None:
        log.checkouts += 1

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    event.listen(engine.pool, "checkout", checkout)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
        event.remove(engine.pool, "checkout", checkout)


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


@contextmanager
def stopwatch() -> Iterator[Callable[[], float]]:
    """``with stopwatch() as elapsed: ...``; ``elapsed()`` is the seconds since entering (frozen on exit)."""
    start = time.perf_counter()
    end: list[float] = []

    def elapsed() -> float:
        return (end[0] if end else time.perf_counter()) - start

    try:
        yield elapsed
    finally:
        end.append(time.perf_counter())


def median(values: Sequence[float]) -> float:
    """The median (of at least one value)."""
    return float(statistics.median(values))


# -- output -------------------------------------------------------------------------------------


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=Path(__file__).resolve().parent.parent,
        ).stdout
    except OSError:
        return ""


def environment() -> dict[str, Any]:
    """Where and on what code the figures were measured.

    ``carbonhub_diff_sha256`` fingerprints uncommitted changes under carbonhub/ (the code is
    edited while benchmarks run; two results with the same commit and fingerprint measured the
    same code).
    """
    diff = _git("diff", "HEAD", "--", "carbonhub")
    untracked = _git("ls-files", "--others", "--exclude-standard", "--", "carbonhub")
    fingerprint = hashlib.sha256(diff.encode())
    for name in sorted(untracked.split()):
        path = Path(__file__).resolve().parent.parent / name
        fingerprint.update(name.encode() + (path.read_bytes() if path.is_file() else b""))
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "git_commit": _git("rev-parse", "--short", "HEAD").strip() or None,
        "carbonhub_modified_files": len(
            _git("status", "--porcelain", "--", "carbonhub").splitlines()
        ),
        "carbonhub_diff_sha256": fingerprint.hexdigest(),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def code_changed(started: dict[str, Any]) -> bool:
    """Whether carbonhub's code (commit or uncommitted changes) differs from ``started``'s."""
    now = environment()
    return (now["git_commit"], now["carbonhub_diff_sha256"]) != (
        started["git_commit"],
        started["carbonhub_diff_sha256"],
    )


def write_results(results_dir: Path, name: str, payload: dict[str, Any]) -> Path:
    """Write ``payload`` as ``<results_dir>/<name>-<UTC timestamp>.json``; returns the path.

    When ``payload["environment"]`` was captured at the start and carbonhub's code changed
    since, the payload says so (``code_changed_during_run``) and a warning is printed.
    """
    if "environment" in payload:
        changed = code_changed(payload["environment"])
        payload["code_changed_during_run"] = changed
        if changed:
            console.print(
                "[yellow]note:[/yellow] carbonhub's files changed on disk during the run; the "
                "figures are for the code imported at the start (environment in the JSON)"
            )
    results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = results_dir / f"{name}-{stamp}.json"
    path.write_text(json.dumps(payload, indent=2, default=str, ensure_ascii=False) + "\n")
    return path


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Table:
    """A rich table; the first column left-aligned, the others right-aligned."""
    result = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        result.add_column(column, justify="left" if index == 0 else "right")
    for row in rows:
        result.add_row(*(str(cell) for cell in row))
    return result


def verdict(ok: bool) -> str:
    """A coloured MET / MISSED label."""
    return "[green]MET[/green]" if ok else "[bold red]MISSED[/bold red]"


def fmt_rate(value: float) -> str:
    """A rate with thousands separators."""
    return f"{value:,.0f}"


def fmt_seconds(value: float) -> str:
    """Seconds, or milliseconds below one second."""
    return f"{value:.2f} s" if value >= 1 else f"{value * 1000:.1f} ms"
