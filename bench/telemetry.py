"""Telemetry and limits cost: requests with telemetry off against the same requests exporting
over OTLP, without the GraphQL limits and with the rate limits on, and what a span per resolver
would cost on a large list.

What it measures, in one process on a fresh SQLite database:

* **Requests.** The app (``create_app``) is called in process through httpx's ASGI transport,
  as the tests do (no sockets, no uvicorn), with an agency client's bearer token (so each
  request verifies the token and reads its grant): a trivial query (``{ regions { code } }``)
  and a small report (Beijing's July 2023 total, participants and categories over a seeded
  population of ``--persons`` citizens with a regional-statistics consent and ``--rides``
  rides each, posted through the real ledger). Each round sends ``--requests`` of each, once
  with telemetry off (what a hub without ``OTEL_EXPORTER_OTLP_ENDPOINT`` does) and once
  exporting traces and metrics with the SDK's batch span processor and periodic metric reader
  to an OTLP/HTTP receiver on 127.0.0.1 in this process (a thread that reads and acknowledges
  each export, so its cost is in the figures too, as a sidecar collector's would not be);
  ``--rounds`` rounds alternate the modes so that machine drift hits all. Two more modes, with
  telemetry off: the schema without its GraphQL limit extensions (token limit, depth / alias /
  root-field rules, cost limit), and the rate limits on (in memory, limits too high to refuse:
  the baseline has them off, as thousands of requests of one client would be refused).
  The trace of each
  request holds the HTTP server span, the GraphQL operation span and one span per SQL
  statement.
* **Per-resolver spans.** A schema of one list field of ``--items`` rows, six fields each (five
  plain attributes and one resolver method, the ledger-row shape of the gateways reference
  §2.7), executed in process: no extension; the hub's operation span (``GraphQLTracing``);
  and the operation span plus an extension with a ``resolve`` hook that opens a span per
  resolver method (what a per-resolver tracing extension does: the hook wraps every field,
  plain ones included, and spans the ones with a resolver), all exporting as above.

Printed: the medians of each variant and the ratios to the baseline. Nothing is asserted: the
figures explain why per-resolver spans stay off.

Run::

    .venv/bin/python -m bench.telemetry
    .venv/bin/python -m bench.telemetry --requests 400 --rounds 7 --items 500
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import strawberry
from rich.console import Console
from strawberry.extensions import AddValidationRules, MaxTokensLimiter, SchemaExtension
from strawberry.extensions.tracing.utils import should_skip_tracing

from bench.common import (
    BEIJING,
    BEIJING_DISTRICTS,
    RESULTS_DIR,
    environment,
    fresh_database,
    median,
    table,
    write_results,
)
from carbonhub.actors import register_person
from carbonhub.app import create_app
from carbonhub.auth.clients import create_client
from carbonhub.auth.scopes import ClientKind
from carbonhub.consent.released import catch_up
from carbonhub.consent.service import ConsentTerms
from carbonhub.db import write_session
from carbonhub.hub import Hub
from carbonhub.ledger import BehaviourEvent
from carbonhub.models import utcnow
from carbonhub.schema import schema_for
from carbonhub.schema.limits import CostLimit, GraphQLLimits
from carbonhub.telemetry import runtime
from carbonhub.telemetry.graphql import GraphQLTracing
from carbonhub.telemetry.setup import Providers, Signals, exporting_providers

TRIVIAL = "query Regions { regions { code } }"
REPORT = """query RegionJuly {
  region(code: "110000") {
    report(period: "2023-07") { totalReductionKg participants byCategory { category { code } reductionKg participants suppressed } }
  }
}"""
QUERIES = (("trivial", TRIVIAL), ("report", REPORT))
console = Console()


# -- an OTLP receiver -----------------------------------------------------------------------------


class _Acknowledge(BaseHTTPRequestHandler):
    """Reads an export and answers 200 with an empty protobuf body (an empty Export*Response)."""

    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).received += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@contextmanager
def otlp_receiver() -> Iterator[str]:
    """An acknowledging OTLP/HTTP receiver on 127.0.0.1 in a thread; yields its endpoint."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Acknowledge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def exporting(endpoint: str) -> Iterator[Providers]:
    """Telemetry on, exporting to ``endpoint`` as the hub does; off again afterwards."""
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    providers = exporting_providers(Signals(traces=True, metrics=True, logs=False))
    runtime.activate(providers.tracer, providers.meter, "bench")
    try:
        yield providers
    finally:
        runtime.deactivate()
        providers.shutdown()


