"""Load test: 200 concurrent clients for 60 seconds against uvicorn with 2 workers and PostgreSQL.

Not run in CI. What it does:

* **Data.** The demo (``carbonhub.demo``: 2,000 citizens of the 2023 Beijing Green Life Season,
  their enterprises and consents, every event fetched from the four provider simulators and
  posted through the ledger engine) is built into a private PostgreSQL schema (``--keep`` /
  ``--reuse SCHEMA`` as in ``bench.reports``).
* **Server.** ``bench.workers`` (uvicorn's supervisor, 2 worker processes, TCP_NODELAY)
  serves ``carbonhub.app:served_app`` with production settings. Rate limits are off
  (``CARBONHUB_RATE_LIMIT_ENABLED=false``: every client comes from 127.0.0.1, and the limiter
  would answer most of this load with 429 by design); ``--rate-limits`` keeps them on.
* **Clients.** Real OAuth tokens: the 40 demo citizens sign in through the login page, approve
  the demo app and redeem the code (authorisation code + PKCE); every enterprise client and
  agency client gets a client-credentials token. ``--clients`` (default 200) coroutines on one
  event loop, each with its own keep-alive connection, send queries back to back for
  ``--seconds`` (default 60): 60% citizens (own ledger for a month: total, by behaviour, the
  first 20 entries, points), 20% enterprises (ESG report of a month: total, categories, months,
  Scope 3) and 20% agencies (the region report of a month: total, categories, child regions,
  days). Months are drawn from the season, so caches do not answer everything.
* **Reported.** Requests, throughput, p50 / p95 / p99 latency overall and per role, errors (any
  answer that is not HTTP 200 with data and without errors, or a transport error), and the
  server's memory (resident set of the supervisor and its workers, sampled every second:
  before, peak, after). Targets: zero errors, p99 under 500 ms. The load generator shares the
  machine's 2 cores with the server and PostgreSQL: its own CPU time is printed too.

Run::

    nice .venv/bin/python -m bench.load                    # 200 clients, 60 s
    nice .venv/bin/python -m bench.load --clients 50 --seconds 20 --keep
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import html
import json
import os
import random
import re
import secrets
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import chdir, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
from cryptography.fernet import Fernet
from rich.console import Console

from bench.common import (
    DEFAULT_POSTGRES_URL,
    RESULTS_DIR,
    environment,
    fmt_seconds,
    free_port,
    fresh_database,
    median,
    table,
    write_results,
)
from carbonhub.demo import DemoPlan, build_demo
from carbonhub.demo.build import demo_providers

console = Console()
SLOW = 0.5  # the p99 target: answers this slow are listed by when they were sent
MONTHS = ("2023-06", "2023-07", "2023-08", "2023-09", "2023-10")
ROLES = (("citizen", 0.6), ("enterprise", 0.2), ("agency", 0.2))

CITIZEN_QUERY = """query CitizenLedger($period: String) {
  me {
    id
    points { balance earned }
    ledger(period: $period) {
      totalReductionKg
      byBehaviour { behaviour { code } entries reductionKg }
      entries(first: 20) { nodes { id behaviour { code } reductionG localDate } }
    }
  }
}"""
ESG_QUERY = """query Esg($id: ID!, $period: String) {
  enterprise(id: $id) {
    esgReport(period: $period) {
      participants totalReductionKg suppressed
      byCategory { category { code } reductionKg participants suppressed }
      byMonth { label reductionKg participants suppressed }
      scope3 { category6EmissionsKg category7EmissionsKg coverage }
    }
  }
}"""
REGION_QUERY = """query Region($code: ID!, $period: String) {
  region(code: $code) {
    report(period: $period) {
      totalReductionKg participants suppressed
      byCategory { category { code } reductionKg participants suppressed }
      children { region { code } totalReductionKg participants suppressed }
      series(interval: DAY) { label reductionKg participants suppressed }
    }
  }
}"""


@dataclass(frozen=True)
class Caller:
    """One token and what it may ask: (query, variables) for a period."""

    role: str
    token: str
    query: str
    variables: dict[str, str]


@dataclass
class Outcome:
    """Every answer of a run."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {r: [] for r, _ in ROLES})
    errors: dict[str, int] = field(default_factory=dict)
    # (seconds into the run when sent, latency) of every answer: where the slow ones cluster
    slow: list[tuple[float, float]] = field(default_factory=list)
    started: float = 0.0

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


# -- building -----------------------------------------------------------------------------------