# -- the hub's requests ---------------------------------------------------------------------------


def seed(hub: Hub, persons: int, rides: int) -> None:
    """Citizens across Beijing's districts sharing with the programme, their July rides posted,
    the released aggregates settled."""
    hub.keys.load()
    now = utcnow()
    consents = hub.consents()
    categories = tuple(c.code for c in hub.registry.catalogue.categories)
    terms = ConsentTerms(
        "regional_statistics", BEIJING, categories, date(2023, 1, 1), date(2023, 12, 31),
        now + timedelta(days=365),
    )  # fmt: skip
    districts = list(BEIJING_DISTRICTS)
    ids = []
    with write_session(hub.engine) as session:
        for n in range(persons):
            district = districts[n % len(districts)]
            person = register_person(session, home_region_code=district, since=date(2023, 1, 1))
            consents.grant(session, person.id, terms, now=now)
            ids.append(person.id)
    start = datetime(2023, 7, 1, 1, 0, tzinfo=UTC)
    events = [
        BehaviourEvent(
            source="bench",
            external_id=f"{person}-{ride}",
            person_id=person,
            behaviour="transport.bike_share",
            occurred_at=start + timedelta(days=ride % 28),
            measures={"km": Decimal("3.2")},
            duration_s=900,
        )
        for person in ids
        for ride in range(rides)
    ]
    hub.poster().post(hub.engine, events)
    with write_session(hub.engine) as session:
        catch_up(session, hub.release_rules(), utcnow())


def agency_token(client: httpx.AsyncClient, hub: Hub) -> str:
    """A bearer token of a new agency client of Beijing (client credentials)."""
    with write_session(hub.engine) as session:
        agency = create_client(session, kind=ClientKind.AGENCY, name="bench", region_code=BEIJING)
    assert agency.client_secret is not None
    answer = asyncio.run(
        client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(agency.client_id, agency.client_secret),
        )
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def traced_schema(hub: Hub) -> None:
    """Make the app's schema open an operation span (a no-op once ``build_schema`` lists
    ``GraphQLTracing`` itself)."""
    schema = schema_for(GraphQLLimits.from_settings(hub.settings))
    if GraphQLTracing not in schema.extensions:
        schema.extensions = (GraphQLTracing, *schema.extensions)


def spans_of(client: httpx.AsyncClient, token: str, query: str) -> dict[str, int]:
    """The spans one request of ``query`` makes, by kind (untimed, recorded in memory)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    runtime.activate(provider, None, "bench")
    try:
        asyncio.run(timed_requests(client, token, query, 1))
    finally:
        runtime.deactivate()
    kinds = [s.kind.name.lower() for s in exporter.get_finished_spans()]
    return {kind: kinds.count(kind) for kind in sorted(set(kinds))}


async def timed_requests(
    client: httpx.AsyncClient, token: str, query: str, count: int
) -> list[float]:
    """Seconds of each of ``count`` POSTs of ``query`` (each answered without errors)."""
    headers = {"Authorization": f"Bearer {token}"}
    seconds = []
    for _ in range(count):
        started = time.perf_counter()
        answer = await client.post("/graphql", json={"query": query}, headers=headers)
        seconds.append(time.perf_counter() - started)
        if answer.status_code != 200 or "errors" in answer.json():
            raise RuntimeError(f"{query!r} failed: {answer.text[:500]}")
    return seconds


LIMIT_EXTENSIONS = (MaxTokensLimiter, AddValidationRules, CostLimit)


def without_limits(extensions: Sequence[Any]) -> tuple[Any, ...]:
    """The schema's extensions less the GraphQL limits (tokens, validation rules, cost)."""
    kept = []
    for extension in extensions:
        made = extension if isinstance(extension, type) else type(extension())
        if not issubclass(made, LIMIT_EXTENSIONS):
            kept.append(extension)
    return tuple(kept)


def measure_requests(hub: Hub, endpoint: str, requests: int, rounds: int) -> dict[str, Any]:
    """Median request latency per query in four modes, alternating rounds: telemetry off
    (the baseline, GraphQL limits on, rate limits off: thousands of requests of one client),
    exporting over OTLP, without the GraphQL limits, and with the rate limits on (limits too
    high to refuse, so every request pays for counting)."""
    traced_schema(hub)
    schema = schema_for(GraphQLLimits.from_settings(hub.settings))
    limited = schema.extensions
    unlimited = without_limits(limited)
    quiet = replace(hub, settings=hub.settings.model_copy(update={"rate_limit_enabled": False}))
    counted = replace(
        hub,
        settings=hub.settings.model_copy(
            update={
                "rate_limit_enabled": True,
                "rate_limit_per_ip": "1000000/minute",
                "rate_limit_per_client": "1000000/minute",
            }
        ),
    )
    clients = {
        name: httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_app(hub=h, scheduler=False)),
            base_url="http://127.0.0.1:8000",  # the OAuth server wants https or loopback
        )
        for name, h in (("quiet", quiet), ("counted", counted))
    }
    token = agency_token(clients["quiet"], hub)
    samples: dict[tuple[str, str], list[float]] = {}

    async def one_round(mode: str) -> None:
        client = clients["counted" if mode == "rate limits" else "quiet"]
        for name, query in QUERIES:
            key = (name, mode)
            samples.setdefault(key, []).extend(await timed_requests(client, token, query, requests))

    def each_mode() -> None:
        asyncio.run(one_round("off"))
        with exporting(endpoint):
            asyncio.run(one_round("exporting"))
        schema.extensions = unlimited
        try:
            asyncio.run(one_round("no GraphQL limits"))
        finally:
            schema.extensions = limited
        asyncio.run(one_round("rate limits"))

    shapes = {name: spans_of(clients["quiet"], token, query) for name, query in QUERIES}
    each_mode()  # warm-up: caches, connections, first-call costs
    samples.clear()
    for _ in range(rounds):
        each_mode()
    for client in clients.values():
        asyncio.run(client.aclose())
    return {
        name: {
            "off_ms": median(samples[(name, "off")]) * 1000,
            **{
                f"{mode}_ms": median(samples[(name, mode)]) * 1000
                for mode in ("exporting", "no GraphQL limits", "rate limits")
            },
            "ratio": median(samples[(name, "exporting")]) / median(samples[(name, "off")]),
            "limits_ratio": median(samples[(name, "off")])
            / median(samples[(name, "no GraphQL limits")]),
            "rate_limits_ratio": median(samples[(name, "rate limits")])
            / median(samples[(name, "off")]),
            "samples": len(samples[(name, "off")]),
            "spans": shapes[name],
        }
        for name in ("trivial", "report")
    }


# -- per-resolver spans on a large list -----------------------------------------------------------


@strawberry.type
class Row:
    id: str
    person_id: str
    region: str
    metric: str
    year: int
    value_g: strawberry.Private[int]

    @strawberry.field
    def value_kg(self) -> float:
        return self.value_g / 1000


class SpanPerResolver(SchemaExtension):
    """A span around every field that has a resolver method (the hypothetical extension)."""

    def resolve(
        self, _next: Callable[..., Any], root: Any, info: strawberry.Info, *args: Any, **kwargs: Any
    ) -> Any:
        tracer = runtime.tracer()
        if tracer is None or should_skip_tracing(_next, info):  # strawberry's own rule
            return _next(root, info, *args, **kwargs)
        with tracer.start_as_current_span(f"resolve {info.parent_type.name}.{info.field_name}"):
            return _next(root, info, *args, **kwargs)