def build(db: Any, citizens: int, seed: int) -> dict[str, Any]:
    """The demo in the bench database; returns its logins and clients (``carbonhub-demo.json``)."""
    plan = DemoPlan(citizens=citizens, seed=seed)
    with tempfile.TemporaryDirectory(prefix="carbonhub-load-") as folder, chdir(folder):
        with demo_providers(plan) as providers:
            result = build_demo(db.hub, plan, providers=providers)
        access: dict[str, Any] = json.loads(result.credentials_file.read_text(encoding="utf-8"))
    return access


# -- serving ------------------------------------------------------------------------------------


@contextmanager
def serving(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``bench.workers`` with 2 workers, until the block ends."""
    command = [sys.executable, "-m", "bench.workers", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(command, env=env)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("uvicorn did not come up within 90 s")
            time.sleep(0.3)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)


def resident_kib(pid: int) -> int:
    """Resident set of a process and its children (uvicorn's supervisor and workers), KiB."""
    total = 0
    for candidate in [pid, *_children(pid)]:
        try:
            status = Path(f"/proc/{candidate}/status").read_text()
        except OSError:
            continue
        found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        total += int(found.group(1)) if found else 0
    return total


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


class MemorySampler:
    """Samples the server's resident set every second in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.samples.append(resident_kib(self.pid))


# -- tokens -------------------------------------------------------------------------------------


def _hidden(page: str) -> dict[str, str]:
    pairs = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)
    return {name: html.unescape(value) for name, value in pairs}


def citizen_token(base_url: str, app: dict[str, Any], login: dict[str, Any]) -> str:
    """Sign in, approve the demo app, redeem the code (PKCE): the citizen's access token."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    redirect_uri = app["redirect_uris"][0]
    with httpx.Client(base_url=base_url, timeout=60) as http:
        browser = CookieCarrier(http)
        page = browser.get("/account/login")
        signed_in = browser.post(
            "/account/login",
            data={
                "username": login["username"],
                "password": login["password"],
                "csrf_token": _hidden(page.text)["csrf_token"],
                "next": "/account/",
            },
        )
        if signed_in.status_code != 303:
            raise RuntimeError(f"login refused: {signed_in.status_code} {signed_in.text[:200]}")
        params = {
            "response_type": "code",
            "client_id": app["client_id"],
            "redirect_uri": redirect_uri,
            "scope": "ledger:read",
            "state": secrets.token_urlsafe(8),
            "code_challenge": challenge.decode().rstrip("="),
            "code_challenge_method": "S256",
        }
        consent = browser.get(f"/oauth/authorize?{urlencode(params)}")
        decided = browser.post(
            "/oauth/authorize", data={**_hidden(consent.text), "decision": "approve"}
        )
        code = parse_qs(urlparse(decided.headers["location"]).query)["code"][0]
        redeem = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        }
        secret = app.get("client_secret")
        if secret:
            answer = http.post("/oauth/token", data=redeem, auth=(app["client_id"], secret))
        else:
            answer = http.post("/oauth/token", data={**redeem, "client_id": app["client_id"]})
        answer.raise_for_status()
        return str(answer.json()["access_token"])


class CookieCarrier:
    """A browser's cookies over plain HTTP on loopback: production cookies are ``Secure``, which
    httpx (rightly) does not send over http://, so they are carried by hand."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.cookies: dict[str, str] = {}

    def get(self, url: str) -> httpx.Response:
        return self._keep(self.http.get(url, headers=self._header()))

    def post(self, url: str, data: dict[str, str]) -> httpx.Response:
        return self._keep(self.http.post(url, data=data, headers=self._header()))

    def _header(self) -> dict[str, str]:
        return {"cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def _keep(self, response: httpx.Response) -> httpx.Response:
        for line in response.headers.get_list("set-cookie"):
            name, _, rest = line.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        self.http.cookies.clear()
        return response


def client_token(base_url: str, client: dict[str, Any]) -> str:
    """A client-credentials access token."""
    answer = httpx.post(
        f"{base_url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client["client_id"], client["client_secret"]),
        timeout=60,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def callers(base_url: str, access: dict[str, Any]) -> dict[str, list[Caller]]:
    """Every role's callers with their tokens."""
    app = access["app_clients"][0]
    citizens = [
        Caller("citizen", citizen_token(base_url, app, login), CITIZEN_QUERY, {})
        for login in access["citizens"]
    ]
    enterprises = [
        Caller(
            "enterprise",
            client_token(base_url, c),
            ESG_QUERY,
            {"id": str(c["enterprise_id"])},
        )
        for c in access["enterprise_clients"]
    ]
    agencies = [
        Caller("agency", client_token(base_url, c), REGION_QUERY, {"code": str(c["region_code"])})
        for c in access["agency_clients"]
    ]
    return {"citizen": citizens, "enterprise": enterprises, "agency": agencies}


# -- load ---------------------------------------------------------------------------------------


def keep_alive_clients(base_url: str, count: int) -> list[httpx.AsyncClient]:
    """``count`` clients, each with a connection pool of its own, made before the clock starts.

    httpx builds an SSL context per transport (~22 ms of CPU, even for plain HTTP): made inside
    the timed run, 200 of them blocked the generator's event loop for ~4.4 s at the start,
    while the clients' first pauses ran out, and then sent ~100 requests at once (seen as a
    ~1.2 s "stall" with every process idle). One context serves them all.
    """
    context = ssl.create_default_context()
    clients = []
    for _ in range(count):
        transport = httpx.AsyncHTTPTransport(
            verify=context,
            # TCP_NODELAY: a POST's headers and body go out as two segments (see bench.workers)
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],
            # keep-alive longer than any pause, as a browser's (httpx closes idle ones after 5 s)
            limits=httpx.Limits(keepalive_expiry=75),
        )
        clients.append(httpx.AsyncClient(base_url=base_url, timeout=30, transport=transport))
    return clients