def list_schema(items: int, extensions: Sequence[Any]) -> strawberry.Schema:
    rows = [
        Row(
            id=f"e{n}",
            person_id=f"p{n}",
            region="110108",
            metric="transport",
            year=2023,
            value_g=n * 7,
        )
        for n in range(items)
    ]

    @strawberry.type
    class Query:
        @strawberry.field
        def rows(self) -> list[Row]:
            return rows

    return strawberry.Schema(query=Query, extensions=list(extensions))


def measure_list(endpoint: str, items: int, repeat: int) -> dict[str, Any]:
    """Median execution time of the list query under each extension set (exporting)."""
    query = "query Rows { rows { id personId region metric year valueKg } }"
    variants = {
        "no extension": list_schema(items, []),
        "operation span": list_schema(items, [GraphQLTracing]),
        "operation + per-resolver spans": list_schema(items, [GraphQLTracing, SpanPerResolver]),
    }

    async def run(schema: strawberry.Schema) -> float:
        started = time.perf_counter()
        result = await schema.execute(query)
        elapsed = time.perf_counter() - started
        if result.errors or len(result.data["rows"]) != items:  # type: ignore[index]
            raise RuntimeError(f"list query failed: {result.errors}")
        return elapsed

    timings: dict[str, list[float]] = {name: [] for name in variants}
    with exporting(endpoint):
        for schema in variants.values():  # warm-up
            asyncio.run(run(schema))
        for _ in range(repeat):
            for name, schema in variants.items():
                timings[name].append(asyncio.run(run(schema)))
    baseline = median(timings["no extension"])
    return {
        name: {"ms": median(values) * 1000, "ratio": median(values) / baseline}
        for name, values in timings.items()
    }


# -- main -----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--requests", type=int, default=100, help="requests per query a round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of off then exporting")
    parser.add_argument("--persons", type=int, default=60, help="citizens in the report")
    parser.add_argument("--rides", type=int, default=10, help="July rides of each")
    parser.add_argument("--items", type=int, default=500, help="rows of the large list")
    parser.add_argument("--repeat", type=int, default=30, help="timed runs of the list query")
    parser.add_argument("--results-dir", type=type(RESULTS_DIR), default=RESULTS_DIR)
    args = parser.parse_args(argv)
    started = environment()
    with otlp_receiver() as endpoint, fresh_database("sqlite", "") as db:
        console.print(f"seeding {args.persons} citizens x {args.rides} rides ...")
        seed(db.hub, args.persons, args.rides)
        requests = measure_requests(db.hub, endpoint, args.requests, args.rounds)
        listing = measure_list(endpoint, args.items, args.repeat)
        exports = _Acknowledge.received
    console.print(
        table(
            f"HTTP requests in process, median of {args.rounds} x {args.requests} each",
            (
                "query",
                "spans",
                "telemetry off",
                "exporting",
                "exporting / off",
                "no GraphQL limits",
                "limits: off / none",
                "rate limits on",
                "rate limits / off",
            ),
            [
                (
                    name,
                    ", ".join(f"{n} {kind}" for kind, n in r["spans"].items()),
                    f"{r['off_ms']:.2f} ms",
                    f"{r['exporting_ms']:.2f} ms",
                    f"{r['ratio']:.3f}",
                    f"{r['no GraphQL limits_ms']:.2f} ms",
                    f"{r['limits_ratio']:.3f}",
                    f"{r['rate limits_ms']:.2f} ms",
                    f"{r['rate_limits_ratio']:.3f}",
                )
                for name, r in requests.items()
            ],
        )
    )
    console.print(
        table(
            f"a list of {args.items} rows x 6 fields, median of {args.repeat}",
            ("extensions", "median", "/ no extension"),
            [(name, f"{r['ms']:.2f} ms", f"{r['ratio']:.2f}") for name, r in listing.items()],
        )
    )
    console.print(f"OTLP exports received: {exports}")
    path = write_results(
        args.results_dir,
        "telemetry",
        {
            "environment": started,
            "arguments": {k: v for k, v in vars(args).items() if k != "results_dir"},
            "requests": requests,
            "list": listing,
            "exports_received": exports,
        },
    )
    console.print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