async def one_client(
    http: httpx.AsyncClient,
    pool: dict[str, list[Caller]],
    until: float,
    seed: int,
    outcome: Outcome,
    think: float = 0.0,
) -> None:
    """Send queries until ``until`` on one keep-alive connection.

    Back to back, or after a pause drawn from an exponential distribution of mean ``think``
    seconds (a person reading the answer before asking again).
    """
    chooser = random.Random(seed)
    roles = [r for r, _ in ROLES]
    weights = [w for _, w in ROLES]
    async with http:
        while time.monotonic() < until:
            if think:
                pause = chooser.expovariate(1 / think)
                if time.monotonic() + pause >= until:
                    break  # a pause that runs past the end sends nothing more
                await asyncio.sleep(pause)
            role = chooser.choices(roles, weights)[0]
            caller = chooser.choice(pool[role])
            variables = {**caller.variables, "period": chooser.choice(MONTHS)}
            started = time.perf_counter()
            try:
                response = await http.post(
                    "/graphql",
                    json={"query": caller.query, "variables": variables},
                    headers={"Authorization": f"Bearer {caller.token}"},
                )
            except httpx.HTTPError as exc:
                outcome.error(f"transport: {type(exc).__name__}")
                continue
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                outcome.error(f"HTTP {response.status_code}")
                continue
            body = response.json()
            if body.get("errors") or not body.get("data"):
                codes = {
                    str((e.get("extensions") or {}).get("code")) for e in body.get("errors") or []
                }
                outcome.error(
                    f"GraphQL {'/'.join(sorted(codes))}: {body['errors'][0]['message'][:80]}"
                )
                continue
            outcome.latencies[role].append(elapsed)
            if elapsed >= SLOW:
                outcome.slow.append((started - outcome.started, elapsed))


async def load(
    base_url: str, pool: dict[str, list[Caller]], clients: int, seconds: float, think: float = 0.0
) -> tuple[Outcome, float]:
    """Run ``clients`` coroutines for ``seconds``; the outcome and the wall time."""
    https = keep_alive_clients(base_url, clients)
    outcome = Outcome(started=time.perf_counter())
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(
        *(one_client(http, pool, until, i, outcome, think) for i, http in enumerate(https))
    )
    return outcome, time.monotonic() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def slow_by_second(slow: list[tuple[float, float]]) -> dict[int, dict[str, float]]:
    """Answers slower than SLOW by the second of the run they were sent in: a stall shows as
    one cluster, a saturated server as slow answers all along."""
    seconds: dict[int, dict[str, float]] = {}
    for sent, latency in slow:
        cell = seconds.setdefault(int(sent), {"answers": 0, "max": 0.0})
        cell["answers"] += 1
        cell["max"] = max(cell["max"], latency)
    return dict(sorted(seconds.items()))


def summary(outcome: Outcome, wall: float) -> dict[str, Any]:
    every = [t for values in outcome.latencies.values() for t in values]
    rows = {
        role: {
            "requests": len(values),
            "p50": median(values) if values else float("nan"),
            "p95": percentile(values, 0.95),
            "p99": percentile(values, 0.99),
        }
        for role, values in [("all", every), *outcome.latencies.items()]
    }
    errors = sum(outcome.errors.values())
    return {
        "wall_seconds": wall,
        "requests": len(every) + errors,
        "throughput_per_second": (len(every) + errors) / wall,
        "latency": rows,
        "errors": outcome.errors,
        "errors_total": errors,
        "p99_met": rows["all"]["p99"] < SLOW,
        "slow_by_second": slow_by_second(outcome.slow),
        "errors_met": errors == 0,
    }


# -- main ---------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    with fresh_database("postgresql", args.postgres_url, keep=args.keep, reuse=args.reuse) as db:
        with_build = time.monotonic()
        access = build(db, args.citizens, args.seed)
        built = time.monotonic() - with_build
        console.print(f"  demo ready in {fmt_seconds(built)}; serving with 2 workers ...")
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "CARBONHUB_DATABASE_URL": db.url,
            "CARBONHUB_ENV": "production",
            "CARBONHUB_PUBLIC_URL": base_url,
            "CARBONHUB_SYNC_INTERVAL_S": "0",
            "CARBONHUB_TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "CARBONHUB_RATE_LIMIT_ENABLED": "true" if args.rate_limits else "false",
        }
        with serving(env, port) as server:
            pool = callers(base_url, access)
            console.print(
                f"  tokens: {len(pool['citizen'])} citizens, {len(pool['enterprise'])} "
                f"enterprises, {len(pool['agency'])} agencies; warming up ..."
            )
            asyncio.run(load(base_url, pool, 4, 5))
            before = resident_kib(server.pid)
            cpu_before = time.process_time()
            console.print(f"  {args.clients} clients for {args.seconds:.0f} s ...")
            with MemorySampler(server.pid) as memory:
                outcome, wall = asyncio.run(
                    load(base_url, pool, args.clients, args.seconds, args.think)
                )
            after = resident_kib(server.pid)
    figures = summary(outcome, wall)
    figures |= {
        "clients": args.clients,
        "think_seconds": args.think,
        "build_seconds": built,
        "memory_kib": {"before": before, "peak": max(memory.samples or [after]), "after": after},
        "load_generator_cpu_seconds": time.process_time() - cpu_before,
        "rate_limits": args.rate_limits,
    }
    return figures


def print_figures(figures: dict[str, Any]) -> None:
    latency = figures["latency"]
    console.print(
        table(
            f"Load: {figures['clients']} clients for {figures['wall_seconds']:.0f} s, "
            + (f"{figures['think_seconds']:g} s think time, " if figures["think_seconds"] else "")
            + "uvicorn 2 workers, PostgreSQL (targets: zero errors, p99 < 500 ms)",
            ["role", "requests", "p50", "p95", "p99"],
            [
                [
                    role,
                    f"{row['requests']:,}",
                    fmt_seconds(row["p50"]),
                    fmt_seconds(row["p95"]),
                    fmt_seconds(row["p99"]),
                ]
                for role, row in latency.items()
            ],
        )
    )
    slow = figures["slow_by_second"]
    if slow:
        console.print(
            f"answers over {SLOW * 1000:.0f} ms by the second they were sent: "
            + ", ".join(
                f"{second} s: {int(c['answers'])} (max {c['max']:.2f} s)"
                for second, c in list(slow.items())[:20]
            )
            + (" ..." if len(slow) > 20 else ""),
            markup=False,
        )
    memory = figures["memory_kib"]
    console.print(
        f"throughput {figures['throughput_per_second']:.1f} requests/s; errors "
        f"{figures['errors_total']} {figures['errors'] or ''}; server memory (supervisor + 2 "
        f"workers) {memory['before'] / 1024:.0f} MiB before, {memory['peak'] / 1024:.0f} MiB "
        f"peak, {memory['after'] / 1024:.0f} MiB after; load generator CPU "
        f"{figures['load_generator_cpu_seconds']:.1f} s; zero errors: "
        f"{'MET' if figures['errors_met'] else 'MISSED'}, p99 < 500 ms: "
        f"{'MET' if figures['p99_met'] else 'MISSED'}",
        markup=False,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="mean pause between a client's requests (exponential); 0: back to back",
    )
    parser.add_argument("--citizens", type=int, default=2000, help="of the demo")
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--rate-limits", action="store_true", help="keep the rate limiter on")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    parser.add_argument("--reuse", metavar="SCHEMA", help="a schema kept by an earlier run")
    args = parser.parse_args()
    started = environment()
    console.print(
        f"[bold]Load test[/bold]: {args.clients} clients, {args.seconds:.0f} s, the demo of "
        f"{args.citizens:,} citizens on PostgreSQL"
    )
    figures = run(args)
    print_figures(figures)
    path = write_results(
        args.results_dir,
        "load",
        {"environment": started, "arguments": {k: str(v) for k, v in vars(args).items()}} | figures,
    )
    console.print(f"results written to {path}")
    return 0 if figures["errors_met"] and figures["p99_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
